"""Crash safety of a multi-folder IMAP move (issue 3, item 6): kill -9 of
the worker, of the mailmove service and of the whole target Dovecot at
random moments of a multi-thousand-message move; after the last kill the
move goes on by itself, and in the end every legacy message is at the
target exactly once, checked by SHA-256 with the whole-tree comparison.

The kill moments are random message counts at the target (seeded, spread
over 3% to 90% of the move, each after some progress since the last
kill), so the kills hit saves, commits, checkpoint writes and folder
changes alike whatever the speed of the machine. The kinds of kill take turns: the mailmove-worker process; the
mailmove service (Dovecot starts a new one, which takes the job up again,
while the old worker may still be running); the Dovecot master with every
child at once, after which Dovecot is started again as after a power cut.

Sizes:
  MAILMOVE_IT_CRASH_MESSAGES  legacy messages of the move (default 3000)
  MAILMOVE_IT_CRASH_KILLS     kills (default 15, at least 10 count)
  MAILMOVE_IT_CRASH_KINDS     the kinds of kill that take turns (default
                              "worker service dovecot"; one alone helps
                              to tell which one loses or duplicates mail)
  MAILMOVE_IT_TIMEOUT         seconds a move may take (default 300)
"""

import imaplib
import os
import random
import signal
import time

from lib import clients, mailmove, move_steps, procs, tree_corpus
from lib.dovecot import User
from lib.imap_tree import mutf7_encode
from lib.scenario import check, check_equal, note, scenario
from lib.tree_compare import check_tree
from lib.tree_servers import TreeLegacyInstance, TreeTargetInstance, TreeWorld

DOMAIN = "example.com"
USER = "crash@example.com"
LEGACY_PASSWORD = 'Cr"ash\\9'
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
MESSAGES = int(os.environ.get("MAILMOVE_IT_CRASH_MESSAGES", "3000"))
KILLS = int(os.environ.get("MAILMOVE_IT_CRASH_KILLS", "15"))
MIN_KILLS = 10
KINDS = tuple(os.environ.get("MAILMOVE_IT_CRASH_KINDS", "worker service dovecot").split())


def crash_tree(total):
    """Six folders, nested and special ones, holding `total` messages."""
    F = tree_corpus.FolderSpec
    share = lambda part: max(1, total * part // 100)  # noqa: E731
    return tree_corpus.LegacyTree("legacy Dovecot", [
        F(["INBOX"], ["INBOX"], messages=share(40), subscribed=True),
        F(["Verschickt"], ["Sent"], role="\\Sent", legacy_use="\\Sent", messages=share(15)),
        F(["Archives"], ["Archive"], role="\\Archive", messages=share(5)),
        F(["Archives", "2019"], ["Archive", "2019"], messages=share(10)),
        F(["Projekte"], ["Projekte"], implicit=True),
        F(["Projekte", "Kunde A"], ["Projekte", "Kunde A"], messages=share(10)),
        F(["Работа"], ["Работа"], messages=share(10)),
        F(["已删除"], ["Trash"], role="\\Trash", messages=share(10)),
    ], prefix="", separator="/")


class World(TreeWorld):
    """The legacy Dovecot with one big tree, the target (retries after a
    killed worker come within a second or two) and its inspector."""

    def __init__(self, workdir):
        self.legacy = TreeLegacyInstance(workdir, users=[User(USER, LEGACY_PASSWORD)])
        self.target = TreeTargetInstance(
            workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path,
            # four legacy connections: kill -9 also while several
            # folders move at once (src/move/folder-readers.h)
            users=[User(USER, "target-crash-pw", userdb_mailmove_source_password=LEGACY_PASSWORD,
                        userdb_mailmove_folder_connections="4")],
            plugin_settings={"mailmove_retry_delay": "1s", "mailmove_retry_max_delay": "2s"})
        self.inspector = self.target.inspector(workdir)
        self.tree = crash_tree(MESSAGES)

    def start(self):
        self.require_product()
        self.legacy.start()
        started = time.monotonic()
        generator = tree_corpus.TreeCorpus(61, DOMAIN, USER, max_attachment=20_000)
        mail = generator.tree_messages(self.tree)
        count = tree_corpus.seed_tree(self.legacy.ports["imap"], USER, LEGACY_PASSWORD,
                                      self.tree, mail)
        note("legacy tree seeded over IMAP in %.1f s: %d folders, %d messages, %.1f MB",
             time.monotonic() - started, len(self.tree.folders), count,
             sum(len(m.raw) for ms in mail.values() for m in ms) / 1e6)
        self.target.start()
        self.inspector.start()
        move_steps.create_special_folders(self.target, USER)



class TargetCounter:
    """Counts the messages in the target's folders through the inspector,
    with one IMAP session kept open (STATUS per folder, a few ms)."""

    def __init__(self, inspector, folders):
        self.inspector = inspector
        self.folders = [mutf7_encode(name) for name in folders]
        self.conn = None

    def count(self):
        if self.conn is None:
            self.conn = imaplib.IMAP4("127.0.0.1", self.inspector.ports["imap"], timeout=30)
            self.conn.login(USER, self.inspector.users[USER].password)
        total = 0
        for folder in self.folders:
            typ, data = self.conn.status('"%s"' % folder, "(MESSAGES)")
            if typ == "OK":
                total += int(data[0].decode().rsplit("MESSAGES", 1)[1].strip(" )"))
        return total

    def close(self):
        if self.conn is not None:
            try:
                self.conn.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
            self.conn = None


def kill_worker(world):
    """None when there was no worker to kill because the move had ended
    (its last messages can go in the moment between reaching the kill's
    count and looking for the worker)."""
    try:
        pids = procs.wait_until(lambda: world.target.service_pids("mailmove-worker"), 15,
                                0.01, "a mailmove-worker process")
    except TimeoutError:
        if mailmove.status(world.target, USER)["state"] in ("done", "synced"):
            return None
        raise
    for pid in pids:
        procs.kill_quietly(pid, signal.SIGKILL)
    return "mailmove-worker %s" % pids


def kill_service(world):
    pid = procs.wait_until(world.target.mailmove_service_pid, 15, 0.01,
                           "the mailmove service process")
    procs.kill_quietly(pid, signal.SIGKILL)
    return "mailmove service %d" % pid


def kill_dovecot(world):
    """SIGKILL the master and every process below it at once, then start
    Dovecot again with the same configuration and state."""
    target = world.target
    master = target.master_pid
    # The daemonised master leads its session: a child it was forking
    # while the tree was read is in no snapshot of the tree, but in the
    # session (one such, left holding the listeners, made the restart
    # fail with "Socket already exists").
    session = master if procs.session_of(master) == master else None
    tree = [master] + procs.descendants(master)
    for pid in tree:
        procs.kill_quietly(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while session is not None and time.monotonic() < deadline:
        stray = procs.session_pids(session)
        if not stray:
            break
        for pid in stray:
            procs.kill_quietly(pid, signal.SIGKILL)
            if pid not in tree:
                tree.append(pid)
        time.sleep(0.01)
    procs.wait_until(lambda: not any(procs.pid_alive(pid) for pid in tree), 10, 0.01,
                     "the killed Dovecot processes to be gone")
    # The new master must not be mistaken for the dead one.
    pid_file = os.path.join(target.base_dir, "master.pid")
    if os.path.exists(pid_file):
        os.unlink(pid_file)
    target.master_pid = None
    target.start()
    return "Dovecot master %d and %d children (restarted: master %d)" % (
        master, len(tree) - 1, target.master_pid)


KILLERS = {"worker": kill_worker, "service": kill_service, "dovecot": kill_dovecot}


def wait_for_count(counter, watch, threshold):
    """Wait until the target holds threshold messages (True) or the move
    ended (False). The count is looked at every 10 ms, the job's state
    (a doveadm call) every half second."""
    deadline = time.monotonic() + TIMEOUT
    next_status = 0
    while time.monotonic() < deadline:
        if counter.count() >= threshold:
            return True
        if time.monotonic() >= next_status:
            if watch.poll()["state"] in ("done", "synced", "failed"):
                return counter.count() >= threshold
            next_status = time.monotonic() + 0.5
        time.sleep(0.01)
    raise AssertionError("no %d messages at the target after %d s: %s" % (
        threshold, TIMEOUT, mailmove.describe(watch.last)))


@scenario("c-kill-9-at-random-points-then-every-message-once")
def kill_during_move(world):
    """The move of crash@ is killed KILLS times (worker, service, whole
    Dovecot in turn) at random message counts; it then finishes by itself
    and a final foreground run finds nothing left; the whole-tree
    comparison shows every message exactly once."""
    target, tree = world.target, world.tree
    expected = sum(spec.messages for spec in tree.folders)  # before \Deleted and copies
    rng = random.Random(4711)
    thresholds = sorted(rng.sample(range(max(1, expected * 3 // 100), expected * 90 // 100),
                                   KILLS))
    counter = TargetCounter(world.inspector, [spec.target_name() for spec in tree.folders
                                              if spec.target is not None])
    mark = target.log_mark()
    started = time.monotonic()
    clients.timed_imap_login(target, USER)
    watch = mailmove.JobWatch(target, USER)
    hits = []
    try:
        for number, threshold in enumerate(thresholds):
            kind = KINDS[number % len(KINDS)]
            # Each kill comes after the move made progress since the last.
            threshold = max(threshold, hits[-1][1] + 1 if hits else 0)
            if not wait_for_count(counter, watch, threshold):
                note("kill %d: the move ended before %d messages: %s", number + 1, threshold,
                     mailmove.describe(watch.last))
                break
            what = KILLERS[kind](world)
            if what is None:
                note("kill %d: the move ended before the kill: %s", number + 1,
                     mailmove.describe(watch.last))
                break
            at_kill = counter.count()
            hits.append((kind, at_kill))
            note("kill %2d at %4d of ~%d messages (%5.1f s): SIGKILL to %s", number + 1,
                 at_kill, expected, time.monotonic() - started, what)
    finally:
        counter.close()
    row = watch.wait(lambda r: r["state"] in ("done", "synced", "failed"), TIMEOUT,
                     "the move to finish by itself after the last kill")
    note("after the kills: %s (%.1f s since the login; states %s)", mailmove.describe(row),
         time.monotonic() - started, watch.history())
    check(row["state"] != "failed", "the move failed after the kills: %r", row["last_error"])
    final = move_steps.run_move(target, USER, TIMEOUT, want_saved=0)

    targets = {spec.target_name() for spec in tree.folders if spec.target is not None}
    result = check_tree("kill -9 x%d: legacy Dovecot -> target (%s)" % (len(hits), USER),
                        world.legacy, USER, world.inspector, USER, tree,
                        legacy_password=LEGACY_PASSWORD,
                        extra_folders={name: False for name in
                                       tree_corpus.TARGET_SPECIAL_USE.values()
                                       if name not in targets})
    check_equal(final["messages_done"], result.totals()["expected_count"],
                "messages_done of the final run")
    mid_move = [h for h in hits if 0 < h[1] < result.totals()["expected_count"]]
    note("%d kills in the middle of the move: %s", len(mid_move),
         ", ".join("%s@%d" % h for h in mid_move))
    check(len(mid_move) >= MIN_KILLS, "only %d kills hit the middle of the move (%d needed): "
          "raise MAILMOVE_IT_CRASH_MESSAGES (now %d)", len(mid_move), MIN_KILLS, MESSAGES)
    panics = [line for line in target.log_since(mark).splitlines() if "Panic:" in line]
    check(not panics, "panics in the target log:\n%s", "\n".join(panics[:10]))
