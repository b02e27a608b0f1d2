"""Process, port and waiting helpers shared by the instance classes and the
scenarios.

The tests run several Dovecot instances side by side on 127.0.0.1, so they
need free ports, a way to find the processes an instance's master started
(to SIGSTOP or kill -9 the mailmove service), and polling with deadlines
instead of fixed sleeps.
"""

import os
import signal
import socket
import subprocess
import time

_handed_out_ports = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    The kernel picks it (bind to port 0); ports this process already handed
    out are skipped, so two instances started by one test run never get the
    same one even though neither listens yet.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Poll predicate() until it returns a true value; return that value.

    Raises TimeoutError naming `what` when the deadline passes, so a
    scenario's failure message says what it was waiting for.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def port_accepts(port, host="127.0.0.1"):
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _read_proc(pid, name):
    """Contents of /proc/PID/NAME, or None when the process is gone."""
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except OSError:
        return None


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (state, ppid, ...),
    or None when the process is gone."""
    stat = _read_proc(pid, "stat")
    if stat is None:
        return None
    # The command name is parenthesised and may itself contain spaces.
    return stat[stat.rindex(b")") + 2:].split()


def memory_containing(pid, needles):
    """The needles (bytes) found anywhere in the writable memory of pid
    (heap, stacks, anonymous and writable mappings; read through
    /proc/PID/mem, as root). What a process freed without wiping is
    still there, which is what this looks for."""
    found = set()
    try:
        with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
            for line in maps:
                fields = line.split()
                if "w" not in fields[1] or (len(fields) > 5 and fields[5] == "[vvar]"):
                    continue
                start, end = (int(v, 16) for v in fields[0].split("-"))
                try:
                    mem.seek(start)
                    data = mem.read(end - start)
                except OSError:
                    continue  # unmapped meanwhile, or a guard page
                found.update(n for n in needles if n in data)
    except OSError:
        pass  # the process is gone
    return found


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != b"Z"


def _ppid_and_title(pid):
    """(parent pid, process title) of pid from /proc, or None if gone."""
    fields = _stat_fields(pid)
    cmdline = _read_proc(pid, "cmdline")
    if fields is None or cmdline is None:
        return None
    ppid = int(fields[1])
    # Dovecot rewrites argv to set its process title ("dovecot/imap ..."),
    # leaving NULs or spaces; either way the first word is the title.
    title = cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip()
    return ppid, title


def children(pid):
    """[(child pid, process title)] of the direct children of pid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        info = _ppid_and_title(int(entry))
        if info is not None and info[0] == pid:
            found.append((int(entry), info[1]))
    return found


def descendants(pid):
    """Every pid below pid in the process tree (children first)."""
    result = []
    queue = [pid]
    while queue:
        for child, _ in children(queue.pop()):
            result.append(child)
            queue.append(child)
    return result


def session_of(pid):
    """The session id of pid, or None when it is gone."""
    fields = _stat_fields(pid)
    return int(fields[3]) if fields is not None else None


def session_pids(sid):
    """Every live pid in session sid."""
    result = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields is not None and fields[0] != b"Z" and int(fields[3]) == sid:
                result.append(int(name))
    return result


def kill_quietly(pid, sig=signal.SIGKILL):
    """Send sig to pid, ignoring a process that is already gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def kill_session(process):
    """SIGKILL the whole session (process group) that process leads, and
    reap process; a session that is already gone is no error."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def run(argv, input=None, timeout=120, check=True, env=None):
    """Run a command, capture its output, and raise with all of it on failure.

    The error message carries the command, exit status, stdout and stderr,
    which is what a reader of a failed test needs first.
    """
    proc = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise CommandFailed(argv, proc)
    return proc


class CommandFailed(Exception):
    """A command run by the harness exited non-zero."""

    def __init__(self, argv, proc):
        self.argv = argv
        self.proc = proc
        super().__init__("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(argv), proc.returncode,
            proc.stdout.decode("utf-8", "replace").strip(),
            proc.stderr.decode("utf-8", "replace").strip()))
