"""Who may queue a move, against a real Dovecot with the installed plugin:
the notify socket (mode 0666) believes a LOGIN only from root or from the
uid userdb gives the named user; a local account that floods it with
forged names or idle connections neither creates jobs, nor opens a
migration window, nor starts a worker, nor blocks doveadm and real
logins. And a full state directory at start: the service runs, says so in
`status` and catches up when space returns.

Targets (no legacy server is needed: nothing has to move):
  trust  mailmove_max_workers = 0, so queued jobs stay queued
  full   its state directory's mailmove/ on a small tmpfs
"""

import os
import socket
import subprocess
import time

from lib import admin, mailmove, procs
from lib.dovecot import MAIL_UID, TargetInstance, User, stop_all
from lib.scenario import check, check_equal, note, scenario

NOBODY = 65534
OTHER_UID = MAIL_UID + 1
SOURCE = "imap://127.0.0.1:9"
USERS = [User("alice@trust.test", "alice-pw"), User("bob@trust.test", "bob-pw"),
         User("carol@trust.test", "carol-pw"), User("dave@trust.test", "dave-pw"),
         User("other@trust.test", "other-pw", userdb_uid=str(OTHER_UID))]
FULL_USER = "runner@full.test"


class World:
    def __init__(self, workdir):
        self.trust = TargetInstance(workdir, SOURCE, name="trust", users=USERS,
                                    plugin_settings={"mailmove_max_workers": "0"})
        self.full = TargetInstance(workdir, SOURCE, name="full",
                                   users=[User(FULL_USER, "runner-pw")],
                                   plugin_settings={"mailmove_max_workers": "0"})
        self.tmpfs = os.path.join(self.full.state_dir, "mailmove")
        self.mounted = False

    def start(self):
        self.trust.start()

    def stop(self):
        stop_all([self.trust, self.full])
        if self.mounted:
            subprocess.run(["umount", "-l", self.tmpfs], check=False)
            self.mounted = False

    def logs(self):
        return [("%s log (tail)" % t.name, t.log_tail(40)) for t in (self.trust, self.full)]


def rows_by_user(target):
    return {row["user"]: row for row in mailmove.status_rows(target, "-A")}


def windows(target):
    return {row["scope"] for row in admin.mailmove(target, "window").rows}


def refusals(target, mark):
    return target.log_since(mark).count("Ignored a login notification")


@scenario("a-forged-logins-create-nothing")
def forged_logins(world):
    """As uid nobody, 50 LOGIN forgedN@victim.example and the names of real
    users (of the mail uid and of another uid); as the mail uid, a real
    user of another uid: no job, no window, no worker, no restart. Root's
    and the user's own uid's notifications are believed."""
    target = world.trust
    # The service starts on its first connection: start it, so that a
    # restart caused by the forged logins shows as a new pid.
    rows_by_user(target)
    service_pid = procs.wait_until(target.mailmove_service_pid, 10,
                                   what="the mailmove service to start")
    mark = target.log_mark()
    forged = [("forged%d@victim.example" % i, ["source=" + SOURCE]) for i in range(50)]
    # With a source: one without (and no domain enabled) is dropped unread.
    real = [("alice@trust.test", ["source=" + SOURCE, "password=planted-by-nobody"]),
            ("other@trust.test", ["source=" + SOURCE])]
    admin.notify_logins(target, forged + real, peer_uid=NOBODY)
    admin.notify_logins(target, [("other@trust.test", ["source=" + SOURCE])], peer_uid=MAIL_UID)
    # Lookups are asynchronous: wait for the verdicts.
    procs.wait_until(lambda: refusals(target, mark) >= 10, 10,
                     what="the service to refuse the forged logins")
    time.sleep(1)
    log = target.log_since(mark)
    note("service: %s", next(line for line in log.splitlines()
                             if "Ignored a login notification" in line).split("mailmove: ")[-1])
    check_equal(rows_by_user(target), {}, "jobs after forged notifications")
    check_equal(windows(target), set(), "migration windows after forged notifications")
    check_equal(target.service_pids("mailmove-worker"), [], "workers after forged notifications")
    check("sent by uid %d, but the user's mail processes run as uid %d" % (MAIL_UID, OTHER_UID)
          in log, "the mail uid's notification for other@ was not refused for its uid")
    check("planted-by-nobody" not in log, "the planted password reached the log")
    check_equal(target.mailmove_service_pid(), service_pid, "service pid (no restart)")

    admin.notify_logins(target, [("alice@trust.test", ["source=" + SOURCE])])  # root
    admin.notify_logins(target, [("bob@trust.test", ["source=" + SOURCE])], peer_uid=MAIL_UID)
    admin.notify_logins(target, [("other@trust.test", ["source=" + SOURCE])], peer_uid=OTHER_UID)
    rows = procs.wait_until(lambda: (lambda r: r if len(r) == 3 else None)(rows_by_user(target)),
                            10, what="three believed logins to queue")
    check_equal(sorted(rows), ["alice@trust.test", "bob@trust.test", "other@trust.test"],
                "jobs of believed logins")
    check_equal(rows["alice@trust.test"]["credentials"], "none", "alice@'s credentials")
    check_equal(windows(target), {"trust.test"}, "windows (only the real users' domain)")


class IdleFlood:
    """A child process running as uid holding up to `count` idle
    connections to the notify socket, reconnecting those the service
    closes, until stopped."""

    def __init__(self, path, uid, count):
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.setgid(uid)
                os.setuid(uid)
                self._hold(path, count)
            finally:
                os._exit(0)

    @staticmethod
    def _hold(path, count):
        socks = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            socks = [s for s in socks if not _closed(s)]
            while len(socks) < count:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(0.2)
                try:
                    s.connect(path)
                except OSError:
                    s.close()
                    break
                socks.append(s)
            time.sleep(0.05)

    def stop(self):
        procs.kill_quietly(self.pid)
        os.waitpid(self.pid, 0)


def _closed(sock):
    try:
        sock.setblocking(False)
        data = sock.recv(1)
        closed = data == b""
    except BlockingIOError:
        closed = False
    except OSError:
        closed = True
    if closed:
        sock.close()
    return closed


@scenario("b-idle-connections-do-not-block-admin")
def idle_flood(world):
    """uid nobody keeps ~1000 connections to the notify socket open and
    idle: doveadm mailmove status still answers, and a real IMAP login
    still queues its move."""
    target = world.trust
    flood = IdleFlood(os.path.join(target.base_dir, "mailmove"), NOBODY, 1000)
    try:
        time.sleep(3)  # the flood is at full strength
        started = time.monotonic()
        result = admin.mailmove(target, "status", "-A", timeout=30)
        took = time.monotonic() - started
        note("doveadm mailmove status -A under the flood: %.2f s, exit %d", took, result.code)
        check_equal(result.code, admin.EX_OK, "status exit code under the flood")
        check(took < 5, "status took %.1f s under the flood", took)
        started = time.monotonic()
        admin.imap_authenticate(target, "carol@trust.test", "carol-pw")
        row = mailmove.JobWatch(target, "carol@trust.test").wait(
            lambda r: r["state"] == "queued", 15, "carol@'s login to queue under the flood")
        note("carol@ queued %.2f s after her login under the flood",
             time.monotonic() - started)
        check_equal(row["state"], "queued", "carol@ after her login")
    finally:
        flood.stop()
    log = target.log_since(0)
    check("Closed" in log and "uid %d has" % NOBODY in log,
          "the service did not report the connections it refused")


def fill(path):
    """Fill the file system of path with a file; returns the file."""
    filler = os.path.join(path, "filler")
    # Unbuffered: a buffered file keeps what it could not write and
    # raises ENOSPC again when it is closed.
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def admin_begin_run(target, user):
    """RUN-BEGIN on the admin socket, as doveadm mailmove run does: the job
    is running. The connection is returned to be kept open."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(os.path.join(target.base_dir, "mailmove-admin"))
    sock.sendall(("VERSION\tmailmove-admin\t1\t0\nRUN-BEGIN\t%s\tsource=%s\n" %
                  (user, SOURCE)).encode())
    reply = b""
    while b"OK\n" not in reply and b"ERR" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    check(b"OK\n" in reply, "RUN-BEGIN was refused: %r", reply)
    return sock


def pad_journal_page(target, state_dir):
    """A full tmpfs still takes appends into the free end of a file's last
    page: more running jobs until the journal's last page has less room
    than one job record (about 340 bytes), so that the restart's requeue
    records need a page the full disk cannot give. Returns the runs'
    connections, to be kept open until the kill."""
    journal = os.path.join(state_dir, "jobs.journal")
    socks = []
    while 4096 - os.path.getsize(journal) % 4096 >= 300:
        check(len(socks) < 20, "the journal does not grow with running jobs")
        socks.append(admin_begin_run(target, "pad%d@full.test" % len(socks)))
    note("journal: %d bytes after %d more running jobs", os.path.getsize(journal), len(socks))
    return socks


@scenario("c-full-state-dir-at-start")
def full_state_dir(world):
    """The service is killed while a move runs, and restarts with its state
    directory's file system full: it starts (no fatal restart loop),
    status shows service_error, and once space is freed the requeue is
    written and service_error clears."""
    target = world.full
    os.makedirs(world.tmpfs, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,nr_inodes=4096,mode=0700", "tmpfs", world.tmpfs],
                   check=True)
    world.mounted = True
    target.start()
    sock = admin_begin_run(target, FULL_USER)
    check_equal(mailmove.status(target, FULL_USER)["state"], "running", "state after RUN-BEGIN")
    pads = pad_journal_page(target, world.tmpfs)
    filler = fill(world.tmpfs)
    note("state dir: %s", subprocess.run(["df", "-h", world.tmpfs], capture_output=True,
                                         text=True).stdout.splitlines()[-1])
    old_pid = target.mailmove_service_pid()
    mark = target.log_mark()
    os.kill(old_pid, 9)
    for pad in [sock] + pads:
        pad.close()

    new_pid = procs.wait_until(lambda: (lambda p: p if p not in (None, old_pid) else None)(
        target.mailmove_service_pid()), 20, what="the mailmove service to restart")
    time.sleep(3)
    check_equal(target.mailmove_service_pid(), new_pid, "service pid 3 s after its restart")
    log = target.log_since(mark)
    # The master reports our kill -9 as "Fatal: ... killed with signal 9".
    fatal = [line for line in log.splitlines()
             if "Fatal" in line and "killed with signal 9" not in line]
    check(not fatal, "the service failed at start:\n%s", "\n".join(fatal))
    row = mailmove.status(target, FULL_USER)
    note("status under a full disk: state=%s service_error=%r", row["state"],
         row.get("service_error"))
    check_equal(row["state"], "queued", "state of the interrupted move")
    check("No space left on device" in row.get("service_error", ""),
          "service_error does not name the full disk: %r", row.get("service_error"))

    os.unlink(filler)
    row = mailmove.JobWatch(target, FULL_USER).wait(
        lambda r: r.get("service_error", "") == "", 30, "service_error to clear after space returns")
    note("caught up: %s", next((line.split("mailmove: ")[-1] for line in
                                target.log_since(mark).splitlines()
                                if "kept in memory while" in line), "(no log line)"))
    # Written: another restart finds the job queued, with nothing to requeue.
    pid = target.mailmove_service_pid()
    mark = target.log_mark()
    os.kill(pid, 9)
    procs.wait_until(lambda: target.mailmove_service_pid() not in (None, pid), 20,
                     what="the mailmove service to restart again")
    row = mailmove.status(target, FULL_USER)
    check_equal((row["state"], row.get("service_error", "")), ("queued", ""),
                "after another restart")
    check("were running when the service stopped" not in target.log_since(mark),
          "the requeue was not written: the restart requeued again")
