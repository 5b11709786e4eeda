#!/bin/busybox sh
# /init of the harness's initramfs: load the modules the guest needs, mount the host's root (9p, read-only) and
# the output share, then run guest.sh from the host's tree inside that root.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
# insmod in rounds until nothing more loads: the order of dependencies resolves itself
left=$(ls /modules)
for round in 1 2 3 4 5 6; do
  next=""
  for m in $left; do insmod /modules/$m 2>/dev/null || next="$next $m"; done
  left=$next
done
echo "xkernel: modules not loaded: $left"
mkdir -p /root
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /root || { echo "xkernel: no host root"; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /root/mnt || { echo "xkernel: no output share"; poweroff -f; }
mount -t proc proc /root/proc
mount -t devtmpfs dev /root/dev
exec switch_root /root /bin/sh "$(cat /guest-script)"
