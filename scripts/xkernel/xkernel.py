#!/usr/bin/env python3
"""Cross-kernel harness: boot a stock Debian kernel in QEMU (TCG), let a guest script set up a small system and
record its live truth, dump the guest's memory (ELF core), build an ISF from the kernel's BTF and kallsyms, and
add it all to a corpus root laid out like ../shared/corpus (manifest.json, <name>/capture.elf, <name>/truth,
symbols/<release>.json) so truthcheck and memscope's own checks can run on kernels the corpus does not hold.

    xkernel.py --name NAME --suite SUITE --package PKG --root OUT_ROOT [--cpu max] [--memory 512] [--vmcoreinfo]
    xkernel.py --name NAME --vmlinuz FILE --modules DIR --root OUT_ROOT [--cpu max] [--memory 512]

With --suite and --package (a Debian suite such as bullseye, trixie, sid, experimental, and a kernel image
package such as linux-image-5.10.0-32-amd64, or a regular expression for the newest match) it fetches the
kernel's packages from the Debian archive into OUT_ROOT/.debs first.

Needs qemu-system-x86 and busybox-static (Debian). Nothing here is part of the product or of CI: it is how
layouts of other kernel versions get checked on real memory. See scripts/xkernel/README.md.
"""
import argparse, gzip, io, json, lzma, os, pathlib, re, shutil, socket, struct, subprocess, sys, time

HERE = pathlib.Path(__file__).resolve().parent
MODULES = ["virtio", "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "failover",
           "net_failover", "virtio_net", "netfs", "fscache", "9pnet", "9pnet_virtio", "9p", "veth", "dummy", "llc",
           "stp", "bridge", "overlay"]
# loaded as an out-of-tree, unsigned build would be, so that lsmod meets module taints on real memory
OUT_OF_TREE = "dummy"
SIG_MAGIC = b"~Module signature appended~\n"


def out_of_tree(ko):
    """The module as an unsigned out-of-tree build: its appended signature (struct module_signature, whose
    last 4 bytes are the big-endian signature length, then the magic) cut off, and its `intree=Y` modinfo
    renamed. The kernel then taints it O and E (/proc/modules prints `(OE)`)."""
    if ko.endswith(SIG_MAGIC):
        sig_len, = struct.unpack_from(">I", ko, len(ko) - len(SIG_MAGIC) - 4)
        ko = ko[:len(ko) - len(SIG_MAGIC) - 12 - sig_len]
    if ko.count(b"intree=Y\0") != 1:
        sys.exit("%s.ko: no single intree=Y modinfo" % OUT_OF_TREE)
    return ko.replace(b"intree=Y\0", b"xntree=Y\0")


def cpio_newc(entries):
    """A newc cpio archive of (name, mode, data) entries."""
    out = io.BytesIO()
    for ino, (name, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], 1):
        nb = name.encode() + b"\0"
        head = "070701" + "".join("%08X" % v for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out.write(head.encode() + nb)
        out.write(b"\0" * (-(110 + len(nb)) % 4))
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))
    return out.getvalue()


def initramfs(modules_dir, guest_script):
    found = {}
    for p in pathlib.Path(modules_dir).rglob("*.ko*"):
        base = p.name.split(".ko")[0]
        if base in MODULES and base not in found:
            found[base] = p
    entries = [("bin", 0o40755, b""), ("proc", 0o40755, b""), ("dev", 0o40755, b""), ("root", 0o40755, b""),
               ("modules", 0o40755, b""),
               ("bin/busybox", 0o100755, pathlib.Path("/usr/bin/busybox").read_bytes()),
               ("init", 0o100755, (HERE / "init.sh").read_bytes()),
               ("guest-script", 0o100644, str(guest_script).encode())]
    for base, p in sorted(found.items()):
        data = p.read_bytes()
        if p.suffix == ".xz":
            data = lzma.decompress(data)
        elif p.suffix == ".zst":
            data = subprocess.run(["zstd", "-q", "-d", "-c"], input=data, capture_output=True, check=True).stdout
        if base == OUT_OF_TREE:
            data = out_of_tree(data)
        entries.append(("modules/%s.ko" % base, 0o100644, data))
    print("initramfs: modules %s" % " ".join(sorted(found)))
    return gzip.compress(cpio_newc(entries))


def qmp(sock_path, commands, timeout=900):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(str(sock_path))
    f = s.makefile("rw")
    f.readline()  # greeting
    replies = []
    for c in [{"execute": "qmp_capabilities"}] + commands:
        f.write(json.dumps(c) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                replies.append(r)
                break
    return replies


def unslid_system_map(kallsyms, vmlinux, out):
    """kallsyms (KASLR-relocated, core kernel only) -> a System.map of link-time addresses."""
    text = int(subprocess.run(["readelf", "-SW", str(vmlinux)], capture_output=True, text=True, check=True)
               .stdout.split(" .text ")[1].split()[1], 16)
    lines = [l.split() for l in kallsyms.read_text().splitlines()]
    slide = next(int(a, 16) for a, _, n, *rest in lines if n == "_text" and not rest) - text
    with open(out, "w") as f:
        for parts in lines:
            if len(parts) != 3:
                continue  # module symbols carry [module]
            a = int(parts[0], 16)
            if a >= 0xffffffff80000000:
                a -= slide
            f.write("%016x %s %s\n" % (a, parts[1], parts[2]))
    return slide


ARCHIVE = "http://deb.debian.org/debian"


def fetch_kernel(suite, package, cache):
    """Download and unpack a Debian kernel (the image package, or its binary/modules/base parts in newer
    suites); return (vmlinuz, modules dir)."""
    cache.mkdir(parents=True, exist_ok=True)
    index = cache / ("Packages-%s" % suite)
    if not index.exists():
        raw = subprocess.run(["curl", "-sSf", "%s/dists/%s/main/binary-amd64/Packages.xz" % (ARCHIVE, suite)],
                             capture_output=True, check=True).stdout
        index.write_bytes(lzma.decompress(raw))
    stanzas = {}
    for block in index.read_text().split("\n\n"):
        fields = dict(l.split(": ", 1) for l in block.splitlines() if ": " in l and not l.startswith(" "))
        if "Package" in fields:
            stanzas[fields["Package"]] = fields
    natural = lambda n: [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in re.split(r"(\d+)", n)]
    names = sorted((n for n in stanzas if re.fullmatch(package, n)), key=natural)
    if not names:
        sys.exit("no package matching %s in %s" % (package, suite))
    image = stanzas[names[-1]]
    wanted = [image]
    for dep in re.split(r",\s*", image.get("Depends", "")):
        dep = dep.split()[0]
        if re.match(r"linux-(binary|modules|base)-", dep) and dep in stanzas:
            wanted.append(stanzas[dep])
    tree = cache / image["Package"]
    if not tree.exists():
        part = tree.with_suffix(".part")
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir()
        for st in wanted:
            deb = cache / pathlib.Path(st["Filename"]).name
            if not deb.exists():
                subprocess.run(["curl", "-sSf", "-o", str(deb), "%s/%s" % (ARCHIVE, st["Filename"])], check=True)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(part)], check=True)
            deb.unlink()
        part.rename(tree)
    vmlinuz = next(p for p in list(tree.rglob("vmlinuz*")) if p.is_file())
    modules = next(p for p in tree.rglob("modules") if p.is_dir() and any(p.glob("*/kernel")))
    print("%s: %s (%s)" % (suite, image["Package"], image.get("Version")))
    return str(vmlinuz), str(modules)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--vmlinuz")
    ap.add_argument("--modules")
    ap.add_argument("--suite")
    ap.add_argument("--package")
    ap.add_argument("--root", required=True)
    ap.add_argument("--cpu", default="qemu64")
    ap.add_argument("--memory", default="512")
    # QEMU's vmcoreinfo device and the guest's qemu_fw_cfg module: the kernel hands QEMU its VMCOREINFO,
    # which the dump then carries as a note (as kdump's and libvirt's dumps do)
    ap.add_argument("--vmcoreinfo", action="store_true")
    a = ap.parse_args()
    if a.vmcoreinfo:
        MODULES.append("qemu_fw_cfg")

    root = pathlib.Path(a.root).resolve()
    if a.suite and a.package:
        a.vmlinuz, a.modules = fetch_kernel(a.suite, a.package, root / ".debs")
    elif not (a.vmlinuz and a.modules):
        sys.exit("give --suite and --package, or --vmlinuz and --modules")
    work = root / a.name
    if work.exists():
        shutil.rmtree(work)
    for stale in (root / ".cache").glob(a.name + ".*"):  # check.py's copy of an earlier capture
        stale.unlink()
    (work / "truth").mkdir(parents=True)
    (root / "symbols").mkdir(parents=True, exist_ok=True)
    # the guest writes into <work>/share/truth; keep the share apart from the capture
    share = work / "share"
    (share / "truth").mkdir(parents=True)
    os.chmod(share / "truth", 0o777)

    vmlinux = work / "vmlinux"
    subprocess.run([sys.executable, str(HERE / "vmlinux.py"), a.vmlinuz, str(vmlinux)], check=True)
    (work / "initramfs.gz").write_bytes(initramfs(a.modules, HERE / "guest.sh"))

    console, qmp_sock = work / "console.log", work / "qmp.sock"
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", a.cpu, "-m", a.memory, "-smp", "1",
           "-kernel", a.vmlinuz, "-initrd", str(work / "initramfs.gz"),
           "-append", "console=ttyS0 rdinit=/init net.ifnames=0 panic=-1 ipv6.disable=0",
           "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
           "-virtfs", "local,path=%s,mount_tag=out,security_model=none" % share,
           "-nic", "user,model=virtio-net-pci", "-display", "none", "-no-reboot",
           "-serial", "file:%s" % console, "-qmp", "unix:%s,server=on,wait=off" % qmp_sock]
    if a.vmcoreinfo:
        cmd += ["-device", "vmcoreinfo"]
    vm = subprocess.Popen(cmd)
    t0 = time.time()
    try:
        while True:
            text = console.read_text(errors="replace") if console.exists() else ""
            if "XKERNEL-READY" in text:
                break
            if vm.poll() is not None or time.time() - t0 > 1200:
                sys.exit("guest did not get ready (see %s):\n%s" % (console, text[-3000:]))
            time.sleep(2)
        print("guest ready after %.0f s; dumping" % (time.time() - t0))
        capture = work / "capture.elf"
        r = qmp(qmp_sock, [{"execute": "dump-guest-memory",
                            "arguments": {"paging": False, "protocol": "file:%s" % capture}}])
        print("dump: %s" % r[-1])
        qmp(qmp_sock, [{"execute": "quit"}])
    finally:
        try:
            vm.wait(timeout=60)
        except subprocess.TimeoutExpired:
            vm.kill()

    truth = work / "truth"
    shutil.rmtree(truth)
    shutil.move(str(share / "truth"), str(truth))
    shutil.rmtree(share)
    release = (truth / "uname-a.txt").read_text().split()[2]
    system_map = work / ("System.map-%s" % release)
    slide = unslid_system_map(truth / "kallsyms.txt", vmlinux, system_map)
    print("KASLR slide %#x" % slide)
    isf = root / "symbols" / ("%s.json" % release)
    subprocess.run([sys.executable, str(HERE / "btf2isf.py"), str(vmlinux), str(system_map), str(isf)], check=True)
    vmlinux.unlink()

    man_path = root / "manifest.json"
    man = json.loads(man_path.read_text()) if man_path.exists() else {"captures": []}
    man["captures"] = [c for c in man["captures"] if c["name"] != a.name]
    banner = (truth / "proc-version.txt").read_text().strip()
    man["captures"].append({"name": a.name, "capture": "%s/capture.elf" % a.name, "format": "elf",
                            "kernel_release": release, "banner": banner, "symbols": "symbols/%s.json" % release,
                            "truth": "%s/truth" % a.name, "guest_ram_mib": int(a.memory), "cpu": a.cpu,
                            "vmcoreinfo": a.vmcoreinfo})
    man_path.write_text(json.dumps(man, indent=2))
    print("added %s (%s) to %s" % (a.name, release, man_path))


if __name__ == "__main__":
    main()
