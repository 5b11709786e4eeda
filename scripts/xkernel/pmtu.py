"""Send datagrams too big for the far link (1280 bytes), IPv4 with DF set and IPv6, so ns1 answers with
ICMP "fragmentation needed" / ICMPv6 "packet too big" and the host caches the path MTU."""
import socket, time

v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v4.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: never fragment
v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for _ in range(3):
    for sock, dst in ((v4, ("10.201.0.2", 9)), (v6, ("fd00:201::2", 9))):
        try:
            sock.sendto(b"x" * 1400, dst)
        except OSError:
            pass  # EMSGSIZE once the path MTU is known
    time.sleep(0.5)
