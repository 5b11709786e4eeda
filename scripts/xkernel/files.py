#!/usr/bin/env python3
"""Files for the harness's `files` check: a small tree on the guest's /tmp (tmpfs, so every page stays in the
page cache), its stat listing in the corpus's layout (truth/stat-tmp.tsv: path, inode, mode, octal, uid, gid,
size, mtime, link) and what each regular file holds (truth/cached-files.json: path, size, sha256), and a name
looked up that does not exist (a negative dentry; on sysfs, which keeps them: tmpfs and 9p drop theirs at
once).

    files.py OUT_TRUTH_DIR
"""
import hashlib, json, os, stat, sys, time

ROOT = "/tmp/xk-files"
PROBE = "/sys/kernel/xk-files-probe-missing"


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
    try:
        os.stat(PROBE)
    except FileNotFoundError:
        pass
    time.sleep(0.1)
    rows = []
    for d, dirs, names in os.walk(ROOT):
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
        json.dump(dict(cached_files=cached, negative=[PROBE]), f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
