"""The guest's sniffers: three packet sockets on lo with memory-mapped receive rings, one per frame layout
(TPACKET_V1, V2, V3), never read, then UDP datagrams holding a marker that each ring keeps. Writes
`packet-rings.txt` to the truth folder: one line `PID FD VERSION MARKER` per ring (VERSION 1, 2 or 3)."""
import mmap, os, socket, struct, sys, time

SOL_PACKET, PACKET_RX_RING, PACKET_VERSION, ETH_P_ALL = 263, 5, 10, 3
MARKER = "XK-RING-MARKER-5e1f"
held = []
lines = []
for version in (0, 1, 2):  # TPACKET_V1, TPACKET_V2, TPACKET_V3
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VERSION, version)
    # A ring never read fills up and the kernel drops what comes next: room for the guest's other loopback
    # traffic too (work.py's, the checks' own).
    if version < 2:  # struct tpacket_req: block size and count, frame size and count
        block, blocks, req = 1 << 17, 4, struct.pack("IIII", 1 << 17, 4, 2048, 256)
    else:  # struct tpacket_req3: the same, then the block timeout (ms), private size and features
        # (a block goes to the sniffer 10 ms after its first frame: many small blocks)
        block, blocks, req = 1 << 16, 16, struct.pack("IIIIIII", 1 << 16, 16, 2048, 512, 10, 0, 0)
    s.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
    ring = mmap.mmap(s.fileno(), block * blocks)
    s.bind(("lo", ETH_P_ALL))
    held += [s, ring]
    lines.append("%d %d %d %s\n" % (os.getpid(), s.fileno(), version + 1, MARKER))
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    out.sendto(("%s #%d" % (MARKER, i)).encode(), ("127.0.0.1", 9))
    time.sleep(0.05)
with open(os.path.join(sys.argv[1], "packet-rings.txt"), "w") as f:
    f.writelines(lines)
while True:
    time.sleep(1000)
