#!/usr/bin/env python3
"""A caller like conmon or containerd's shim: a child subreaper
(prctl PR_SET_CHILD_SUBREAPER) that runs a runtime command (exec --detach
--pid-file PIDFILE ...), then looks at the process named in PIDFILE
through /proc (its parent, status, cgroup, namespaces), signals it with
--signal N if asked, and reaps it with waitpid.

usage: subreaper.py PIDFILE [--signal N] -- RUNTIME ARGS...
Prints one JSON object: rc, out (the runtime's stdout+stderr), pid,
ppid_is_me, status, cgroup, ns {name: link}, reaped, code (the exit
status as a shell reports it: 128+N for a signal)."""
import ctypes, json, os, subprocess, sys, tempfile

libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl: errno %d" % ctypes.get_errno())
pidfile = sys.argv[1]
sig = int(sys.argv[sys.argv.index("--signal") + 1]) if "--signal" in sys.argv else None
cmd = sys.argv[sys.argv.index("--") + 1:]
# its output to a file: a pipe would stay open in the detached command
with tempfile.TemporaryFile() as f:
    rc = subprocess.call(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
    f.seek(0)
    out = {"rc": rc, "out": f.read().decode(errors="replace")}
try:
    pid = int(open(pidfile).read())
except (OSError, ValueError):
    print(json.dumps(out))
    sys.exit(0)
out["pid"] = pid
status = open("/proc/%d/status" % pid).read()
out["status"] = status
out["ppid_is_me"] = int(status.split("\nPPid:")[1].split()[0]) == os.getpid()
out["cgroup"] = open("/proc/%d/cgroup" % pid).read()
out["ns"] = {n: os.readlink("/proc/%d/ns/%s" % (pid, n)) for n in os.listdir("/proc/%d/ns" % pid)}
if sig:
    os.kill(pid, sig)
try:
    w, st = os.waitpid(pid, 0)
    out["reaped"] = w == pid
    out["code"] = os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)
except ChildProcessError:
    out["reaped"] = False
# anything else that came to us (an intermediate that did not exit in
# time would show up here): reaped, and counted
others = 0
while True:
    try:
        w, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if w == 0:
        break
    others += 1
out["others"] = others
print(json.dumps(out))
