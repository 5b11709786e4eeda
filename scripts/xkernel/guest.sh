#!/bin/sh
# Runs inside the guest (the host's own tree, read-only over 9p): set up a small but varied system, record what
# the live system says about itself in the truth folder's layout (../shared/corpus/README.md), then say READY on
# the console and wait for the harness to dump memory.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
HERE=$(dirname "$0")
OUT=/mnt/truth
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
mkdir -p $OUT/final $OUT/netns/ns1 $OUT/proc
hostname xk-guest
echo 0 > /proc/sys/kernel/kptr_restrict
echo "xkernel-marker: guest setting up" > /dev/kmsg

# network: eth0 (QEMU user networking), a dummy in promiscuous mode, a netns behind a veth pair
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip addr add 10.0.2.16/24 dev eth0 label eth0:alias
ip addr add fd00:c0de::15/64 dev eth0 nodad
ip route add 198.51.100.0/24 via 10.0.2.2
ip -6 route add fd00:dead::/48 via fd00:c0de::1
ip link add dummy0 type dummy
ip addr add 192.0.2.1/24 dev dummy0
ip link set dummy0 up promisc on
ip netns add ns1
ip link add veth0 type veth peer name veth1
ip link set veth1 netns ns1
ip addr add 10.200.0.1/24 dev veth0
ip link set veth0 up
ip -n ns1 link set lo up
ip -n ns1 addr add 10.200.0.2/24 dev veth1
ip -n ns1 addr add fd00:200::2/64 dev veth1 nodad
ip -n ns1 link set veth1 up
ip -n ns1 route add default via 10.200.0.1
# a third namespace behind ns1 on a 1280-byte link: packets too big for it teach the host path MTUs
# (next-hop exceptions: `ip route show cache`, `ip -6 route show cache`)
ip netns add far
ip link add veth2 type veth peer name veth3
ip link set veth2 netns ns1
ip link set veth3 netns far
ip -n ns1 link set veth2 mtu 1280 up
ip -n far link set veth3 mtu 1280 up
ip -n far link set lo up
ip -n ns1 addr add 10.201.0.1/24 dev veth2
ip -n far addr add 10.201.0.2/24 dev veth3
ip -n ns1 addr add fd00:201::1/64 dev veth2 nodad
ip -n far addr add fd00:201::2/64 dev veth3 nodad
ip addr add fd00:200::1/64 dev veth0 nodad
ip -n far route add default via 10.201.0.1
ip -n far -6 route add default via fd00:201::1
ip netns exec ns1 sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip route add 10.201.0.0/24 via 10.200.0.2
ip -6 route add fd00:201::/64 via fd00:200::2
python3 "$HERE/pmtu.py"
ip link add br0 type bridge
ip addr add 172.31.0.1/24 dev br0
ip link set br0 up
ip -n ns1 neigh add 10.200.0.99 lladdr 02:00:00:00:00:99 dev veth1 nud permanent

# processes: sniffers with TPACKET V1-V3 rings on lo (packet-rings.txt), a socket workload on the host, one in
# ns1, one in new pid+uts+user namespaces
python3 "$HERE/rings.py" $OUT &
sleep 1
python3 "$HERE/work.py" host &
ip netns exec ns1 python3 "$HERE/work.py" ns1 10.200.0.1 &
# mount propagation for the mounts check: /tmp shared, a slave bind of it at /run/slave
mount --make-shared /tmp && mkdir -p /run/slave && mount --bind /tmp /run/slave && mount --make-slave /run/slave
unshare --user --map-root-user --pid --uts --fork --mount-proc sh -c 'hostname inner; exec sleep 100000' &
UNSHARE=$!
sleep 100000 &
# a process running a deleted executable (what the findings check's deleted_executable names: deleted-exe.txt)
cp /usr/bin/sleep /tmp/xk-deleted-sleep
/tmp/xk-deleted-sleep 100000 &
DELETED=$!
# a process in a frozen cgroup named as Docker's systemd driver names a container's (docker ps's paused state)
mount -t cgroup2 cgroup2 /sys/fs/cgroup
FROZEN=/sys/fs/cgroup/system.slice/docker-$(printf 'f0%.0s' $(seq 32)).scope
mkdir -p $FROZEN
sleep 100000 &
FROZEN_PID=$!
echo $FROZEN_PID > $FROZEN/cgroup.procs
echo 1 > $FROZEN/cgroup.freeze
sleep 3
echo "xkernel-marker: workload started" > /dev/kmsg

snap() {  # the truth files that say what is there right now
  d=$1
  ps -eo pid,ppid,uid,euid,gid,egid,lstart,stat,comm,args > $d/ps-eo.txt
  ps -eLo pid,lwp,comm > $d/ps-eL.txt
  ip neigh > $d/ip-neigh.txt
  ip -n ns1 neigh > $d/ip-neigh-ns1.txt
  ss -tanpue > $d/ss-tanpue.txt
  ip netns exec ns1 ss -tanpue > $d/ss-tanpue-ns1.txt
  ss -uanp > $d/ss-uanp.txt
  ss -xanp > $d/ss-xanp.txt
}
snap $OUT
ip -d addr > $OUT/ip-d-addr.txt
ip link > $OUT/ip-link.txt
ip -n ns1 -d link > $OUT/netns/ns1/ip-d-link.txt
ip -d link > $OUT/ip-d-link.txt
ip route show table all > $OUT/ip-route-table-all.txt
ip route > $OUT/ip-route.txt
ip -6 route > $OUT/ip-6-route.txt
ip -6 neigh > $OUT/ip-6-neigh.txt
ip route show cache > $OUT/ip-route-cache.txt
ip -6 route show cache > $OUT/ip-6-route-cache.txt
ip -n ns1 -d addr > $OUT/netns/ns1/ip-d-addr.txt
ip -n ns1 route > $OUT/netns/ns1/ip-route.txt
ip -n ns1 -6 route > $OUT/netns/ns1/ip-6-route.txt
ip -n ns1 neigh > $OUT/netns/ns1/ip-neigh.txt
ip netns exec ns1 ss -tanpue > $OUT/netns/ns1/ss-tanpue.txt
for f in tcp tcp6 udp udp6 unix arp dev packet raw; do cat /proc/net/$f > $OUT/proc-net-$f.txt; done
rm -f /tmp/xk-deleted-sleep
echo "$DELETED /tmp/xk-deleted-sleep (deleted)" > $OUT/deleted-exe.txt
python3 "$HERE/files.py" $OUT  # the files check's tree on /tmp, its stat listing and contents
cat /proc/self/mountinfo > $OUT/mountinfo-pid1.txt
inner=$(pgrep -P $UNSHARE | head -1)  # the process in the new mount (and user, pid, uts) namespaces
[ -n "$inner" ] && cat /proc/$inner/mountinfo > $OUT/mountinfo-ns-inner-pid$inner.txt
echo "$FROZEN_PID ${FROZEN#/sys/fs/cgroup} $(grep frozen $FROZEN/cgroup.events)" > $OUT/frozen-cgroup.txt
uname -a > $OUT/uname-a.txt
cat /proc/version > $OUT/proc-version.txt
hostname > $OUT/hostname.txt
python3 "$HERE/summary.py" $OUT/proc > $OUT/proc-summary.tsv
cat /proc/kallsyms > $OUT/kallsyms.txt
snap $OUT/final
cat /proc/modules > $OUT/proc-modules.txt
dmesg > $OUT/dmesg.txt
sync
echo XKERNEL-READY > /dev/console
while :; do sleep 1000; done
