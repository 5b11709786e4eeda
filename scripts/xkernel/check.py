#!/usr/bin/env python3
"""Score memscope on a harness corpus root with ../shared/truthcheck's own checks (same comparison, other kernels).

    check.py ROOT [--exe PATH] [CHECK ...]      (CHECK: info pslist network lsmod mounts lsof modules details
                                                 mountinfo findings-harness findings queues rings files-harness
                                                 docker-harness skbuff-harness capture-symbols
                                                 vmcoreinfo-symbols trim; default all)

`lsof` is the harness's own check: every descriptor in truth/proc/<pid>.txt of a process still alive at the
final snapshot is a row of `memscope lsof` with the same pid, fd and path (but pid 1, the guest's shell that
collects the truth, whose descriptors change as it writes). `modules` is too: what truthcheck's `lsmod`
(names, sizes, load addresses) leaves out of /proc/modules (truth/proc-modules.txt). `mountinfo` is what
truthcheck's `mounts` (ids, parent, mount point, fstype) leaves out of each truth/mountinfo-*pid<PID>.txt: root,
major:minor, options, optional fields, source and the generic superblock options, for every line, and no row
with a path that the file does not list (a row outside the root has path null, as the test rules say).
`docker-harness` runs the docker views on these Docker-less guests: no warning, no container but the guest's
frozen cgroup named like one (guest.sh), which must show as paused with its pid.
"""
import hashlib, json, os, pathlib, re, subprocess, sys, tempfile, time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "shared" / "truthcheck"))
import truthcheck  # noqa: E402


# Where a neighbour entry can get to from each state in a few seconds (net/core/neighbour.c's timers).
NUD_MOVES = {"REACHABLE": ("STALE", "DELAY", "PROBE"), "STALE": ("DELAY", "PROBE", "REACHABLE"),
             "DELAY": ("REACHABLE", "PROBE"), "PROBE": ("REACHABLE", "FAILED")}


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


def check_modules(exe, caps):
    """Each module of truth/proc-modules.txt has the same reference count, users (as a set; `[permanent]`
    included), state and taint letters in `memscope lsmod`, which lists no module the truth does not."""
    keys = ("module refcounts", "module users", "module states", "module taints", "captures without extra modules")
    score, notes = {k: [0, 0] for k in keys}, []

    def tally(key, ok, note):
        score[key][1] += 1
        score[key][0] += bool(ok)
        if not ok:
            notes.append(note)

    for c in caps:
        rows, err = truthcheck.run_json(exe, ["lsmod", c["path"], "--symbols", c["symbols"]])
        if rows is None:
            notes.append("%s lsmod: %s" % (c["name"], err))
        got = {r.get("name"): r for r in rows or []}
        want = set()
        for line in (c["truth"] / "proc-modules.txt").read_text().splitlines():
            p = line.split()
            if len(p) < 6 or line.startswith("#"):
                continue
            name, refs, users, state = p[0], p[2], p[3], p[4]
            taints = p[6].strip("()").replace("+", "").replace("-", "") if len(p) > 6 else ""
            want.add(name)
            r = got.get(name, {})
            refcount = None if refs == "-" else int(refs)
            tally("module refcounts", r.get("refcount") == refcount,
                  "%s: module %s refcount %r, truth %r" % (c["name"], name, r.get("refcount"), refcount))
            users = set() if users == "-" else {u for u in users.split(",") if u}
            tally("module users", set(r.get("used_by") or []) == users and len(r.get("used_by") or []) == len(users),
                  "%s: module %s used by %r, truth %r" % (c["name"], name, r.get("used_by"), sorted(users)))
            tally("module states", r.get("state") == state,
                  "%s: module %s state %r, truth %r" % (c["name"], name, r.get("state"), state))
            tally("module taints", r.get("taints") == taints,
                  "%s: module %s taints %r, truth %r" % (c["name"], name, r.get("taints"), taints))
        extra = sorted(set(got) - want)
        tally("captures without extra modules", rows is not None and not extra,
              "%s: modules not in proc-modules.txt: %s" % (c["name"], extra))
    return score, notes


def frozen_container(c):
    """The id of the guest's frozen cgroup named like a Docker container's (truth/frozen-cgroup.txt), if any."""
    f = c["truth"] / "frozen-cgroup.txt"
    m = re.search(r"docker-([0-9a-f]{64})\.scope", f.read_text()) if f.exists() else None
    return m and m.group(1)


def rows_without_warnings(exe, c, analysis, tally, notes):
    """The JSON rows of `memscope ANALYSIS` on capture `c`, counted in `tally` ([ok, total]) as a run that
    exited 0 with nothing on stderr (but the warning that no dockerd describes the guest's frozen
    "container"); None (with a note) for one that did not."""
    r = subprocess.run([str(exe), analysis, str(c["path"]), "--symbols", str(c["symbols"]), "--format", "json"],
                       capture_output=True, text=True, timeout=600)
    tally[1] += 1
    fake = frozen_container(c)
    noise = [l for l in r.stderr.splitlines()
             if l.strip() and not (fake and re.match(r"warning: (docker: )?container %s: found in neither" % fake[:12], l))]
    if r.returncode != 0 or noise:
        notes.append("%s %s: exit %d, %s" % (c["name"], analysis, r.returncode, "\n".join(noise)[:200]))
        return None
    tally[0] += 1
    return json.loads(r.stdout)


def check_findings(exe, caps):
    """`memscope findings` runs with no warning, and its kernel_taint findings are exactly the modules
    truth/proc-modules.txt shows tainted (the guest's unsigned out-of-tree dummy)."""
    score, notes = {"taint findings": [0, 0], "captures with findings and no warning": [0, 0]}, []
    for c in caps:
        rows = rows_without_warnings(exe, c, "findings", score["captures with findings and no warning"], notes)
        if rows is None:
            continue
        got = {e["keys"].get("name") for f in rows if f["kind"] == "kernel_taint" for e in f["evidence"]}
        want = set()
        for line in (c["truth"] / "proc-modules.txt").read_text().splitlines():
            p = line.split()
            if len(p) > 6 and not line.startswith("#") and p[6].strip("()+-"):
                want.add(p[0])
        score["taint findings"][1] += max(len(want), 1)
        score["taint findings"][0] += len(want & got) if want else int(not got)
        if got != want:
            notes.append("%s: tainting modules %s, findings %s" % (c["name"], sorted(want), sorted(got)))
    return score, notes


def check_queues(exe, caps):
    """`memscope queues` runs with no warning, and each socket final/ss-tanpue*.txt shows with data waiting
    (Recv-Q above 0, but listeners, whose Recv-Q is their accept queue) has receive-queue rows for its
    holder's pid and fd that add up to it: TCP's bytes (`len`), UDP's charged memory (`truesize`)."""
    score, notes = {"queued sockets": [0, 0], "captures with queues and no warning": [0, 0]}, []
    for c in caps:
        rows = rows_without_warnings(exe, c, "queues", score["captures with queues and no warning"], notes)
        if rows is None:
            continue
        for f in (c["truth"] / "final").glob("ss-tanpue*.txt"):
            for line in f.read_text().splitlines()[1:]:
                p = line.split()
                holder = re.search(r"pid=(\d+),fd=(\d+)", line)
                if len(p) < 4 or not p[2].isdigit() or int(p[2]) == 0 or p[1] == "LISTEN" or not holder:
                    continue
                pid, fd, want = int(holder.group(1)), int(holder.group(2)), int(p[2])
                key = "len" if p[0] == "tcp" else "truesize"
                got = sum(q.get(key) or 0 for q in rows
                          if q.get("pid") == pid and q.get("fd") == fd and q.get("queue") == "receive")
                score["queued sockets"][1] += 1
                score["queued sockets"][0] += got == want
                if got != want:
                    notes.append("%s: %s %s pid %d fd %d Recv-Q %d, queues %s %d" % (
                        c["name"], f.name, p[0], pid, fd, want, key, got))
    return score, notes


def check_rings(exe, caps):
    """Each packet socket rings.py left with a memory-mapped receive ring (truth/packet-rings.txt: pid, fd,
    TPACKET version, marker) has `ring` rows for its pid and fd, the marker's three datagrams among their
    previews and in the socket's ring.PID.FD dump; no ring rows for other sockets."""
    score, notes = {"rings read": [0, 0], "ring frames with the marker": [0, 0]}, []
    for c in caps:
        f = c["truth"] / "packet-rings.txt"
        if not f.exists():
            continue
        d = pathlib.Path(tempfile.mkdtemp(prefix="memscope-rings-"))
        r = subprocess.run([str(exe), "queues", str(c["path"]), "--symbols", str(c["symbols"]), "--format", "json",
                            "--dump", str(d)], capture_output=True, text=True, timeout=600)
        rows = [q for q in json.loads(r.stdout or "[]") if q.get("queue") == "ring"] if r.returncode == 0 else []
        want = [l.split() for l in f.read_text().splitlines() if l.strip()]
        for pid, fd, version, marker in want:
            mine = [q for q in rows if q.get("pid") == int(pid) and q.get("fd") == int(fd)]
            dump = d / ("ring.%s.%s" % (pid, fd))
            score["rings read"][1] += 1
            score["rings read"][0] += bool(mine) and dump.exists() and marker.encode() in dump.read_bytes()
            if not mine:
                notes.append("%s: TPACKET_V%s ring of pid %s fd %s: no rows (exit %d %s)" % (
                    c["name"], version, pid, fd, r.returncode, r.stderr[:200]))
            marked = {q["preview"] for q in mine if marker in q.get("preview", "")}
            score["ring frames with the marker"][1] += 3
            seen = {m.split("#")[-1][:1] for m in marked}
            score["ring frames with the marker"][0] += min(3, len(seen))
            if len(seen) < 3:
                notes.append("%s: TPACKET_V%s ring of pid %s fd %s: marker previews %s" % (
                    c["name"], version, pid, fd, sorted(marked)))
        others = {(q.get("pid"), q.get("fd")) for q in rows} - {(int(w[0]), int(w[1])) for w in want}
        if others:
            score["rings read"][1] += 1
            notes.append("%s: ring rows of other sockets %s" % (c["name"], sorted(others)))
        subprocess.run(["rm", "-rf", str(d)])
    return score, notes


def check_docker_harness(exe, caps):
    """The docker views on kernels without Docker: each runs (the cgroup walk, the kernfs layout and the
    page-table walk work on every kernel: a layout memscope does not know is a warning) and finds no dockerd,
    no Docker document and no container but the guest's frozen cgroup named like one (truth/frozen-cgroup.txt:
    pid, cgroup path, `frozen 1` from cgroup.events), which `docker ps` must show as a paused container with
    that pid; the only warning allowed is the one naming the facts that, without dockerd, nothing holds."""
    views = ["detect", "ps", "caps", "mounts", "networks", "inspect"]
    score, notes = {"docker views without warning": [0, 0], "captures with just the frozen cgroup": [0, 0],
                    "paused containers": [0, 0]}, []
    for c in caps:
        frozen = c["truth"] / "frozen-cgroup.txt"
        want = None
        if frozen.exists():
            pid, path, *state = frozen.read_text().split()
            want = dict(pid=int(pid), id=re.search(r"docker-([0-9a-f]{64})\.scope", path).group(1),
                        frozen=state == ["frozen", "1"])
        clean = True
        for v in views:
            args = [str(exe), "docker", v, str(c["path"]), "--symbols", str(c["symbols"]), "--format", "json"]
            r = subprocess.run(args + (["--all"] if v == "ps" else []), capture_output=True, text=True, timeout=600)
            score["docker views without warning"][1] += 1
            noise = [l for l in r.stderr.splitlines()
                     if l.strip() and not (want and l.startswith("warning: container %s: found in neither" % want["id"][:12]))]
            if r.returncode != 0 or noise:
                notes.append("%s docker %s: exit %d, %s" % (c["name"], v, r.returncode, "\n".join(noise)[:200]))
                clean = False
                continue
            score["docker views without warning"][0] += 1
            rows = json.loads(r.stdout)
            ids = {row.get("container_id") for row in rows if "container_id" in row}
            if v == "detect":
                seen = [d["indicator"] for d in rows if d["found"] and d["indicator"] in
                        ("dockerd process", "container documents in dockerd's memory")]
                if seen:
                    notes.append("%s docker detect: %s found on a guest without Docker" % (c["name"], seen))
                    clean = False
            elif v != "networks" and ids - ({want["id"]} if want else set()):
                notes.append("%s docker %s: containers %s on a guest without Docker" % (c["name"], v, sorted(ids)))
                clean = False
            if v == "ps" and want:
                score["paused containers"][1] += 1
                mine = [row for row in rows if row["container_id"] == want["id"]]
                state = "paused" if want["frozen"] else "running"
                if len(mine) == 1 and mine[0]["pid"] == want["pid"] and mine[0]["state"] == state:
                    score["paused containers"][0] += 1
                else:
                    notes.append("%s docker ps: %s, truth: pid %d %s" % (c["name"], mine, want["pid"], state))
        score["captures with just the frozen cgroup"][1] += 1
        score["captures with just the frozen cgroup"][0] += clean
    return score, notes


MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def check_details(exe, caps):
    """Values truthcheck does not compare: route caches (next-hop exceptions, `ip route show cache`),
    command lines (ps -o args), IPv6 default routes, kernel log timestamps (dmesg's microseconds), start times (ps's lstart is boot time truncated to the second plus
    the start truncated to the second, so the exact start is 0-2 s after it), threads (ps -eL), interface MAC,
    MTU and promiscuity (ip -d link), neighbour states (ip neigh), TCP states and UNIX socket paths (ss)."""
    import calendar
    score = {k: [0, 0] for k in ("start times", "threads", "links", "neighbour states", "tcp states",
                                 "unix paths", "log times", "ipv6 default routes", "command lines", "route cache")}
    notes = []

    def tally(key, ok, note):
        score[key][1] += 1
        score[key][0] += bool(ok)
        if not ok:
            notes.append(note)

    for c in caps:
        t, sym, name = c["truth"], ["--symbols", c["symbols"]], c["name"]
        rows, err = truthcheck.run_json(exe, ["pslist", c["path"], "--threads"] + sym)
        rows = rows or []
        procs = {r["pid"]: r for r in rows if r.get("tid") == r.get("pid")}
        for line in (t / "final" / "ps-eo.txt").read_text().splitlines()[1:]:
            p = line.split()
            pid, (mon, day, hms, year) = int(p[0]), (p[7], p[8], p[9], p[10])
            if pid == 1 or pid not in procs:
                continue
            h, m, sec = map(int, hms.split(":"))
            ps = calendar.timegm((int(year), MONTHS.index(mon) + 1, int(day), h, m, sec))
            got = procs[pid].get("start_time")
            exact = None
            if got:
                whole, frac = got.rstrip("Z").split(".")
                exact = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)
            tally("start times", exact is not None and 0 <= exact - ps < 2,
                  "%s: pid %d start %s, ps %s" % (name, pid, got, " ".join(p[6:11])))
        rows_aux, err = truthcheck.run_json(exe, ["psaux", c["path"]] + sym)
        aux = {r["pid"]: r for r in rows_aux or []}
        for line in (t / "final" / "ps-eo.txt").read_text().splitlines()[1:]:
            p = line.split()
            pid, args = int(p[0]), " ".join(p[13:])
            if pid == 1 or pid not in procs or pid not in aux and not rows_aux:
                continue
            got = aux.get(pid, {}).get("cmdline")
            if args.startswith("[") and args.endswith("]"):
                ok = got is None  # a kernel thread: ps brackets its name
            else:
                ok = got is not None and " ".join(got.split()) == args
            tally("command lines", ok, "%s: pid %d args %r, ps %r" % (name, pid, got, args))
        threads = {(r["pid"], r["tid"]) for r in rows}
        for line in (t / "final" / "ps-eL.txt").read_text().splitlines()[1:]:
            pid, tid = map(int, line.split()[:2])
            if pid != 1 and pid in procs:  # presence is pslist's check; ps -eL lists itself
                tally("threads", (pid, tid) in threads, "%s: thread %d of %d missing" % (name, tid, pid))

        rows, err = truthcheck.run_json(exe, ["ifconfig", c["path"]] + sym)
        links = {(r["name"], r["mac"]): r for r in rows or []}
        for f in [t / "ip-d-link.txt"] + list((t / "netns").glob("*/ip-d-link.txt")):
            text = f.read_text()
            for m in re.finditer(r"^\d+: ([^:@]+)[@:].*? mtu (\d+) .*\n\s+link/\S+ (\S+) .*?promiscuity (\d+)",
                                 text, re.M):
                ifname, mtu, mac, promisc = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
                r = links.get((ifname, mac))
                ok = r is not None and r.get("mtu") == mtu and r.get("promiscuity") == promisc and \
                    r.get("promiscuous") == (promisc > 0)
                tally("links", ok, "%s: %s %s mtu %d promiscuity %d: %s" % (name, ifname, mac, mtu, promisc,
                                                                            r and {k: r.get(k) for k in (
                                                                                "mtu", "promiscuity")}))

        rows, err = truthcheck.run_json(exe, ["arp", c["path"]] + sym)
        states = {(r["ip"], (r.get("mac") or "").lower()): r.get("state") for r in rows or []}
        for f in (t / "final").glob("ip-neigh*.txt"):
            for line in f.read_text().splitlines():
                m = re.match(r"^(\S+) dev \S+ lladdr (\S+)(?: router)? (\S+)", line)
                if m:
                    got = states.get((m.group(1), m.group(2).lower()))
                    # In the seconds between the snapshot and the dump an entry may move along the kernel's
                    # neighbour state machine (REACHABLE decays to STALE by timer, STALE goes to DELAY on use,
                    # DELAY returns to REACHABLE when confirmed within its 5 s or goes on to PROBE): those
                    # moves are time passing, not misreadings.
                    aged = got in NUD_MOVES.get(m.group(3), ())
                    tally("neighbour states", got == m.group(3) or aged,
                          "%s: %s %s state %s, truth %s" % (name, m.group(1), m.group(2), got, m.group(3)))

        rows, err = truthcheck.run_json(exe, ["netstat", c["path"]] + sym)
        ss_state = {"ESTAB": "ESTABLISHED", "LISTEN": "LISTEN"}
        tcp = {(r.get("local_port"), r.get("remote_port") or 0, r.get("pid")): r.get("state")
               for r in rows or [] if r.get("proto") == "tcp"}
        for f in (t / "final").glob("ss-tanpue*.txt"):
            for line in f.read_text().splitlines():
                p = line.split()
                if len(p) < 6 or p[0] != "tcp":
                    continue
                lport, rport = int(p[4].rsplit(":", 1)[1]), p[5].rsplit(":", 1)[1]
                for pid in map(int, re.findall(r"pid=(\d+)", line)):
                    got = tcp.get((lport, 0 if rport == "*" else int(rport), pid))
                    want = ss_state.get(p[1], p[1])
                    tally("tcp states", got in (p[1], want), "%s: tcp %d->%s pid %d state %s, truth %s" % (
                        name, lport, rport, pid, got, p[1]))
        paths = {r.get("inode"): r.get("path") for r in rows or [] if r.get("proto") == "unix"}
        for line in (t / "final" / "ss-xanp.txt").read_text().splitlines():
            p = line.split()
            if len(p) >= 8 and p[0].startswith("u_") and p[5].isdigit() and p[4] != "*":
                got = paths.get(int(p[5]))
                tally("unix paths", got == p[4], "%s: unix %s path %r, truth %r" % (name, p[5], got, p[4]))

        # truthcheck reads `default` as 0.0.0.0/0 only; an IPv6 default route is ::/0
        rows, err = truthcheck.run_json(exe, ["routes", c["path"]] + sym)
        v6 = {(r.get("gateway"), r.get("device")) for r in rows or [] if r.get("destination") == "::/0"}
        for f in [t / "ip-6-route.txt"] + list((t / "netns").glob("*/ip-6-route.txt")):
            for m in re.finditer(r"^default via (\S+) dev (\S+)", f.read_text(), re.M):
                tally("ipv6 default routes", (m.group(1), m.group(2)) in v6,
                      "%s: ::/0 via %s dev %s missing" % (name, m.group(1), m.group(2)))

        cache = {(r.get("destination", "").split("/")[0], r.get("gateway"), r.get("device"), r.get("pmtu"))
                 for r in rows or [] if r.get("table") == "cache"}
        for f in ("ip-route-cache.txt", "ip-6-route-cache.txt"):
            text = (t / f).read_text() if (t / f).exists() else ""
            # ip prints a v4 entry on two lines ("DST via GW dev D" then "cache ... mtu N"); join them
            for m in re.finditer(r"^(\S+)(?: via (\S+))? dev (\S+)[^\n]*(?:\n\s+cache[^\n]*)?", text, re.M):
                mtu = re.search(r"mtu (\d+)", m.group(0))
                key = (m.group(1), m.group(2), m.group(3), int(mtu.group(1)) if mtu else None)
                tally("route cache", key in cache, "%s: cache entry %s missing" % (name, key))

        rows, err = truthcheck.run_json(exe, ["dmesg", c["path"]] + sym)
        times = {}
        for r in rows or []:
            times.setdefault(r.get("text", "").strip(), []).append(r.get("timestamp"))
        for line in (t / "dmesg.txt").read_text().splitlines():
            m = re.match(r"^\[\s*(\d+\.\d+)\] (.*)$", line)
            if m and m.group(2).strip():
                want, got = float(m.group(1)), times.get(m.group(2).strip(), [])
                tally("log times", any(g is not None and abs(g - want) < 1e-6 for g in got),
                      "%s: log line %r at %s, memscope %s" % (name, m.group(2)[:60], m.group(1), got[:3]))
    return score, notes


GENERIC_SB = ("ro", "rw", "sync", "dirsync", "mand", "lazytime")


def unescape(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def check_mountinfo(exe, caps):
    score, notes = {"mount fields": [0, 0], "captures without extra mounts": [0, 0]}, []
    for c in caps:
        for f in sorted(c["truth"].glob("mountinfo-*pid*.txt")):
            pid = int(re.search(r"pid(\d+)\.txt$", f.name).group(1))
            rows, err = truthcheck.run_json(exe, ["mounts", c["path"], "--symbols", c["symbols"], "--pid", pid])
            if rows is None:
                notes.append("%s pid %d: %s" % (c["name"], pid, err))
                rows = []
            by_id = {r.get("mount_id"): r for r in rows}
            ids = set()
            for line in f.read_text().splitlines():
                if line.startswith("#") or " - " not in line:
                    continue
                left, right = line.split(" - ", 1)
                p, q = left.split(" "), right.split(" ")
                ids.add(int(p[0]))
                sb = unescape(" ".join(q[2:])).split(",")
                k = 0
                while k < len(sb) and sb[k] in GENERIC_SB:
                    k += 1
                want = {"parent_id": int(p[1]), "major_minor": p[2], "root": unescape(p[3]), "path": unescape(p[4]),
                        "flags": p[5], "propagation": " ".join(p[6:]), "fstype": q[0], "devname": unescape(q[1]),
                        "super_options": ",".join(sb[:k])}
                score["mount fields"][1] += 1
                r = by_id.get(int(p[0]))
                if r is None:
                    notes.append("%s pid %d: mount %s missing" % (c["name"], pid, p[0]))
                    continue
                got = dict(r, propagation=" ".join(r.get("propagation") or []))
                bad = ["%s %r (truth %r)" % (k2, got.get(k2), v) for k2, v in want.items() if got.get(k2) != v]
                if bad:
                    notes.append("%s pid %d mount %s: %s" % (c["name"], pid, p[0], "; ".join(bad)))
                else:
                    score["mount fields"][0] += 1
            extra = [r for r in rows if r.get("mount_id") not in ids and r.get("path") is not None]
            score["captures without extra mounts"][1] += 1
            if extra:
                notes.append("%s pid %d: extra mounts %s" % (c["name"], pid, [(r["mount_id"], r["path"]) for r in extra][:5]))
            else:
                score["captures without extra mounts"][0] += 1
    return score, notes


def check_files(exe, caps):
    """`memscope files` runs with no warning; every path of truth/stat-tmp.tsv (files.py's tree on the guest's
    tmpfs /tmp) is a row with the same inode, mode, owner, size, mtime to the nanosecond and symlink target;
    every mount point of mountinfo-pid1.txt is a row; each file of cached-files.json reads back
    byte for byte (`--extract`); and `--negative` lists the name that was probed for and did not exist."""
    score = {"stat fields exact": [0, 0], "mount points": [0, 0], "cached files extracted": [0, 0],
             "negative dentries": [0, 0], "runs without warning": [0, 0]}
    notes = []
    for c in caps:
        stat_file = c["truth"] / "stat-tmp.tsv"
        if not stat_file.exists():
            notes.append("%s: no truth/stat-tmp.tsv (captured before files.py)" % c["name"])
            score["stat fields exact"][1] += 1
            continue
        rows = rows_without_warnings(exe, c, "files", score["runs without warning"], notes) or []
        got = {r["path"]: r for r in rows}
        lines = stat_file.read_text().splitlines()
        head = lines[0].split("\t")
        for line in lines[1:]:
            t = dict(zip(head, line.split("\t")))
            score["stat fields exact"][1] += 1
            r = got.get(t["path"])
            if r is None:
                notes.append("%s: %s missing" % (c["name"], t["path"]))
                continue
            bad = [k for k in ("inode", "uid", "gid", "size") if str(r.get(k)) != t[k]]
            bad += ["mode"] if r.get("mode") != t["mode"] else []
            bad += ["mtime"] if (r.get("mtime") or "").rstrip("Z") != t["mtime"] else []
            bad += ["link_target"] if (r.get("link_target") or "") != t.get("link", "") else []
            if bad:
                notes.append("%s: %s wrong %s" % (c["name"], t["path"], ",".join(bad)))
            else:
                score["stat fields exact"][0] += 1
        for line in (c["truth"] / "mountinfo-pid1.txt").read_text().splitlines():
            p = line.split()
            if len(p) < 5 or line.startswith("#"):
                continue
            point = unescape(p[4])
            score["mount points"][1] += 1
            if point in got:  # a directory, or a file bind-mounted on a file (a netns nsfs file)
                score["mount points"][0] += 1
            else:
                notes.append("%s: mount point %s not a row" % (c["name"], point))
        want = json.loads((c["truth"] / "cached-files.json").read_text())
        for f in want["cached_files"]:
            score["cached files extracted"][1] += 1
            out = pathlib.Path("/tmp") / ("memscope-xk-extract-%d" % os.getpid())
            r = subprocess.run([str(exe), "files", str(c["path"]), "--symbols", str(c["symbols"]), "--extract",
                                f["path"], "--out", str(out)], capture_output=True, text=True, timeout=600)
            data = out.read_bytes() if out.exists() else b""
            out.unlink(missing_ok=True)
            if len(data) == f["size"] and hashlib.sha256(data).hexdigest() == f["sha256"] and not r.stderr.strip():
                score["cached files extracted"][0] += 1
            else:
                notes.append("%s: %s read back as %d bytes (rc %d) %s" % (c["name"], f["path"], len(data),
                                                                          r.returncode, r.stderr.strip()[:120]))
        r = subprocess.run([str(exe), "files", str(c["path"]), "--symbols", str(c["symbols"]), "--negative",
                            "--format", "json"], capture_output=True, text=True, timeout=600)
        negative = {x["path"] for x in json.loads(r.stdout or "[]") if x.get("inode") is None}
        for p in want["negative"]:
            score["negative dentries"][1] += 1
            score["negative dentries"][0] += p in negative
            if p not in negative:
                notes.append("%s: negative dentry %s not listed" % (c["name"], p))
    return score, notes


def check_skbuff(exe, caps):
    """`memscope skbuff` runs with no warning, and every socket buffer `memscope queues` finds waiting in a
    socket's queue is among the skbs it carves from the skb slab caches, allocated."""
    score, notes = {"queued skbs carved": [0, 0], "captures with skbuff and no warning": [0, 0]}, []
    for c in caps:
        rows = rows_without_warnings(exe, c, "skbuff", score["captures with skbuff and no warning"], notes)
        if rows is None:
            continue
        carved = {r["skb_addr"]: r for r in rows}
        q = subprocess.run([str(exe), "queues", str(c["path"]), "--symbols", str(c["symbols"]), "--format", "json"],
                           capture_output=True, text=True, timeout=600)
        for r in [r for r in json.loads(q.stdout or "[]") if r.get("queue") != "ring"]:  # ring frames are no skbs
            score["queued skbs carved"][1] += 1
            hit = carved.get(r["skb_addr"])
            if hit is not None and hit["state"] == "allocated" and hit["len"] == r["len"]:
                score["queued skbs carved"][0] += 1
            else:
                notes.append("%s: %s queue skb %s not carved" % (c["name"], r["queue"], r["skb_addr"]))
    return score, notes


def check_vmcoreinfo_symbols(exe, caps):
    """On a dump with a VMCOREINFO note naming the kallsyms tables, symbols from the capture are found where
    it says: `memscope bench` reports the bytes the derivation read, a few MiB instead of a scan."""
    score, notes = {"derived without a scan": [0, 0]}, []
    for c in caps:
        if not c.get("vmcoreinfo"):
            continue
        score["derived without a scan"][1] += 1
        out = subprocess.run([str(exe), "bench", c["path"], "--symbols", c["symbols"], "--runs", "1", "--format",
                              "json"], capture_output=True, text=True)
        rows = json.loads(out.stdout) if out.returncode == 0 else []
        step = next((r["step"] for r in rows if r["step"].startswith("symbols from the capture")), "")
        m = re.search(r"(\d+) MiB read", step)
        if m and int(m.group(1)) < 64:
            score["derived without a scan"][0] += 1
        else:
            notes.append("%s: %s" % (c["name"], step or out.stderr.strip()))
    return score, notes


def leaf_commands(exe):
    """Every analysis of `memscope list`, and each view of a group, as the words that run it."""
    specs = json.loads(subprocess.run([str(exe), "list", "--format", "json"], capture_output=True, text=True,
                                      check=True).stdout)
    return [[s["name"], v["name"]] for s in specs for v in s.get("views") or []] + \
        [[s["name"]] for s in specs if not s.get("views")]


def check_trim(exe, caps):
    """`memscope trim` (LiME) keeps only the pages the analyses read: every analysis and view prints the same
    JSON and the same stderr on the trimmed capture as on the full one."""
    score, notes = {"trimmed captures": [0, 0], "analyses with the same rows": [0, 0]}, []
    commands = leaf_commands(exe)
    for c in caps:
        out = c["path"].parent / (c["path"].name + ".trimmed.lime")
        score["trimmed captures"][1] += 1
        r = subprocess.run([str(exe), "trim", str(c["path"]), "--symbols", str(c["symbols"]), "--out", str(out)],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0 or not out.exists() or out.stat().st_size >= c["path"].stat().st_size:
            notes.append("%s: trim exit %d: %s" % (c["name"], r.returncode, r.stderr.strip()[:200]))
            continue
        score["trimmed captures"][0] += 1
        try:
            for cmd in commands:
                score["analyses with the same rows"][1] += 1
                runs = [subprocess.run([str(exe), *cmd, str(p), "--symbols", str(c["symbols"]), "--format", "json"],
                                       capture_output=True, text=True, timeout=600) for p in (c["path"], out)]
                if runs[0].stdout == runs[1].stdout and runs[0].stderr == runs[1].stderr:
                    score["analyses with the same rows"][0] += 1
                else:
                    notes.append("%s: %s differs on the trimmed capture" % (c["name"], " ".join(cmd)))
        finally:
            out.unlink(missing_ok=True)
    return score, notes


truthcheck.CHECKS["lsof"] = check_lsof
truthcheck.CHECKS["modules"] = check_modules
truthcheck.CHECKS["details"] = check_details
truthcheck.CHECKS["mountinfo"] = check_mountinfo
truthcheck.CHECKS["findings-harness"] = check_findings
truthcheck.CHECKS["queues"] = check_queues
truthcheck.CHECKS["rings"] = check_rings
truthcheck.CHECKS["files-harness"] = check_files
truthcheck.CHECKS["docker-harness"] = check_docker_harness
truthcheck.CHECKS["skbuff-harness"] = check_skbuff
truthcheck.CHECKS["vmcoreinfo-symbols"] = check_vmcoreinfo_symbols
truthcheck.CHECKS["trim"] = check_trim


def main(argv):
    root = pathlib.Path(argv[0]).resolve()
    exe = HERE.parents[1] / "target" / "release" / "memscope"
    if "--exe" in argv:
        exe = pathlib.Path(argv[argv.index("--exe") + 1]).resolve()
        argv = argv[:argv.index("--exe")] + argv[argv.index("--exe") + 2:]
    names = argv[1:] or ["info", "pslist", "network", "lsmod", "mounts", "lsof", "modules", "details", "mountinfo",
                         "findings-harness", "findings", "queues", "rings", "files-harness", "docker-harness",
                         "skbuff-harness", "capture-symbols", "vmcoreinfo-symbols", "trim"]
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
