"""The admin's side of a migration project: `doveadm mailmove` commands
with their JSON output and exit codes, the legacy server's login record,
and looking for passwords where they must never be.

    rows = admin.mailmove(target, "status", "-A").rows
    admin.mailmove(target, "credentials", "set", "-u", user, stdin=b"pw\\n")
    admin.legacy_login_attempts(legacy, user, mark)   # failed and ok logins
    admin.files_containing(root, secrets)             # [] or what leaked
"""

import collections
import concurrent.futures
import imaplib
import json
import os
import re
import socket
import stat

from . import procs
from .dovecot import DOVEADM, LOGGED_IN

# doveadm's exit codes (sysexits.h and doveadm.h)
EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65  # DOVEADM_EX_NOTPOSSIBLE
EX_NOHOST = 68   # DOVEADM_EX_NOTFOUND
EX_NOPERM = 77


class Result(collections.namedtuple("Result", "code rows stdout stderr")):
    """A doveadm run: exit code, JSON rows (a list of dicts), raw output."""


def mailmove(instance, *args, stdin=None, fmt="json", timeout=120):
    """Run `doveadm -c CONFIG [-f fmt] mailmove ARGS...`; never raises on
    a non-zero exit (scenarios check the exit codes)."""
    argv = [DOVEADM, "-c", instance.config_path]
    if fmt:
        argv += ["-f", fmt]
    proc = procs.run(argv + ["mailmove"] + list(args), input=stdin or b"", check=False,
                     timeout=timeout)
    stdout = proc.stdout.decode("utf-8", "replace")
    rows = []
    if fmt == "json" and stdout.strip():
        try:
            rows = json.loads(stdout)
        except ValueError as error:
            raise AssertionError("doveadm mailmove %s printed no JSON (%s): %r" % (
                " ".join(args), error, stdout[:500]))
    return Result(proc.returncode, rows, stdout, proc.stderr.decode("utf-8", "replace"))


def by_user(rows):
    return {row["user"]: row for row in rows}


def imap_authenticate(instance, username, password):
    """Log in with AUTHENTICATE PLAIN, which carries any UTF-8 password
    (imaplib's LOGIN only sends ASCII), SELECT INBOX, LOGOUT."""
    conn = imaplib.IMAP4("127.0.0.1", instance.ports["imap"], timeout=30)
    try:
        credentials = b"\0" + username.encode() + b"\0" + password.encode("utf-8")
        conn.authenticate("PLAIN", lambda _: credentials)
        conn.select("INBOX", readonly=True)
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


# 2.3: Login, Disconnected, Aborted login; 2.4: Logged in, Login aborted.
_LOGIN_LINE = re.compile(
    r"-login: Info: (?:Login|Logged in|Disconnected|Aborted login|Login aborted)\b.*user=<([^>]*)>")
_FAILED = re.compile(r"auth failed, (\d+) attempts")


def legacy_login_attempts(legacy, username, mark=0):
    """(failed, succeeded) logins of username at the legacy server since
    mark, from its login processes' log lines."""
    failed = succeeded = 0
    for line in legacy.log_since(mark).splitlines():
        match = _LOGIN_LINE.search(line)
        if not match or match.group(1) != username:
            continue
        if ": %s " % LOGGED_IN in line:
            succeeded += 1
            continue
        attempts = _FAILED.search(line)
        if attempts:
            failed += int(attempts.group(1))
    return failed, succeeded


def files_containing(root, secrets):
    """[(path, secret)] for every file under root holding one of the
    secrets (as UTF-8 bytes): logs, state files, configs..."""
    found = []
    needles = [(secret, secret.encode("utf-8")) for secret in secrets]
    paths = [root] if os.path.isfile(root) else [
        os.path.join(dirpath, name) for dirpath, _, names in os.walk(root) for name in names]
    for path in paths:
        # Only regular files: opening a Dovecot FIFO would wait forever.
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        found += [(path, secret) for secret, needle in needles if needle in data]
    return found


def notify_logins(instance, users, peer_uid=None, at_once=1):
    """Send LOGIN lines straight to the service's notify socket (as the
    login hook does), optionally from a process running as peer_uid.
    users: [(user, extra "key=value" fields)]. at_once: connections open
    at the same time (users' logins come concurrently; the service takes
    16 per uid, README: "Who may queue a move"), each sending in turn."""
    path = os.path.join(instance.base_dir, "mailmove")
    # One LOGIN per connection, as the login hook sends it: the service
    # reads no more than that.
    messages = [("VERSION\tmailmove-notify\t1\t0\n" +
                 "\t".join(["LOGIN", user] + list(fields)) + "\n").encode()
                for user, fields in users]

    def send_all():
        if at_once <= 1:
            for data in messages:
                _send_unix(path, data)
            return
        with concurrent.futures.ThreadPoolExecutor(at_once) as pool:
            for _ in pool.map(lambda data: _send_unix(path, data), messages):
                pass
    as_uid(peer_uid, send_all)


def as_uid(uid, action):
    """Runs action() in a child process running as uid (gid = uid), or here
    when uid is None; raises when it fails."""
    if uid is None:
        action()
        return
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            action()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise AssertionError("running as uid %d failed (status %d)" % (uid, status))


def _send_unix(path, data):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(data)
        # Wait for the service to close it: it has read the line then.
        sock.settimeout(5)
        try:
            sock.recv(1)
        except OSError:
            pass
