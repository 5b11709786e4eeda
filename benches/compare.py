#!/usr/bin/env python3
"""Whole-process timings of memscope against Volatility 3 on every capture of ../shared/corpus/manifest.json,
a first `pslist --symbols capture` (no ISF, nothing kept) against Volatility 3's pslist with its ISF, and one
sequential read of each capture beside the packet analyses.

The analyses are the registry's (`memscope list --format json`), plus `info`; each is paired with the
Volatility 3 plugin that does the same job, where there is one. memscope is timed warm (its symbol pack cached)
and cold (no pack yet: the ISF is decompressed and parsed). `--baseline OLD` times another memscope binary
too, interleaved, and prints new/old (a change that slows an analysis down shows there); `--no-vol` leaves
Volatility 3 out. Also prints `memscope bench` (in-process ISF load and info times). Called by
scripts/bench.sh.
"""
import argparse, json, os, pathlib, shutil, statistics, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = pathlib.Path(os.environ.get("MEMSCOPE_CORPUS", ROOT.parent / "shared" / "corpus"))
CACHE = ROOT / "target" / "corpus-cache"
# memscope command -> the Volatility 3 plugin doing the same job (absent: Volatility 3 has none)
PEERS = {"info": "banners.Banners", "pslist": "linux.pslist.PsList", "pstree": "linux.pstree.PsTree",
         "psaux": "linux.psaux.PsAux", "envars": "linux.envars.Envars", "lsof": "linux.lsof.Lsof",
         "netstat": "linux.sockstat.Sockstat", "ifconfig": "linux.ip.Addr", "dmesg": "linux.kmsg.Kmsg",
         "lsmod": "linux.lsmod.Lsmod", "mounts": "linux.mountinfo.MountInfo", "files": "linux.pagecache.Files"}


def analyses(memscope):
    """`info`, then every analysis of the registry, as `memscope list --format json` names them: a group's
    views as `group view` (`docker ps`)."""
    out = subprocess.run([memscope, "list", "--format", "json"], check=True, capture_output=True, text=True).stdout
    names = ["info"]
    for a in json.loads(out):
        names += ["%s %s" % (a["name"], v["name"]) for v in a["views"]] or [a["name"]]
    return names


def captures():
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    for c in manifest["captures"]:
        lime = CACHE / c["name"] / "capture.lime"
        if not lime.exists():
            lime.parent.mkdir(parents=True, exist_ok=True)
            part = lime.with_suffix(".bench.part")
            subprocess.run(["zstd", "-q", "-d", "-f", "--long=31", str(CORPUS / c["capture"]), "-o", str(part)], check=True)
            part.rename(lime)
        yield c["name"], lime, CORPUS / c["symbols"]


def timed(cmd, env=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    return time.perf_counter() - t, r.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memscope", required=True)
    ap.add_argument("--vol", required=True)
    ap.add_argument("--baseline", help="another memscope binary to time side by side (new/old ratios)")
    ap.add_argument("--no-vol", action="store_true", help="leave Volatility 3 out")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", action="append", help="time only this analysis (repeatable)")
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="memscope-bench-"))
    warm_env = dict(os.environ, MEMSCOPE_CACHE=str(work / "packs"))
    print("%-18s %-16s %-26s %10s %10s %10s %8s %10s %8s" % (
        "capture", "memscope", "volatility3", "ms cold s", "ms warm s", "vol3 s", "ratio", "old warm s", "new/old"))
    for name, lime, isf in captures():
        volsym = work / "vol3sym" / name / "linux"
        volsym.mkdir(parents=True, exist_ok=True)
        shutil.copy(isf, volsym / isf.name)
        for ours in [a for a in analyses(args.memscope) if not args.only or a in args.only]:
            theirs = None if args.no_vol else PEERS.get(ours)
            ms = [args.memscope, *ours.split(), str(lime), "--symbols", str(isf), "--format", "json"]
            old = [args.baseline] + ms[1:] if args.baseline else None
            shutil.rmtree(work / "packs", ignore_errors=True)
            cold, rc = timed(ms, warm_env)
            if rc != 0:
                print("%-18s %-16s failed (exit %d)" % (name, ours, rc))
                continue
            if old and timed(old, warm_env)[1] != 0:  # the baseline lacks this analysis
                old = None
            warm, vol, base = [], [], []
            for _ in range(args.runs):  # interleaved: drift hits both
                warm.append(min(timed(ms, warm_env)[0] for _ in range(3)))
                if old:
                    base.append(min(timed(old, warm_env)[0] for _ in range(3)))
                if theirs:
                    vol.append(timed([args.vol, "-q", "-s", str(volsym.parent), "-f", str(lime), "-r", "json", theirs])[0])
            w = statistics.median(warm)
            v = statistics.median(vol) if vol else None
            b = statistics.median(base) if base else None
            print("%-18s %-16s %-26s %10.3f %10.3f %10s %8s %10s %8s" % (
                name, ours, theirs or "(none)", cold, w, "%.3f" % v if v else "-", "%.0fx" % (v / w) if v else "-",
                "%.3f" % b if b else "-", "%.2f" % (w / b) if b else "-"))
        if not args.only or "pslist" in args.only:
            # A first run with no ISF: symbols derived from the capture, none kept from an earlier run.
            derived_env = dict(os.environ, MEMSCOPE_CACHE=str(work / "derived"))
            ms = [args.memscope, "pslist", str(lime), "--symbols", "capture", "--format", "json"]
            first, vol = [], []
            for _ in range(args.runs):
                shutil.rmtree(work / "derived", ignore_errors=True)
                first.append(timed(ms, derived_env)[0])
                if not args.no_vol:
                    vol.append(timed([args.vol, "-q", "-s", str(volsym.parent), "-f", str(lime), "-r", "json",
                                      PEERS["pslist"]])[0])
            f, v = statistics.median(first), statistics.median(vol) if vol else None
            print("%-18s %-16s %-26s %10.3f %10s %10s %8s" % (
                name, "pslist (capture)", PEERS["pslist"], f, "-", "%.3f" % v if v else "-", "%.0fx" % (v / f) if v else "-"))
        if not args.only or {"queues", "skbuff"} & set(args.only):
            # The packet analyses against one sequential read of the capture.
            t = time.perf_counter()
            with open(lime, "rb") as fh:
                while fh.read(16 << 20):
                    pass
            print("%-18s %-16s %.3f s for one sequential read of the capture" % (name, "read", time.perf_counter() - t))
        r = subprocess.run([args.memscope, "bench", str(lime), "--symbols", str(isf), "--runs", "5"], capture_output=True, text=True)
        print(r.stdout.rstrip())
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
