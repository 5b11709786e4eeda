"""proc-summary.tsv as the corpus truth has it: one line per process from /proc/<pid>/status and ns links; and
proc/<pid>.txt with each process's descriptors (`-- fd` then `N -> target`), when given the truth folder."""
import os, sys

FDS = sys.argv[1] if len(sys.argv) > 1 else None

NS = ["cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"]
print("\t".join(["pid", "name", "ppid", "uid(r,e,s,fs)", "gid(r,e,s,fs)", "CapInh", "CapPrm", "CapEff", "CapBnd",
                 "CapAmb", "NSpid", "Seccomp", "NoNewPrivs"] + NS))
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    try:
        st = dict(l.split(":\t", 1) for l in open("/proc/%d/status" % pid).read().splitlines() if ":\t" in l)
        links = []
        for n in NS:
            try:
                links.append(os.readlink("/proc/%d/ns/%s" % (pid, n)))
            except OSError:
                links.append("")
    except OSError:
        continue
    if FDS:
        with open(os.path.join(FDS, "%d.txt" % pid), "w") as out:
            out.write("== pid %d\n-- fd\n" % pid)
            try:
                fds = sorted(int(f) for f in os.listdir("/proc/%d/fd" % pid))
            except OSError:
                fds = []
            for fd in fds:
                try:
                    out.write("%d -> %s\n" % (fd, os.readlink("/proc/%d/fd/%d" % (pid, fd))))
                except OSError:
                    pass
    g = lambda k: st.get(k, "").strip()
    print("\t".join([str(pid), g("Name"), g("PPid"), ",".join(g("Uid").split()), ",".join(g("Gid").split()),
                     g("CapInh"), g("CapPrm"), g("CapEff"), g("CapBnd"), g("CapAmb"), " ".join(g("NSpid").split()),
                     g("Seccomp"), g("NoNewPrivs")] + links))
