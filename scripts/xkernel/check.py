#!/usr/bin/env python3
"""Score memscope on a harness corpus root with ../shared/truthcheck's own checks (same comparison, other kernels).

    check.py ROOT [--exe PATH] [CHECK ...]      (CHECK: info pslist network lsof; default all four)

`lsof` is the harness's own check: every descriptor in truth/proc/<pid>.txt of a process still alive at the
final snapshot is a row of `memscope lsof` with the same pid, fd and path (but pid 1, the guest's shell that
collects the truth, whose descriptors change as it writes).
"""
import pathlib, re, sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "shared" / "truthcheck"))
import truthcheck  # noqa: E402


def check_lsof(exe, caps):
    score, notes = {"descriptors": [0, 0]}, []
    for c in caps:
        alive = truthcheck.truth_final_pids(c["truth"])
        rows, err = truthcheck.run_json(exe, ["lsof", c["path"], "--symbols", c["symbols"]])
        if rows is None:
            notes.append("%s: %s" % (c["name"], err))
            rows = []
        got = {(r.get("pid"), r.get("fd")): r.get("path") for r in rows}
        for f in sorted((c["truth"] / "proc").glob("*.txt")):
            pid = int(f.stem)
            if pid not in alive or pid == 1:
                continue  # pid 1 is the shell collecting the truth: its descriptors change as it writes
            for m in re.finditer(r"^(\d+) -> (.*)$", f.read_text(), re.M):
                fd, want = int(m.group(1)), m.group(2)
                if want.startswith("/proc/"):
                    continue  # the collecting command's own reads
                score["descriptors"][1] += 1
                if got.get((pid, fd)) == want:
                    score["descriptors"][0] += 1
                else:
                    notes.append("%s: pid %d fd %d: %r, truth %r" % (c["name"], pid, fd, got.get((pid, fd)), want))
    return score, notes


truthcheck.CHECKS["lsof"] = check_lsof


def main(argv):
    root = pathlib.Path(argv[0]).resolve()
    exe = HERE.parents[1] / "target" / "release" / "memscope"
    if "--exe" in argv:
        exe = pathlib.Path(argv[argv.index("--exe") + 1]).resolve()
        argv = argv[:argv.index("--exe")] + argv[argv.index("--exe") + 2:]
    names = argv[1:] or ["info", "pslist", "network", "lsof"]
    caps = truthcheck.captures([root], cache=root / ".cache")
    ok = True
    for n in names:
        score, notes = truthcheck.CHECKS[n](exe, caps)
        print(truthcheck.line(n, score))
        for d in notes[:40]:
            print("  " + d)
        ok = ok and truthcheck.holds(score)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
