"""Fault injection: a real legacy Dovecot behind a proxy that breaks its
stream (lib/fault_proxy.py), and the product's foreground run
(`doveadm mailmove run -u USER`) against it.

Every case has a user of its own (an INBOX and a folder "Work" at the
legacy server; POP3 cases the INBOX only) whose mailmove_source is the
proxy (imaps:// or pop3s://, TLS ended at the proxy with the legacy
certificate). Each case asserts:
  1. a clear end state of the faulty run: its result and exit code, the
     job's state and last_error as `doveadm mailmove status` shows them,
     and never `done` while a legacy message is missing at the target;
  2. bounded memory: the peak RSS of the doveadm process that ran the
     engine (os.wait4) stays under MEMORY_BOUND_MB;
  3. a later clean run (the proxy forwarding every byte unchanged, at the
     same address, so the legacy server's identity does not change) ends
     done, and the target then holds every legacy message of every folder
     exactly once (bytes, flags, INTERNALDATE).
The stall case waits out the product's 120 s read timeout: it starts in
World.start() and is checked by the last scenario, while the others run.

Tuning: MAILMOVE_IT_FAULT_MEMORY_MB (the bound, default 96).
"""

import json
import os
import random
import re
import subprocess
import sys
import threading
import time

from lib import compare, corpus, mailmove
from lib.dovecot import (DOVEADM, LegacyInstance, TargetInstance, User, failure_logs,
                         require_installed_plugin, stop_all)
from lib.fault_proxy import (CloseAfter, CloseAt, FaultProxy, InjectAt, Rewrite, StallAt,
                             Trickle)
from lib.scenario import check, check_equal, note, scenario

DOMAIN = "example.com"
MEMORY_BOUND_MB = int(os.environ.get("MAILMOVE_IT_FAULT_MEMORY_MB", "96"))
RUN_TIMEOUT = 200  # the stall case needs the product's 120 s read timeout
MIB = 1024 * 1024

# Where in the legacy server's stream (regexes over it).
IMAP_BODY = rb"BODY\[\] \{\d+\}\r\n"          # a message body literal starts
BEFORE_FETCH = rb"\r\n(?=\* \d+ FETCH)"       # between two responses, before a FETCH
BEFORE_LIST = rb"\r\n(?=\* LIST )"
IMAP_GREETING = rb"\A\* OK[^\r\n]*\r\n"
IMAP_LOGGED_IN = rb"Logged in\r\n"
POP3_LOGGED_IN = rb"\+OK Logged in\.\r\n"
# The status line of a message body: RETR's "+OK n octets", or the mover's
# TOP, which Dovecot answers with a bare "+OK" (a header field follows).
POP3_RETR = rb"\+OK(?: \d+ octets)?\r\n(?=[!-9;-~]+:)"
BEFORE_POP3_RETR = rb"\r\n(?=\+OK(?: \d+ octets)?\r\n[!-9;-~]+:)"


def address(name):
    return "%s@%s" % (name, DOMAIN)


def legacy_password(name):
    return "legacy-%s-Fault.9" % name


def flood(line, count):
    """count copies of line, in pieces of about 1 MiB."""
    per_piece = max(1, MIB // len(line))
    def pieces():
        left = count
        while left > 0:
            n = min(per_piece, left)
            yield line * n
            left -= n
    return pieces


def overlong(prefix, size):
    """prefix, then size bytes of "x" with no line end, in 1 MiB pieces."""
    def pieces():
        yield prefix
        for _ in range(size // MIB):
            yield b"x" * MIB
    return pieces


def garbage(seed, size=4096):
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(size)) + b"\r\n"


def deep_list(depth):
    return b"* LIST " + b"(" * depth + b")" * depth + b' "." INBOX\r\n'


class NthUid:
    """Rewrites the UIDs of FETCH responses with fn(uid)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, match):
        return b"%sUID %d" % (match.group(1), self.fn(int(match.group(2))))


FETCH_UID = rb"(\* \d+ FETCH \((?:[^\r\n]* )?)UID (\d+)"


class Case:
    """One fault: how the first run is broken and what must come of it.

    expect: "done" (the fault is legal, or harmless) or "failed" (the run
    must fail: result failed, exit code non-zero, job not done);
    error: a regex the run's error and the job's last_error must match."""

    def __init__(self, name, protocol, fault, expect, error=None, clean_fault=None):
        self.name = name
        self.protocol = protocol
        self.fault = fault
        self.expect = expect
        self.error = error
        self.clean_fault = clean_fault or (lambda: None)

    @property
    def user(self):
        return address("f-" + self.name)


MUTF7_SERVER = (rb'(\* (?:LIST|LSUB) \([^)\r\n]*\) "\." )"?Work"?\r\n', rb'\1"Wo&Jjo!rk"\r\n')
MUTF7_CLIENT = (rb'"Wo&Jjo!rk"', rb'"Work"')

CASES = [
    Case("close-mid-literal", "imap", lambda: CloseAt(IMAP_BODY, 200), "failed",
         r"(?i)clos|end of|eof|connection"),
    Case("close-mid-line", "imap", lambda: CloseAt(rb"\* LIST \(", 0), "failed",
         r"(?i)clos|end of|eof|connection"),
    Case("close-after-n-bytes", "imap", lambda: CloseAfter(1500), "failed",
         r"(?i)clos|end of|eof|connection"),
    Case("reset-mid-fetch", "imap", lambda: CloseAt(BEFORE_FETCH, 40, how="reset"), "failed",
         r"(?i)reset|clos|connection"),
    Case("garbage", "imap", lambda: InjectAt(BEFORE_FETCH, garbage(1)), "failed",
         r"(?i)malformed|unexpected|invalid|garbage|not .*IMAP|parse"),
    Case("overlong-line", "imap",
         lambda: InjectAt(BEFORE_FETCH, overlong(b"* OK ", 160 * MIB)), "failed",
         r"(?i)too long|too large|longer than|limit|exceed"),
    Case("untagged-flood", "imap",
         lambda: InjectAt(rb"\* \d+ EXISTS\r\n", flood(b"* OK flood\r\n", 500_000)), "done"),
    Case("huge-literal-size-body", "imap",
         lambda: Rewrite([(rb"BODY\[\] \{\d+\}", b"BODY[] {4000000000}", 1)]), "failed",
         r"(?i)size|larger|exceed|RFC822"),
    Case("huge-literal-size-list", "imap",
         lambda: InjectAt(BEFORE_LIST, overlong(b'* LIST () "." {3000000000}\r\n', 8 * MIB)),
         "failed", r"(?i)too long|too large|longer than|limit|exceed|size"),
    Case("early-literal-end", "imap",
         lambda: Rewrite([(rb"BODY\[\] \{(\d+)\}",
                           lambda m: b"BODY[] {%d}" % (int(m.group(1)) + 40), 1)]), "failed",
         r"(?i)size|larger|malformed|unexpected|exceed"),
    Case("bye-after-greeting", "imap",
         lambda: InjectAt(IMAP_GREETING, b"* BYE going away\r\n", then="close"), "failed",
         r"BYE|going away"),
    Case("bye-after-login", "imap",
         lambda: InjectAt(IMAP_LOGGED_IN, b"* BYE going away\r\n", then="close"), "failed",
         r"BYE|going away"),
    Case("bye-mid-fetch", "imap",
         lambda: InjectAt(BEFORE_FETCH, b"* BYE going away\r\n", skip=3, then="close"),
         "failed", r"BYE|going away"),
    Case("deep-nesting", "imap",
         lambda: InjectAt(BEFORE_LIST, deep_list(480_000)), "failed",
         r"(?i)nest|deep|malformed|too"),
    Case("invalid-mutf7-folder", "imap",
         lambda: Rewrite([MUTF7_SERVER], [MUTF7_CLIENT]), "done",
         clean_fault=lambda: Rewrite([MUTF7_SERVER], [MUTF7_CLIENT])),
    Case("duplicate-uids", "imap",
         lambda: Rewrite([(FETCH_UID, NthUid(lambda uid: uid - 1 if uid % 2 and uid > 1
                                             else uid))]), "failed",
         r"(?i)UID|duplicate|twice"),
    Case("backward-uids", "imap",
         lambda: Rewrite([(FETCH_UID, NthUid(lambda uid: 100_000 - uid))]), "failed",
         r"(?i)UID|missing|not found|no such|vanish|did not"),
    Case("uidvalidity-change-between-runs", "imap",
         lambda: Rewrite([(rb"UIDVALIDITY (\d+)",
                           lambda m: b"UIDVALIDITY %d" % (int(m.group(1)) + 7))]), "done"),
    Case("trickle", "imap", lambda: Trickle(), "done"),
    Case("pop3-close-mid-retr", "pop3", lambda: CloseAt(POP3_RETR, 300), "failed",
         r"(?i)clos|end of|eof|connection"),
    Case("pop3-reset", "pop3", lambda: CloseAt(POP3_RETR, 10, how="reset", skip=2), "failed",
         r"(?i)reset|clos|connection"),
    Case("pop3-garbage", "pop3", lambda: InjectAt(POP3_LOGGED_IN, garbage(2)), "failed",
         r"(?i)malformed|unexpected|invalid|garbage|not .*POP3|reply"),
    Case("pop3-overlong-line", "pop3",
         lambda: InjectAt(POP3_LOGGED_IN, overlong(b"+OK ", 160 * MIB)), "failed",
         r"(?i)too long|too large|longer than|limit|exceed"),
    Case("pop3-early-end-line", "pop3",
         lambda: InjectAt(POP3_RETR, b"Subject: cut\r\n.\r\n", skip=1), "failed",
         r"(?i)size|short|malformed|unexpected|reply|LIST"),
    Case("pop3-bye-mid-retr", "pop3",
         lambda: InjectAt(BEFORE_POP3_RETR, b"-ERR [SYS/TEMP] going away\r\n", then="close",
                          skip=1), "failed", r"going away|SYS/TEMP|clos"),
    Case("pop3-trickle", "pop3", lambda: Trickle(), "done"),
]
STALL = Case("stall-mid-literal", "imap", lambda: StallAt(IMAP_BODY, 100), "failed",
             r"(?i)time|timed out|no progress")


def mailbox_spec(case, index):
    spec = dict(seed=100 + index, count=14, max_attachment=30_000)
    if case.name in ("trickle", "pop3-trickle"):
        spec.update(count=6, max_attachment=2_000)
    return spec


class World:
    """The legacy Dovecot, one proxy per case, the target with the
    plugin and its inspector."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.cases = CASES + [STALL]
        self.legacy = LegacyInstance(workdir, users=[
            User(c.user, legacy_password(c.name)) for c in self.cases])
        # One proxy per case: the stall case runs beside the others.
        self.proxies = {c.name: FaultProxy(self.legacy.ports[c.protocol], self.legacy.cert_path,
                                           self.legacy.key_path) for c in self.cases}
        self.target = TargetInstance(
            workdir, self.proxies[CASES[0].name].url("imaps"), ca_file=self.legacy.cert_path,
            users=[User(c.user, "target-pw", userdb_mailmove_source_password=legacy_password(
                c.name), userdb_mailmove_source=self.proxies[c.name].url(
                    "imaps" if c.protocol == "imap" else "pop3s")) for c in self.cases],
            # Only the runs of the scenarios: no retry behind their backs.
            plugin_settings={"mailmove_retry_delay": "1 hour",
                             "mailmove_retry_max_delay": "2 hours"})
        self.inspector = self.target.inspector(workdir)
        self.messages = {}
        self.stall_result = None
        self.stall_thread = None

    def start(self):
        require_installed_plugin()
        for index, case in enumerate(self.cases):
            messages = corpus.inbox_from_spec(mailbox_spec(case, index), case.user, DOMAIN)
            if case.protocol == "imap":
                for message in messages[::3]:
                    message.folder = "Work"
            self.messages[case.user] = messages
            corpus.write_maildir(self.legacy.maildir(case.user), messages)
        self.legacy.start()
        for proxy in self.proxies.values():
            proxy.start()
        self.target.start()
        self.inspector.start()
        self.stall_thread = threading.Thread(target=self._run_stall, daemon=True)
        self.stall_thread.start()

    def _run_stall(self):
        try:
            self.stall_result = faulty_run(self, STALL)
        except Exception as error:  # noqa: BLE001 - reported by the stall scenario
            self.stall_result = error

    def stop(self):
        for proxy in self.proxies.values():
            proxy.stop()
        stop_all([self.target, self.legacy, self.inspector])

    def logs(self):
        return failure_logs(self.target, self.legacy)


# -- running and measuring -------------------------------------------------

# Runs argv[2:] and writes the peak RSS (KiB) of it and its children to
# argv[1]. Linux keeps a process's peak RSS across fork and exec, so a
# doveadm forked straight from this test runner (hundreds of MiB after the
# earlier scenarios) would report the runner's size; forked from this small
# interpreter it reports its own.
PEAK_RSS_OF = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def measured_run(target, user):
    """`doveadm -f json mailmove run -u USER` with its peak RSS (MiB):
    (parsed rows or None, exit code, stdout, stderr, peak RSS MiB, seconds)."""
    rss_file = os.path.join(target.base_dir, "peak-rss-" + user)
    argv = [sys.executable, "-c", PEAK_RSS_OF, rss_file,
            DOVEADM, "-c", target.config_path, "-f", "json", "mailmove", "run", "-u", user]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    out = {}
    readers = [threading.Thread(target=lambda n=n, s=s: out.__setitem__(n, s.read()))
               for n, s in (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for reader in readers:
        reader.start()
    timer = threading.Timer(RUN_TIMEOUT, lambda: os.killpg(proc.pid, 9))
    timer.start()
    try:
        proc.wait()
    finally:
        timer.cancel()
    for reader in readers:
        reader.join()
    stdout = out["stdout"].decode("utf-8", "replace")
    stderr = out["stderr"].decode("utf-8", "replace")
    try:
        rows = json.loads(stdout)
    except ValueError:
        rows = None
    return dict(rows=rows, exit_code=proc.returncode, stdout=stdout, stderr=stderr,
                rss_mb=peak_rss_mb(rss_file), seconds=time.monotonic() - started)


def peak_rss_mb(rss_file):
    try:
        with open(rss_file) as f:
            return int(f.read()) / 1024.0
    except (OSError, ValueError):
        return float("inf")  # killed: no figure, and no pass


def faulty_run(world, case):
    world.proxies[case.name].fault = case.fault()
    try:
        return measured_run(world.target, case.user)
    finally:
        world.proxies[case.name].fault = None


def describe_run(run):
    row = run["rows"][0] if run["rows"] else {}
    return "exit %d, result %s, error %r, peak RSS %.1f MiB, %.1f s" % (
        run["exit_code"], row.get("result"), row.get("error"), run["rss_mb"], run["seconds"])


def folders_of(instance, user):
    """The selectable folders of user at instance (LIST "" "*")."""
    from lib import clients
    with clients.imap_session(instance, user) as conn:
        typ, data = conn.list('""', "*")
    names = []
    for item in data:
        if not isinstance(item, bytes):
            continue
        match = re.match(rb'\(([^)]*)\) (?:"[^"]*"|NIL) (.*)$', item)
        if match and b"\\Noselect" not in match.group(1):
            names.append(match.group(2).strip(b'"').decode())
    return names


def missing_or_extra(world, case):
    """Differences between the legacy and the target mail of the case's
    user: per folder for IMAP (the target's folders other than INBOX
    together stand for legacy "Work"); INBOX only, and bytes only, for POP3."""
    problems = []
    legacy_inbox = compare.mailbox_records(world.legacy, case.user, "INBOX")
    target_inbox = compare.mailbox_records(world.inspector, case.user, "INBOX")
    if case.protocol == "pop3":
        # POP3 carries neither flags nor INTERNALDATE: the bytes only.
        return [problem for problem in compare.diff(legacy_inbox, target_inbox)
                if problem.kind not in ("flags", "internaldate")]
    problems += compare.diff(legacy_inbox, target_inbox)
    if case.protocol == "imap":
        legacy_work = compare.mailbox_records(world.legacy, case.user, "Work")
        target_work = []
        for folder in folders_of(world.inspector, case.user):
            if folder != "INBOX":
                target_work += compare.mailbox_records(world.inspector, case.user, folder)
        problems += compare.diff(legacy_work, target_work)
    return problems


# -- the checks of every case ------------------------------------------------

def check_end_state(world, case, run):
    note("%s: faulty run: %s", case.name, describe_run(run))
    check(run["rss_mb"] <= MEMORY_BOUND_MB, "%s: peak RSS of the run %.1f MiB > bound %d MiB",
          case.name, run["rss_mb"], MEMORY_BOUND_MB)
    check(run["exit_code"] >= 0, "%s: doveadm mailmove run died of signal %d (a crash):\n%s",
          case.name, -run["exit_code"], run["stderr"][-1500:])
    check(run["rows"] is not None and len(run["rows"]) == 1,
          "%s: doveadm mailmove run exited %d and printed no result row:\n%s", case.name,
          run["exit_code"], run["stderr"][-1500:])
    row = run["rows"][0]
    status = mailmove.status(world.target, case.user)
    note("%s: status: %s", case.name, mailmove.describe(status))
    if status["state"] == "done" or row["result"] == "done":
        # Never done while anything is missing.
        problems = missing_or_extra(world, case)
        check(not problems, "%s: the run reads as done (result %s, state %s) but the target "
              "differs from the legacy server:\n%s", case.name, row["result"], status["state"],
              compare.summarize(problems))
    if case.expect == "done":
        check_equal(row["result"], "done", "%s: result of the faulty run" % case.name)
        check_equal(run["exit_code"], 0, "%s: exit code of the faulty run" % case.name)
        return
    check(row["result"] == "failed" and run["exit_code"] != 0,
          "%s: the faulty run must fail, got result %r, exit code %d", case.name,
          row["result"], run["exit_code"])
    check(status["state"] in ("failed", "queued") and status["last_error"],
          "%s: the job must be failed (or queued for a retry) with last_error, got %s",
          case.name, mailmove.describe(status))
    check(re.search(case.error, row["error"] or "") and re.search(case.error,
                                                                   status["last_error"]),
          "%s: error %r / last_error %r do not say what happened (%s)", case.name,
          row["error"], status["last_error"], case.error)


def check_clean_rerun(world, case):
    world.proxies[case.name].fault = case.clean_fault()
    try:
        run = measured_run(world.target, case.user)
    finally:
        world.proxies[case.name].fault = None
    note("%s: clean run: %s", case.name, describe_run(run))
    check(run["rows"] and run["rows"][0]["result"] == "done" and run["exit_code"] == 0,
          "%s: the clean run did not end done: %s\n%s", case.name, describe_run(run),
          run["stderr"][-1500:])
    status = mailmove.status(world.target, case.user)
    check_equal(status["state"], "done", "%s: job state after the clean run" % case.name)
    problems = missing_or_extra(world, case)
    check(not problems, "%s: after the clean run the target differs from the legacy "
          "server:\n%s", case.name, compare.summarize(problems))
    note("%s: every one of %d legacy messages once at the target", case.name,
         len(world.messages[case.user]))


def run_case(world, case):
    run = faulty_run(world, case)
    check_end_state(world, case, run)
    check_clean_rerun(world, case)


def _register(case):
    @scenario(case.name)
    def run(world):
        run_case(world, case)
    return run


for _case in CASES:
    _register(_case)


@scenario("stall-mid-literal")
def stall_mid_literal(world):
    """The stall began in World.start(); it ends with the read timeout."""
    world.stall_thread.join(RUN_TIMEOUT + 30)
    check(not world.stall_thread.is_alive(), "the stalled run is still running")
    if isinstance(world.stall_result, Exception):
        raise world.stall_result
    check_end_state(world, STALL, world.stall_result)
    check_clean_rerun(world, STALL)
