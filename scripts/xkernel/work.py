"""The guest's socket workload: a TCP listener with an accepted connection holding unread data, a UDP socket
with queued datagrams, UNIX stream and datagram sockets (bound, abstract and unnamed pairs), and a netlink socket."""
import os, socket, sys, threading, time

tag = sys.argv[1]
held = []
for _ in range(2):  # threads: rows of pslist --threads
    threading.Thread(target=time.sleep, args=(100000,), daemon=True).start()
if len(sys.argv) > 2:  # a connection to a listener in another namespace (its address), made after it started
    time.sleep(2)
    held.append(socket.create_connection((sys.argv[2], 7000)))
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 7000))
srv.listen(5)
cli = socket.create_connection(("127.0.0.1", 7000))
acc, _ = srv.accept()
cli.sendall(("PENDING-%s hello" % tag).encode())
srv6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv6.bind(("::", 7001))
srv6.listen(5)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("0.0.0.0", 5300))
snd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    snd.sendto(("UDP-%s #%d" % (tag, i)).encode(), ("127.0.0.1", 5300))
path = "/tmp/xk-%s.sock" % tag
ux = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ux.bind(path)
ux.listen(1)
ab = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ab.bind("\0xk-abstract-%s" % tag)
pair = socket.socketpair()
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
nl.bind((0, 0))
plain = open("/tmp/xk-file-%s" % tag, "w")
gone = open("/tmp/xk-deleted-%s" % tag, "w")
os.unlink("/tmp/xk-deleted-%s" % tag)
rd, wr = os.pipe()
held += [plain, gone, rd, wr, srv, cli, acc, srv6, udp, snd, ux, ab, pair, nl]
poke = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # resolves the gateway's MAC: a neighbour entry
for gw in ("10.0.2.2", "10.200.0.1"):
    try:
        poke.sendto(b"xk", (gw, 9))
    except OSError:
        pass
while True:
    time.sleep(1000)
