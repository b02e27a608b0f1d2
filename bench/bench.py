#!/usr/bin/env python3
"""Benchmark: doveadm mailmove against a tuned doveadm backup (dsync).

    python3 bench/bench.py [--messages N] [--rounds R] [--memory] [--keep]

Run as root with the plugin installed (make install). It starts a private
legacy Dovecot (IMAP, IMAPS) and a target Dovecot with the plugin on
127.0.0.1 (the integration harness, tests/integration/lib), writes a
deterministic account of N messages (bench_corpus.py) into the legacy
Maildir and then, in every round, moves it into an empty target with

  - `doveadm mailmove run -u USER`                 (mailmove run)
  - an IMAP login at the target, until the service logs the move's end
    (status shows done from then on; checked)      (mailmove login)
  - `doveadm backup -R -u USER imapc:` with imapc_features = rfc822.size
    fetch-headers modseq, mail_prefetch_count = 20 (dsync tuned)

each with Dovecot's default mail_fsync and with mail_fsync = never, over
plain IMAP and over IMAPS: 12 runs per round, the tools taking turns.
After every run the target's tree is read over IMAP and compared with the
corpus folder by folder (SHA-256 of every message, flags, keywords,
INTERNALDATE, each message exactly once); any difference stops the
benchmark with exit code 1.

Printed: every run (seconds, msgs/s, MB/s with MB = 10^6 bytes of
RFC822.SIZE, the peak RSS and CPU seconds of the moving process, and
msgs/s against dsync's of the same round, fsync and transport), then the
medians; then the time from a login with an empty target until the newest
100 INBOX messages are visible over IMAP (plain and IMAPS).

--memory instead moves a single 200 MB message and a folder of 100,000
small messages with `doveadm mailmove run` (IMAPS) and prints the peak
RSS of the moving processes.

The moving process: for `mailmove run` and `doveadm backup`, doveadm and
its children (wait4's rusage: ru_maxrss is the largest of them, CPU their
sum); for the login path, the mailmove-worker process, sampled from
/proc every 20 ms (VmHWM; utime + stime of its last sample).
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

from lib import clients, compare, corpus, mailmove  # noqa: E402
from lib.dovecot import (DOVEADM, LegacyInstance, User, require_installed_plugin,  # noqa: E402
                         stop_all)
from lib.imap_tree import examine, list_folders  # noqa: E402
from lib.tree_servers import TreeTargetInstance  # noqa: E402

import bench_corpus  # noqa: E402

DOMAIN = "example.com"
LEGACY_USER = "bench@" + DOMAIN
LEGACY_PASSWORD = "legacy-Bench-7"
RECENT = 100
TIMEOUT = 3600
TOOLS = ("mailmove run", "mailmove login", "dsync tuned")
# --baseline: the same two paths with one legacy connection and the whole
# survey before the first fetch (mailmove_folder_connections = 1,
# mailmove_first_inbox_messages = 0), as moves ran before several folders
# moved at once; and `mailmove run` with one fsync per message
# (mailmove_save_sync = message), as saves were before the batch syncs.
BASELINE_TOOLS = ("mailmove run 1c", "mailmove login 1c", "mailmove run msg-sync")
BASELINE_FIELDS = {"userdb_mailmove_folder_connections": "1",
                   "userdb_mailmove_first_inbox_messages": "0"}
MESSAGE_SYNC_FIELDS = {"userdb_mailmove_save_sync": "message"}
FSYNCS = ("fsync", "no-fsync")
TRANSPORTS = ("imap", "imaps")
IMAPC_TUNING = ["-o", "imapc_features=rfc822.size fetch-headers modseq",
                "-o", "mail_prefetch_count=20"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Runs argv[2:] and writes [seconds, peak RSS in KiB, CPU seconds] of it
# and its children to argv[1]. Linux carries a process's peak RSS over
# fork and exec, so doveadm is started from this small interpreter: forked
# from the benchmark (hundreds of MB of corpus) it would report that.
MEASURED = """
import json, resource, subprocess, sys, time
started = time.monotonic()
code = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1] + ".out", "wb"),
                       stderr=open(sys.argv[1] + ".err", "wb"))
seconds = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump([seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime], out)
sys.exit(code)
"""


class BenchFailure(Exception):
    """A run failed or moved a tree that differs from the corpus."""


class Measurement:
    def __init__(self, seconds, rss_mb, cpu):
        self.seconds, self.rss_mb, self.cpu = seconds, rss_mb, cpu


class BenchTarget(TreeTargetInstance):
    """The target of the tree tests (special-use Sent, Drafts, Trash,
    Junk, Archive), without the plugin's debug logging: protocol traces
    would cost time the product does not spend in production."""

    workers = 4

    def _extra_config(self):
        config = re.sub(r"(?m)^log_debug = .*\n", "", super()._extra_config())
        return config + "plugin {\n  mailmove_max_workers = %d\n}\n" \
            "service mailmove-worker {\n  process_limit = %d\n}\n" % (self.workers, self.workers)


def target_user(label):
    """Every run moves into a target user of its own (a job that was done
    once cannot be made new again: `reset` queues it at once)."""
    return "%s@%s" % (re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-"), DOMAIN)


class World:
    """The legacy Dovecot with the corpus account(s), the target with one
    user per run (userdb fields set mail_fsync and the legacy URL; all of
    them move the same legacy account), and the target's inspector (a
    plain Dovecot on the target's mail, read without the login hook)."""

    def __init__(self, workdir, legacy_users, workers=4):
        self.workdir = workdir
        self.legacy = LegacyInstance(workdir, users=[User(name, LEGACY_PASSWORD)
                                                     for name in legacy_users])
        self.target = BenchTarget(workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path)
        self.target.workers = workers
        self.inspector = None

    def add_target_user(self, name, transport, fsync="fsync", source_user=LEGACY_USER,
                        extra=None):
        fields = {"userdb_mailmove_source": self.legacy.url(transport),
                  "userdb_mailmove_source_user": source_user,
                  "userdb_mailmove_source_password": LEGACY_PASSWORD}
        fields.update(extra or {})
        if transport == "imap":
            fields["userdb_mailmove_source_starttls"] = "no"
        if fsync == "no-fsync":
            fields["userdb_mail_fsync"] = "never"
        self.target.add_user(User(name, "target-pw", **fields))

    def start(self):
        require_installed_plugin()
        self.legacy.start()
        self.target.start()
        self.inspector = self.target.inspector(self.workdir)
        self.inspector.start()

    def stop(self):
        stop_all([i for i in (self.target, self.legacy, self.inspector) if i is not None])
        self.remove_discarded()

    # -- target state ----------------------------------------------------

    def fresh_target(self, user):
        """Check that user's target is empty: no mail, no job."""
        row = mailmove.status(self.target, user)
        if os.path.exists(self.target.home(user)) or row["state"] != "none":
            raise BenchFailure("the target of %s is not empty: %s" % (
                user, mailmove.describe(row)))

    # Set-aside trees are removed early only when less than this is free.
    KEEP_FREE = 4 << 30

    def discard(self, user):
        """Set a verified run's mail aside (10,000 messages are 375 MB) and
        remove it when the benchmark ends, not now: on an ext4 without a
        journal (the test machine's) every new inode is searched for past
        the inodes deleted in the last 60 s (360 s while their table block
        is dirty), so deleting 10,000 files just before the next run made
        each of its file creations scan them, quadratic in the run: perf
        put half of every tool's CPU in ext4's recently_deleted()."""
        home = self.target.home(user)
        if not os.path.exists(home):
            return
        aside = os.path.join(self.workdir, "discarded")
        os.makedirs(aside, exist_ok=True)
        os.rename(home, os.path.join(aside, str(len(os.listdir(aside)))))
        if shutil.disk_usage(aside).free < self.KEEP_FREE:
            print("(disk nearly full: removing the moved trees now; the next run pays "
                  "for the deleted inodes)", flush=True)
            self.remove_discarded()

    def remove_discarded(self):
        shutil.rmtree(os.path.join(self.workdir, "discarded"), ignore_errors=True)

    def verify(self, user, expected, label):
        """The target tree of user holds exactly the expected records
        ({folder: [Record]}), read through the inspector."""
        problems = tree_problems(self.inspector, user, None, expected, ("corpus", "target"))
        if problems:
            raise BenchFailure("%s: the target tree of %s differs from the corpus:\n%s" % (
                label, user, "\n".join(problems)))

    def check_legacy(self, expected, user=LEGACY_USER):
        """The legacy account holds the corpus. Reading it all also warms
        the legacy Dovecot's indexes and caches, as a live server's are."""
        problems = tree_problems(self.legacy, user, LEGACY_PASSWORD, expected,
                                 ("corpus", "legacy"))
        if problems:
            raise BenchFailure("the legacy server does not hold the corpus:\n%s" %
                               "\n".join(problems))


def tree_problems(instance, user, password, expected, names):
    """What differs between a user's folders at an instance and the
    expected records ({folder: [Record]}): the same folders, and in each
    one every message once with the same bytes, flags and INTERNALDATE."""
    problems = []
    with clients.imap_session(instance, user, password) as conn:
        listed = {f.name: f for f in list_folders(conn)}
        if set(listed) != set(expected):
            problems.append("folders: missing %s, unexpected %s" % (
                sorted(set(expected) - set(listed)), sorted(set(listed) - set(expected))))
        for name in sorted(set(listed) & set(expected)):
            examine(conn, listed[name].raw)
            diff = compare.diff(expected[name], compare.fetch_records(conn), names)
            if diff:
                problems.append("%s: %s" % (name, compare.summarize(diff, 10)))
    return problems


# -- measuring -------------------------------------------------------------

def measured_doveadm(world, args, label):
    """doveadm -c TARGET args..., run from MEASURED: (Measurement, stdout)."""
    report = os.path.join(world.workdir, "measured.json")
    argv = [sys.executable, "-c", MEASURED, report, DOVEADM, "-c", world.target.config_path]
    proc = subprocess.run(argv + list(args), timeout=TIMEOUT)
    with open(report) as f:
        seconds, rss_kb, cpu = json.load(f)
    with open(report + ".out", "rb") as f:
        out = f.read().decode("utf-8", "replace")
    with open(report + ".err", "rb") as f:
        err = f.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise BenchFailure("%s: doveadm %s exited %d\nstdout: %s\nstderr: %s" % (
            label, " ".join(a for a in args if "password" not in a), proc.returncode,
            out[-2000:], err[-3000:]))
    return Measurement(seconds, rss_kb / 1024, cpu), out


def run_mailmove(world, user, label, count):
    measurement, out = measured_doveadm(world, ["-f", "json", "mailmove", "run", "-u", user],
                                        label)
    row = json.loads(out)[0]
    if row.get("result") != "done" or int(row.get("saved") or 0) != count:
        raise BenchFailure("%s: doveadm mailmove run ended %r, saved %s of %d: %r" % (
            label, row.get("result"), row.get("saved"), count, row))
    return measurement


def run_dsync(world, user, transport, label):
    legacy = world.legacy
    options = ["-o", "imapc_host=127.0.0.1", "-o", "imapc_port=%d" % legacy.ports[transport],
               "-o", "imapc_user=%s" % LEGACY_USER, "-o", "imapc_password=%s" % LEGACY_PASSWORD,
               "-o", "imapc_ssl=%s" % ("imaps" if transport == "imaps" else "no"),
               "-o", "ssl_client_ca_file=%s" % legacy.cert_path] + IMAPC_TUNING
    measurement, _ = measured_doveadm(world, options + ["backup", "-R", "-u", user, "imapc:"],
                                      label)
    return measurement


class WorkerSampler(threading.Thread):
    """Peak RSS (VmHWM) and CPU time of the mailmove-worker processes that
    appear after start, read from /proc every 20 ms until stopped (the
    /proc scan for new workers every 100 ms)."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target = target
        self.before = set(target.service_pids("mailmove-worker"))
        self.peak_kb = {}
        self.cpu = {}
        self.done = threading.Event()

    def run(self):
        next_scan = 0
        while not self.done.is_set():
            if time.monotonic() >= next_scan:
                for pid in self.target.service_pids("mailmove-worker"):
                    if pid not in self.before:
                        self.peak_kb.setdefault(pid, 0)
                next_scan = time.monotonic() + 0.1
            for pid in list(self.peak_kb):
                self.sample(pid)
            self.done.wait(0.02)

    def sample(self, pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_kb[pid] = max(self.peak_kb[pid], int(line.split()[1]))
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            pass

    def finish(self):
        self.done.set()
        self.join()
        return max(self.peak_kb.values(), default=0) / 1024, sum(self.cpu.values())


class RecentWatcher(threading.Thread):
    """Polls the target's INBOX (through the inspector) every 50 ms until
    the messages with the given Message-IDs are all there; `seconds` is
    then the time since `started`."""

    MESSAGE_ID = re.compile(rb"(?im)^Message-ID:\s*(<[^>\r\n]*>)")
    UID = re.compile(rb"\bUID (\d+)")

    def __init__(self, inspector, user, message_ids, started):
        super().__init__(daemon=True)
        self.inspector, self.user = inspector, user
        self.wanted = set(message_ids)
        self.started = started
        self.seconds = None
        self.error = None
        self.done = threading.Event()

    def run(self):
        try:
            with clients.imap_session(self.inspector, self.user) as conn:
                self.poll(conn)
        except Exception as error:  # noqa: BLE001 - reported by the caller
            self.error = error

    def poll(self, conn):
        seen, last_uid = set(), 0
        while not self.done.is_set():
            typ, data = conn.select("INBOX", readonly=True)
            if typ == "OK" and int(data[0] or 0) > len(seen):
                typ, data = conn.uid("FETCH", "%d:*" % (last_uid + 1),
                                     "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                for item in data or ():
                    if not isinstance(item, tuple):
                        continue
                    uid = self.UID.search(item[0])
                    if not uid or int(uid.group(1)) <= last_uid:
                        continue
                    last_uid = max(last_uid, int(uid.group(1)))
                    found = self.MESSAGE_ID.search(item[1])
                    seen.add(found.group(1).decode() if found else "uid %s" % uid.group(1))
                if self.wanted <= seen:
                    self.seconds = time.monotonic() - self.started
                    return
            self.done.wait(0.05)

    def finish(self):
        self.done.set()
        self.join()


def wait_for_end(world, user, mark, label):
    """Wait until the service logs the end of user's move (it writes the
    job first, so status shows the end from then on) and return the
    status row. The log is read every 20 ms; `doveadm mailmove status`
    only every 5 s as a fallback: ten doveadm processes a second would
    take a good part of a core from the move being measured."""
    ended = re.compile(r"mailmove: \w+: %s: Move (done|synced|failed)" % re.escape(user))
    deadline = time.monotonic() + TIMEOUT
    next_status = time.monotonic() + 5
    while time.monotonic() < deadline:
        if ended.search(world.target.log_since(mark)):
            return mailmove.status(world.target, user)
        if time.monotonic() >= next_status:
            row = mailmove.status(world.target, user)
            if row["state"] in ("done", "failed", "auth-failed", "paused", "expired"):
                return row
            next_status = time.monotonic() + 5
        time.sleep(0.02)
    raise BenchFailure("%s: %s's move did not end in %d s: %s" % (
        label, user, TIMEOUT, mailmove.describe(mailmove.status(world.target, user))))


def run_login(world, user, label, count, recent_ids=None):
    """An IMAP login at the target starts the move; wait until status
    shows it done. recent_ids: also time until those INBOX messages are
    visible (returns the seconds as well)."""
    sampler = WorkerSampler(world.target)
    sampler.start()
    mark = world.target.log_mark()
    started = time.monotonic()
    clients.timed_imap_login(world.target, user)
    watcher = None
    if recent_ids:
        watcher = RecentWatcher(world.inspector, user, recent_ids, started)
        watcher.start()
    try:
        row = wait_for_end(world, user, mark, label)
    finally:
        seconds = time.monotonic() - started
        rss_mb, cpu = sampler.finish()
        if watcher:
            watcher.finish()
    if row["state"] != "done" or row["messages_done"] != count:
        raise BenchFailure("%s: the move of %s ended %s" % (label, user, mailmove.describe(row)))
    measurement = Measurement(seconds, rss_mb, cpu)
    if watcher is None:
        return measurement
    if watcher.error or watcher.seconds is None:
        raise BenchFailure("%s: the newest %d INBOX messages were never seen: %s" % (
            label, len(recent_ids), watcher.error or "not all there when the move ended"))
    return measurement, watcher.seconds


# -- the throughput rounds -------------------------------------------------

def median(values):
    return statistics.median(values) if values else float("nan")


class Table:
    """Every run's figures, and the medians per variant."""

    def __init__(self, count, megabytes):
        self.count, self.megabytes = count, megabytes
        self.runs = []  # (round, tool, fsync, transport, Measurement)

    def add(self, number, tool, fsync, transport, measurement):
        self.runs.append((number, tool, fsync, transport, measurement))
        print("  %s" % self.line(self.runs[-1]), flush=True)

    def dsync_rate(self, number, fsync, transport):
        for n, tool, f, t, m in self.runs:
            if (n, tool, f, t) == (number, "dsync tuned", fsync, transport):
                return self.count / m.seconds
        return None

    def ratio(self, run):
        number, tool, fsync, transport, m = run
        dsync = self.dsync_rate(number, fsync, transport)
        return (self.count / m.seconds) / dsync if dsync else None

    def line(self, run):
        number, tool, fsync, transport, m = run
        ratio = self.ratio(run)
        return "%5d  %-17s %-9s %-6s %8.2f %9.0f %7.1f %8.1f %7.2f %8s" % (
            number, tool, fsync, transport, m.seconds, self.count / m.seconds,
            self.megabytes / m.seconds, m.rss_mb, m.cpu,
            "%.2f" % ratio if ratio and tool != "dsync tuned" else "")

    HEADER = "round  %-17s %-9s %-6s %8s %9s %7s %8s %7s %8s" % (
        "tool", "fsync", "via", "seconds", "msgs/s", "MB/s", "RSS MB", "CPU s", "vs dsync")

    def print(self):
        print("\nEvery run (%d messages, %.1f MB; ratio = msgs/s / dsync tuned's msgs/s of the "
              "same round, fsync and transport):" % (self.count, self.megabytes))
        print(self.HEADER)
        for run in self.runs:
            print(self.line(run))
        print("\nMedians over the rounds:")
        print("%-17s %-9s %-6s %8s %9s %7s %8s %7s %8s" % (
            "tool", "fsync", "via", "seconds", "msgs/s", "MB/s", "RSS MB", "CPU s", "vs dsync"))
        for fsync in FSYNCS:
            for transport in TRANSPORTS:
                for tool in TOOLS + BASELINE_TOOLS:
                    runs = [r for r in self.runs if r[1:4] == (tool, fsync, transport)]
                    if not runs:
                        continue
                    seconds = median([r[4].seconds for r in runs])
                    ratios = [self.ratio(r) for r in runs if self.ratio(r)]
                    print("%-17s %-9s %-6s %8.2f %9.0f %7.1f %8.1f %7.2f %8s" % (
                        tool, fsync, transport, seconds,
                        median([self.count / r[4].seconds for r in runs]),
                        median([self.megabytes / r[4].seconds for r in runs]),
                        median([r[4].rss_mb for r in runs]), median([r[4].cpu for r in runs]),
                        "%.2f" % median(ratios) if ratios and tool != "dsync tuned" else ""))


def throughput(world, args):
    started = time.monotonic()
    messages = bench_corpus.BenchCorpus().mailbox(args.messages)
    corpus.write_maildir(world.legacy.maildir(LEGACY_USER), messages)
    expected = bench_corpus.by_folder(messages)
    megabytes = corpus.total_bytes(messages) / 1e6
    inbox = sorted((m for m in messages if m.folder == "INBOX"), key=lambda m: m.internaldate)
    recent_ids = [re.search(rb"(?im)^Message-ID:\s*(<[^>\n]*>)", m.raw).group(1).decode()
                  for m in inbox[-RECENT:]]
    del messages, inbox
    print("corpus: %d messages, %.1f MB in %d folders, written in %.1f s" % (
        args.messages, megabytes, len(expected), time.monotonic() - started), flush=True)

    variants = [(fsync, transport) for fsync in args.fsync for transport in args.via]
    tools = TOOLS + (BASELINE_TOOLS if args.baseline else ())
    runs = []
    for number in range(1, args.rounds + 1):
        # The tools take turns; each round starts with another one.
        order = tools[number % len(tools):] + tools[:number % len(tools)]
        runs += [(number, tool, fsync, transport) for fsync, transport in variants
                 for tool in order]
    # A user's job stays after its move: each repetition logs in another.
    recent = [("recent" if n == 0 else "recent%d" % (n + 1), tool, "fsync", transport)
              for n in range(args.recent_rounds) for transport in args.via
              for tool in ("mailmove login",) + (("mailmove login 1c",) if args.baseline else ())]
    connections = {"userdb_mailmove_folder_connections": str(args.connections)}
    for number, tool, fsync, transport in runs + recent:
        if tool.endswith(" 1c"):
            extra = BASELINE_FIELDS
        elif tool.endswith(" msg-sync"):
            extra = dict(connections, **MESSAGE_SYNC_FIELDS)
        else:
            extra = connections
        world.add_target_user(target_user("%s %s %s %s" % (number, tool, fsync, transport)),
                              transport, fsync, extra=extra)
    world.start()
    # The legacy server reads (and indexes) its Maildir once, as a live
    # server has long done, and must hold the corpus.
    started = time.monotonic()
    world.check_legacy(expected)
    print("legacy Dovecot holds the corpus (read over IMAP in %.1f s)" % (
        time.monotonic() - started), flush=True)

    table = Table(args.messages, megabytes)
    print("\n" + Table.HEADER, flush=True)
    for number, tool, fsync, transport in runs:
        label = "round %d %s %s %s" % (number, tool, fsync, transport)
        user = target_user("%s %s %s %s" % (number, tool, fsync, transport))
        world.fresh_target(user)
        if tool.startswith("mailmove run"):
            m = run_mailmove(world, user, label, args.messages)
        elif tool.startswith("mailmove login"):
            m = run_login(world, user, label, args.messages)
        else:
            m = run_dsync(world, user, transport, label)
        world.verify(user, expected, label)
        world.discard(user)
        table.add(number, tool, fsync, transport, m)
    table.print()

    print("\nTime to recent mail: a login with an empty target (default fsync), until the "
          "newest %d INBOX messages are visible over IMAP at the target:" % RECENT)
    times = {}
    # The variants take turns, so a change in the machine's load falls on all.
    for number, tool, fsync, transport in recent:
        label = "%s %s" % (number, transport)
        user = target_user("%s %s %s %s" % (number, tool, fsync, transport))
        world.fresh_target(user)
        m, seconds = run_login(world, user, label, args.messages, recent_ids)
        world.verify(user, expected, label)
        world.discard(user)
        times.setdefault((tool, transport), []).append(seconds)
        print("  %-17s via %-6s newest %d visible after %.2f s (whole move %.1f s)" % (
            tool, transport, RECENT, seconds, m.seconds), flush=True)
    if args.recent_rounds > 1:
        for (tool, transport), seconds in times.items():
            print("  %-17s via %-6s median of %d: %.2f s (min %.2f, max %.2f)" % (
                tool, transport, len(seconds), median(seconds), min(seconds),
                max(seconds)), flush=True)


# -- many users --------------------------------------------------------------

def many_user_name(kind, number):
    return "%s-%03d@%s" % (kind, number, DOMAIN)


class LoginProbe(threading.Thread):
    """Logs in to the target over IMAP (LOGIN + SELECT INBOX) as a user
    without a move every 200 ms, and keeps the seconds each took."""

    def __init__(self, target, user):
        super().__init__(daemon=True)
        self.target, self.user = target, user
        self.seconds = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            self.seconds.append(clients.timed_imap_login(self.target, self.user))
            self.done.wait(0.2)

    def finish(self):
        self.done.set()
        self.join()
        ordered = sorted(self.seconds)
        if not ordered:
            return float("nan"), float("nan"), 0
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return statistics.median(ordered), p99, len(ordered)


class WorkerCounter(threading.Thread):
    """The most mailmove-worker processes seen at once (every 50 ms)."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target = target
        self.most = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            self.most = max(self.most, len(self.target.service_pids("mailmove-worker")))
            self.done.wait(0.05)

    def finish(self):
        self.done.set()
        self.join()
        return self.most


def many_mailmove(world, users, total):
    """Every user logs in once (each login queues a move); the time until
    status shows all of them done."""
    started = time.monotonic()
    # eight clients at once: one after the other, the logins themselves
    # (about 0.1-0.7 s each on a busy machine) would pace the moves
    logins = list(users)
    lock = threading.Lock()
    errors = []

    def log_in():
        while True:
            with lock:
                if not logins or errors:
                    return
                user = logins.pop(0)
            try:
                clients.timed_imap_login(world.target, user)
            except Exception as error:  # noqa: BLE001 - raised below
                with lock:
                    errors.append("%s: %s" % (user, error))

    threads = [threading.Thread(target=log_in) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise BenchFailure("many users: a login failed: %s" % errors[0])
    queued = time.monotonic() - started
    pending = set(users)
    while pending:
        if time.monotonic() - started > TIMEOUT:
            raise BenchFailure("many users: moves not done in %d s: %s" % (
                TIMEOUT, sorted(pending)[:5]))
        time.sleep(0.25)
        for row in mailmove.status_rows(world.target, "-A"):
            if row["user"] not in pending:
                continue
            if row["state"] == "done":
                pending.discard(row["user"])
            elif row["state"] in ("failed", "auth-failed", "paused", "expired"):
                raise BenchFailure("many users: %s" % mailmove.describe(row))
    return time.monotonic() - started, queued


def many_dsync(world, pairs, parallel, transport):
    """doveadm backup -R for each (target user, legacy user), parallel at
    once (as many as the mailmove service runs workers)."""
    legacy = world.legacy
    queue = list(pairs)
    lock = threading.Lock()
    errors = []

    def work():
        while True:
            with lock:
                if not queue or errors:
                    return
                user, source = queue.pop(0)
            options = ["-o", "imapc_host=127.0.0.1",
                       "-o", "imapc_port=%d" % legacy.ports[transport],
                       "-o", "imapc_user=%s" % source, "-o", "imapc_password=%s" % LEGACY_PASSWORD,
                       "-o", "imapc_ssl=%s" % ("imaps" if transport == "imaps" else "no"),
                       "-o", "ssl_client_ca_file=%s" % legacy.cert_path] + IMAPC_TUNING
            proc = subprocess.run([DOVEADM, "-c", world.target.config_path] + options +
                                  ["backup", "-R", "-u", user, "imapc:"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  timeout=TIMEOUT)
            if proc.returncode != 0:
                with lock:
                    errors.append("%s: exit %d: %s" % (user, proc.returncode,
                                                       proc.stderr.decode()[-500:]))

    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise BenchFailure("many users, dsync: %s" % errors[0])
    return time.monotonic() - started


def many_users(world, args):
    """--users N: N legacy accounts of --user-messages messages each (no
    multi-MB message), moved by the mailmove service from N logins at
    once (mailmove_max_workers at a time), and by doveadm backup -R with
    as many processes at once; IMAP logins at the target meanwhile."""
    started = time.monotonic()
    legacy_users = [many_user_name("legacy", i) for i in range(args.users)]
    expected, total, megabytes = {}, 0, 0.0
    for i, user in enumerate(legacy_users):
        messages = bench_corpus.BenchCorpus(seed=1000 + i, recipient=user).mailbox(
            args.user_messages, with_big=False)
        corpus.write_maildir(world.legacy.maildir(user), messages)
        expected[user] = bench_corpus.by_folder(messages)
        total += len(messages)
        megabytes += corpus.total_bytes(messages) / 1e6
    print("corpus: %d users, %d messages, %.1f MB, written in %.1f s" % (
        args.users, total, megabytes, time.monotonic() - started), flush=True)
    transport = args.via[0]
    for i, source in enumerate(legacy_users):
        world.add_target_user(many_user_name("mm", i), transport, source_user=source,
                              extra={"userdb_mailmove_folder_connections":
                                     str(args.connections)})
        world.add_target_user(many_user_name("ds", i), transport, source_user=source)
    # the probe logs in often: mailmove_protocols = none keeps its logins from queueing a move
    world.target.add_user(User("probe@" + DOMAIN, "target-pw", userdb_mailmove_protocols="none"))
    world.start()
    for user in legacy_users:
        world.check_legacy(expected[user], user)
    workers = args.workers
    print("legacy Dovecot holds the corpus; mailmove_max_workers = %d, via %s, default fsync" % (
        workers, transport), flush=True)

    results = {}
    for tool in ("mailmove", "dsync"):
        probe = LoginProbe(world.target, "probe@" + DOMAIN)
        counter = WorkerCounter(world.target)
        probe.start()
        counter.start()
        try:
            if tool == "mailmove":
                seconds, queued = many_mailmove(
                    world, [many_user_name("mm", i) for i in range(args.users)], total)
            else:
                seconds = many_dsync(world, [(many_user_name("ds", i), source)
                                             for i, source in enumerate(legacy_users)],
                                     workers, transport)
                queued = 0.0
        finally:
            p50, p99, logins = probe.finish()
            most = counter.finish()
        results[tool] = seconds
        for i, source in enumerate(legacy_users):
            user = many_user_name("mm" if tool == "mailmove" else "ds", i)
            world.verify(user, expected[source], "%s %s" % (tool, user))
            world.discard(user)
        print("  %-8s %d users in %7.1f s: %6.0f msgs/s, %5.1f MB/s%s; target IMAP login+SELECT "
              "p50 %.3f s, p99 %.3f s (%d logins); mailmove-workers at once: at most %d" % (
                  tool, args.users, seconds, total / seconds, megabytes / seconds,
                  " (all logins sent in %.1f s)" % queued if tool == "mailmove" else "",
                  p50, p99, logins, most), flush=True)
        if tool == "mailmove" and most > workers:
            raise BenchFailure("more mailmove-workers at once (%d) than the limit %d" % (
                most, workers))
    print("  aggregate msgs/s, mailmove / dsync: %.2f" % (results["dsync"] / results["mailmove"]))


# -- memory ----------------------------------------------------------------

MEMORY_CASES = (
    # user, folder, what
    ("mem-big@" + DOMAIN, "INBOX", "a single 200 MB message"),
    ("mem-many@" + DOMAIN, "Архив 100k", "a folder of {:,} small messages"),
)


def memory(world, args):
    generator = bench_corpus.BenchCorpus(seed=77)
    mail = {}
    started = time.monotonic()
    big_user, many_user = (case[0] for case in MEMORY_CASES)
    mail[big_user] = [generator.one_big("INBOX", 200_000_000)]
    mail[many_user] = generator.small_folder(MEMORY_CASES[1][1], args.memory_messages)
    expected = {}
    for user, folder, _ in MEMORY_CASES:
        corpus.write_maildir(world.legacy.maildir(user), mail[user])
        expected[user] = bench_corpus.by_folder(mail[user], ["INBOX", folder])
        world.add_target_user(target_user("run " + user.split("@")[0]), "imaps",
                              source_user=user)
    sizes = {user: (len(mail[user]), corpus.total_bytes(mail[user]) / 1e6) for user in mail}
    del mail
    print("memory corpus written in %.1f s" % (time.monotonic() - started), flush=True)
    world.start()
    for user, folder, what in MEMORY_CASES:
        count, megabytes = sizes[user]
        world.check_legacy(expected[user], user)
        moved = target_user("run " + user.split("@")[0])
        world.fresh_target(moved)
        m = run_mailmove(world, moved, "memory %s" % user, count)
        world.verify(moved, expected[user], "memory %s" % user)
        world.discard(moved)
        print("%s (%.1f MB): doveadm mailmove run via imaps in %.1f s, peak RSS %.1f MB, "
              "CPU %.1f s" % (what.format(count), megabytes, m.seconds, m.rss_mb, m.cpu),
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10000,
                        help="messages in the corpus (default 10000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--baseline", action="store_true",
                        help="also run mailmove with one legacy connection and the whole "
                        "survey first, as before several folders moved at once, and with "
                        "one fsync per message (mailmove_save_sync = message): %s" %
                        ", ".join(BASELINE_TOOLS))
    parser.add_argument("--connections", type=int, default=4,
                        help="mailmove_folder_connections of the mailmove runs (default 4; "
                        "the --baseline runs use 1)")
    parser.add_argument("--fsync", nargs="+", choices=FSYNCS, default=list(FSYNCS),
                        help="the fsync variants to run (default: both)")
    parser.add_argument("--via", nargs="+", choices=TRANSPORTS, default=list(TRANSPORTS),
                        help="the transports to run (default: both)")
    parser.add_argument("--recent-rounds", type=int, default=1,
                        help="times the time to recent mail is measured per transport "
                        "(default 1; more print the median); --rounds 0 measures only it")
    parser.add_argument("--users", type=int, default=0,
                        help="instead of the rounds: this many users at once (e.g. 200), "
                        "mailmove's service against as many doveadm backup processes at "
                        "once as it runs workers")
    parser.add_argument("--user-messages", type=int, default=50,
                        help="messages per user with --users (default 50)")
    parser.add_argument("--workers", type=int, default=4,
                        help="with --users: the target's mailmove_max_workers and the "
                        "doveadm backup processes at once (default 4)")
    parser.add_argument("--memory", action="store_true",
                        help="the memory figures instead of the rounds")
    parser.add_argument("--memory-messages", type=int, default=100_000,
                        help="messages of the many-messages folder (default 100000)")
    parser.add_argument("--workdir", help="where the instances live (default: a new "
                        "temporary directory, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("run as root (it starts Dovecot instances)")
    workdir = args.workdir or tempfile.mkdtemp(prefix="mailmove-bench-")
    users = [case[0] for case in MEMORY_CASES] if args.memory else [LEGACY_USER]
    if args.users:
        users = [many_user_name("legacy", i) for i in range(args.users)]
    world = World(workdir, users, args.workers)
    try:
        if args.memory:
            memory(world, args)
        elif args.users:
            many_users(world, args)
        else:
            throughput(world, args)
    except BenchFailure as failure:
        print("\nBENCHMARK FAILED: %s" % failure, file=sys.stderr)
        print("target log (tail):\n%s" % world.target.log_tail(30), file=sys.stderr)
        return 1
    finally:
        world.stop()
        if args.keep:
            print("kept %s" % workdir)
        elif not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
