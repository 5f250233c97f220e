#!/usr/bin/env python3
"""The engine's end of --console-socket, as conmon and containerd's shim
have it: listen on a unix socket, run the runtime command given (which
connects and sends the console's master with SCM_RIGHTS in one message),
take the fd, then type INPUT into the console and read until every
EXPECT string has come back (or the console closes).

usage: console_recv.py SOCKET INPUT EXPECT[,EXPECT...] -- RUNTIME ARGS...
Prints one JSON object: rc (the runtime's exit status), name (the
payload sent with the fd), isatty, winsize [rows, cols], output, and
with PID_FILE in the environment, tty_nr: field 7 of /proc/PID/stat for
the pid in that file and for each of its children, read while the
console is still open."""
import ctypes, fcntl, json, os, select, socket, struct, subprocess, sys, termios

# a subreaper, as the engines are: a detached container's init or exec'd
# command comes to us once the runtime exits, and is reaped here
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)

sock_path, text, expect = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
cmd = sys.argv[sys.argv.index("--") + 1:]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(1)
proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
srv.settimeout(30)
conn, _ = srv.accept()
name, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
conn.close()
rc = proc.wait()
out = {"rc": rc, "name": name.decode(errors="replace"), "nfds": len(fds)}
if fds:
    m = fds[0]
    out["isatty"] = os.isatty(m)
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(m, termios.TIOCGWINSZ, b"\0" * 8))
    out["winsize"] = [rows, cols]
    os.write(m, text.encode())
    got = b""
    while not all(e.encode() in got for e in expect):
        r, _, _ = select.select([m], [], [], 30)
        if not r:
            break
        try:
            b = os.read(m, 4096)
        except OSError:
            break
        if not b:
            break
        got += b
    out["output"] = got.decode(errors="replace")
    if os.environ.get("PID_FILE"):
        pid = int(open(os.environ["PID_FILE"]).read())
        pids = [pid] + [int(c) for c in open("/proc/%d/task/%d/children" % (pid, pid)).read().split()]
        out["tty_nr"] = {}
        for p in pids:
            try:  # a child that is just ending (the shell's `tty`) is gone
                stat = open("/proc/%d/stat" % p).read()
            except FileNotFoundError:
                continue
            if stat[stat.rindex(")") + 2] == "Z":
                continue
            out["tty_nr"][str(p)] = int(stat[stat.rindex(")") + 2:].split()[4])
    os.close(m)  # the hang-up ends the shell on the console
    if os.environ.get("PID_FILE"):
        try:
            w, st = os.waitpid(pid, 0)
            out["reaped"] = w == pid
        except ChildProcessError:
            out["reaped"] = False
print(json.dumps(out))
