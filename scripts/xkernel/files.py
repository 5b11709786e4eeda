#!/usr/bin/env python3
"""Files for the harness's `files` check: a small tree on the guest's /tmp (tmpfs, so every page stays in the
page cache), its stat listing in the corpus's layout (truth/stat-tmp.tsv: path, inode, mode, octal, uid, gid,
size, mtime, link) and what each regular file holds (truth/cached-files.json: path, size, sha256), and a name
looked up that does not exist (a negative dentry, on an overlay); and an overlay mount with a
file written through it (its bytes in the upper layer's page cache) and one read from its lower layer.

    files.py OUT_TRUTH_DIR
"""
import hashlib, json, os, stat, subprocess, sys, time

ROOT = "/tmp/xk-files"
OVERLAY = "/tmp/xk-ovl"
# A name looked up that does not exist, on a file system that keeps negative dentries on every kernel:
# overlayfs (tmpfs and 9p drop theirs at once; sysfs keeps them only from 5.15).
PROBES = [OVERLAY + "/merged/probe-missing"]


def main(out):
    os.makedirs(ROOT + "/sub/deep", exist_ok=True)
    files = {
        ROOT + "/small.txt": b"xkernel small file\nXK-FILES-SMALL-4c1d\n",
        ROOT + "/sub/deep/leaf.txt": b"leaf\n" * 700 + b"XK-FILES-LEAF-93ab\n",
        # 300 KiB over many pages, none of them alike, ending in a marker
        ROOT + "/big.bin": b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(9600)) + b"XK-FILES-BIG-e5f0\n",
    }
    for path, data in files.items():
        with open(path, "wb") as f:
            f.write(data)
    os.chmod(ROOT + "/small.txt", 0o640)
    os.chown(ROOT + "/sub/deep/leaf.txt", 1000, 1000)
    os.symlink("small.txt", ROOT + "/link")
    os.symlink("/tmp/xk-files/sub/deep/" + "x" * 150 + "/leaf.txt", ROOT + "/long-link")  # kept in a page
    os.utime(ROOT + "/sub", ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    # An overlay as Docker makes one: a file written into the merged tree lands in the upper layer's
    # page cache, which is where reading it back through the overlay inode must find it.
    for d in ("lower", "upper", "work", "merged"):
        os.makedirs(OVERLAY + "/" + d, exist_ok=True)
    with open(OVERLAY + "/lower/from-lower.txt", "wb") as f:
        f.write(b"lower layer\n" * 300 + b"XK-OVL-LOWER-2d7e\n")
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work"
                    % (OVERLAY, OVERLAY, OVERLAY), OVERLAY + "/merged"], check=True)
    files[OVERLAY + "/merged/upper.txt"] = b"written through the overlay\n" * 200 + b"XK-OVL-UPPER-71c3\n"
    with open(OVERLAY + "/merged/upper.txt", "wb") as f:
        f.write(files[OVERLAY + "/merged/upper.txt"])
    with open(OVERLAY + "/merged/from-lower.txt", "rb") as f:
        files[OVERLAY + "/merged/from-lower.txt"] = f.read()
    for probe in PROBES:
        try:
            os.stat(probe)
        except FileNotFoundError:
            pass
    time.sleep(0.1)
    rows = []
    for d, dirs, names in [w for top in (ROOT, OVERLAY + "/merged") for w in os.walk(top)]:
        for p in [d] + [os.path.join(d, n) for n in sorted(names)]:
            st = os.lstat(p)
            ns = st.st_mtime_ns
            mtime = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09d" % (ns % 10**9)
            link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else ""
            rows.append("\t".join([p, str(st.st_ino), stat.filemode(st.st_mode), "%04o" % stat.S_IMODE(st.st_mode),
                                   str(st.st_uid), str(st.st_gid), str(st.st_size), mtime, link]))
    with open(os.path.join(out, "stat-tmp.tsv"), "w") as f:
        f.write("path\tinode\tmode\toctal\tuid\tgid\tsize\tmtime\tlink\n" + "\n".join(rows) + "\n")
    cached = [dict(path=p, size=len(d), sha256=hashlib.sha256(d).hexdigest()) for p, d in files.items()]
    with open(os.path.join(out, "cached-files.json"), "w") as f:
        json.dump(dict(cached_files=cached, negative=PROBES), f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
