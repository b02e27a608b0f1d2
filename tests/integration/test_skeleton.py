"""The walking skeleton against real Dovecot: a login queues a move, the
worker pulls the legacy INBOX over IMAPS, status tells the admin about it.

One legacy server and one target server with the installed plugin are
shared by all scenarios. a-g each have their own users, so one's failure
does not fail another (b builds on a's move of alice, which it repeats if
needed); h and i look at what all of them left behind.

Sizes can be raised for a slower or faster product:
  MAILMOVE_IT_RESTART_MESSAGES  messages of the restart user (default 3000)
  MAILMOVE_IT_TIMEOUT           seconds a move may take (default 300)
"""

import json
import os
import re
import signal
import time

from lib import clients, compare, corpus, mailmove, move_steps, procs
from lib.dovecot import (LOGGED_IN, LegacyInstance, TargetInstance, User, failure_logs,
                         require_installed_plugin, stop_all)
from lib.scenario import check, check_equal, note, scenario

DOMAIN = "example.com"
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
RESTART_MESSAGES = int(os.environ.get("MAILMOVE_IT_RESTART_MESSAGES", "3000"))
# A login must not wait for the mailmove service (design: never blocks).
LOGIN_BOUND = 2.0
# How long a session that must not queue a job is given to (wrongly) do so.
QUIET_PERIOD = 1.5

# user part -> how its legacy INBOX is generated (seed, count, extra options)
MAILBOXES = {
    "alice": dict(seed=1, count=500, big=4),        # a, b: the main corpus
    "bob": dict(seed=2, count=20),                  # c: sessions that must not queue
    "carol": dict(seed=3, count=20),                # d: service hung or gone
    "dave": dict(seed=4, count=RESTART_MESSAGES, max_attachment=100_000),  # e: restart
    "erin": dict(seed=5, count=20),                 # f: POP3 login
    "frank": dict(seed=6, count=RESTART_MESSAGES, max_attachment=100_000),  # g: sdbox
    "grace": dict(seed=7, count=RESTART_MESSAGES, max_attachment=100_000),  # g: mdbox
}
# Users whose target mail is not the instance's maildir (userdb "mail").
TARGET_MAIL = {
    "frank": "sdbox:~/sdbox",
    "grace": "mdbox:~/mdbox",
}


def address(name):
    return "%s@%s" % (name, DOMAIN)


def legacy_password(name):
    return "legacy-%s-Pw.7" % name


class World:
    """Legacy and target instances, the legacy corpora of all users, and
    the inspector: a plain Dovecot serving the target's mail, through which
    the scenarios read the target without logging in to it (a login would
    be reported to the mailmove service and could queue a move).

    Target passwords differ from legacy ones: the worker can only log in
    to the legacy server with the per-user userdb_mailmove_source_password.
    """

    def __init__(self, workdir):
        self.workdir = workdir
        self.legacy = LegacyInstance(workdir, users=[
            User(address(name), legacy_password(name)) for name in MAILBOXES])
        self.target = TargetInstance(
            workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path,
            users=[User(address(name), "target-%s-pw" % name,
                        userdb_mailmove_source_password=legacy_password(name),
                        **({"userdb_mail": TARGET_MAIL[name]} if name in TARGET_MAIL else {}))
                   for name in MAILBOXES])
        self.inspector = self.target.inspector(workdir)
        self.messages = {}

    def start(self):
        require_installed_plugin()
        started = time.monotonic()
        for name, spec in MAILBOXES.items():
            self.messages[name] = corpus.inbox_from_spec(spec, address(name), DOMAIN)
            corpus.write_maildir(self.legacy.maildir(address(name)), self.messages[name])
        note("legacy corpora written in %.1f s: %s", time.monotonic() - started, ", ".join(
            "%s %d msgs/%.1f MB" % (n, len(m), corpus.total_bytes(m) / 1e6)
            for n, m in self.messages.items()))
        self.legacy.start()
        self.target.start()
        self.inspector.start()
        note("target %s (imap %d, pop3 %d, lmtp %d), legacy %s", self.target.config_path,
             self.target.ports["imap"], self.target.ports["pop3"], self.target.ports["lmtp"],
             self.legacy.url("imaps"))

    def stop(self):
        stop_all([self.target, self.legacy, self.inspector])

    def logs(self):
        return failure_logs(self.target, self.legacy)


# -- shared steps ---------------------------------------------------------

def legacy_records(world, name):
    """What the legacy server shows in name's INBOX (the reference)."""
    records = compare.mailbox_records(world.legacy, address(name))
    check_equal(len(records), len(world.messages[name]), "legacy INBOX size of %s" % name)
    return records


def check_status_none(world, name, why):
    row = mailmove.status(world.target, address(name))
    check(row["state"] == "none", "%s has a job (%s) although %s", name, mailmove.describe(row),
          why)


def finish_move(world, name, watch):
    """Wait for name's move to end; fail with last_error if it failed."""
    started = time.monotonic()
    row = watch.wait_finished(TIMEOUT)
    note("%s: %s after %.1f s (states %s)", name, row["state"], time.monotonic() - started,
         watch.history())
    note("%s: %s", name, mailmove.describe(row))
    check(row["state"] == "done", "%s's move ended %s: %r", name, row["state"], row["last_error"])
    return row


def login_and_move(world, name, login=None):
    """A real client login of name at the target, then wait for the move.

    Returns (status row, epoch seconds of the login)."""
    check_status_none(world, name, "it never logged in")
    login_time = time.time()
    (login or imap_login)(world, name)
    watch = mailmove.JobWatch(world.target, address(name))
    watch.wait(lambda row: row["state"] != "none", 10, "a job for %s after its login" % name)
    return finish_move(world, name, watch), login_time


def imap_login(world, name):
    elapsed = clients.timed_imap_login(world.target, address(name))
    note("%s: IMAP LOGIN + SELECT at the target took %.3f s", name, elapsed)
    return elapsed


def check_complete(world, name, row, reference):
    """The status of a finished move accounts for every legacy message."""
    total_bytes = sum(r.size for r in reference)
    check_equal(row["user"], address(name), "status user")
    check_equal(row["source"], world.target.source_url, "status source")
    check_equal(row["last_error"], "", "last_error of a successful move")
    check_equal(row["messages_total"], len(reference), "messages_total (legacy INBOX size)")
    check_equal(row["messages_done"], len(reference), "messages_done")
    # "Bytes done of the total the legacy server reported": RFC822.SIZEs.
    check_equal(row["bytes_total"], total_bytes, "bytes_total (sum of legacy RFC822.SIZE)")
    check_equal(row["bytes_done"], total_bytes, "bytes_done")
    check(row["folders_total"] >= 1 and row["folders_done"] == row["folders_total"],
          "folders %d/%d", row["folders_done"], row["folders_total"])


def check_times(row, not_before):
    """started/finished are ISO 8601 UTC and lie between not_before and now."""
    started = mailmove.parse_time(row["started"])
    finished = mailmove.parse_time(row["finished"])
    now = time.time()
    slack = 2.0  # status times may be rounded down to whole seconds
    check(not_before - slack <= started <= finished <= now + slack,
          "times out of order: login %s, started %s, finished %s, now %s",
          compare.format_instant(not_before), row["started"], row["finished"],
          compare.format_instant(now))


def check_same_mail(world, name, reference, extra=0):
    """Target INBOX == legacy INBOX (plus `extra` messages delivered
    locally), each message once with its flags and INTERNALDATE.
    The target's mail is read through the inspector (no login to queue)."""
    target = compare.mailbox_records(world.inspector, address(name))
    problems = compare.diff(reference, target)
    unexpected = [p for p in problems if p.kind != "extra"]
    extras = [p for p in problems if p.kind == "extra"]
    check(not unexpected and len(extras) == extra,
          "target INBOX of %s differs from legacy (expected %d extra):\n%s", name, extra,
          compare.summarize(problems))
    note("%s: compare legacy vs target: %d messages, %s", name, len(target),
         "no differences" if not problems else "%d extra as expected" % extra)
    return target


def check_log_clean(world, mark, allowed=()):
    move_steps.check_log_clean(world.target, mark, allowed)


# -- scenarios ------------------------------------------------------------

@scenario("a-first-imap-login-moves-inbox")
def first_login_moves_inbox(world):
    """alice's first IMAP login queues a move that copies her whole legacy
    INBOX exactly, newest first, and status reports it completely."""
    mark = world.target.log_mark()
    reference = legacy_records(world, "alice")
    row, login_time = login_and_move(world, "alice")
    check_complete(world, "alice", row, reference)
    check_times(row, login_time)
    moved = check_same_mail(world, "alice", reference)
    note("alice: %d messages, %.1f MB in %.1f s (status times)", len(moved),
         sum(r.size for r in moved) / 1e6, mailmove.time_taken(row))
    check_log_clean(world, mark)


@scenario("b-second-login-and-run-add-nothing")
def second_pass_adds_nothing(world):
    """Another login and a foreground `doveadm mailmove run` find nothing
    new: the target INBOX is unchanged, not one message saved again."""
    name, user = "alice", address("alice")
    reference = legacy_records(world, name)
    if mailmove.status(world.target, user)["state"] == "none":
        note("alice was not moved yet (scenario a failed?): moving her first")
        login_and_move(world, name)
    mark = world.target.log_mark()
    before = clients.imap_status(world.inspector, user)
    imap_login(world, name)
    watch = mailmove.JobWatch(world.target, user)
    # A re-run may or may not be queued by the login; give it time to show,
    # then let it finish.
    time.sleep(QUIET_PERIOD)
    finish_move(world, name, watch)
    after_login = clients.imap_status(world.inspector, user)
    check_equal(after_login, before, "target INBOX STATUS after the second login")

    run_time = time.time()
    proc = world.target.doveadm("mailmove", "run", "-u", user, fmt="json", timeout=TIMEOUT)
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    note("doveadm -f json mailmove run -u %s: %s", user, proc.stdout.decode().strip())
    for line in stderr.splitlines():
        note("stderr: %s", line)
    result = json.loads(proc.stdout)
    check(len(result) == 1, "run printed %d rows: %r", len(result), result)
    check_equal((result[0]["result"], int(result[0]["saved"]), int(result[0]["messages_done"])),
                ("done", 0, len(reference)), "run's (result, saved, messages_done)")
    row = mailmove.status(world.target, user)
    note("after run: %s", mailmove.describe(row))
    check_equal(row["state"], "done", "state after doveadm mailmove run")
    check_complete(world, name, row, reference)
    # Status shows the foreground run like any other (protocol.h).
    check_times(row, run_time)
    after_run = clients.imap_status(world.inspector, user)
    # UIDNEXT unchanged proves nothing was saved, not even saved and expunged.
    check_equal(after_run, before, "target INBOX STATUS (MESSAGES UIDNEXT UIDVALIDITY) after run")
    check_same_mail(world, name, reference)
    check_log_clean(world, mark)
    # With the service up, the run reports to it without complaint.
    complaints = [line for line in stderr.splitlines() if re.search(r"(Warning|Error|Panic):", line)]
    check(not complaints, "doveadm mailmove run complained although the service runs:\n%s",
          "\n".join(complaints))


@scenario("c-doveadm-lda-lmtp-sessions-do-not-queue")
def non_login_sessions_do_not_queue(world):
    """doveadm, dovecot-lda and LMTP create bob's mail user (the hook fires)
    but are no logins: no job. Then a real IMAP login of bob does queue
    one, which proves the check above could fail."""
    name, user = "bob", address("bob")
    mark = world.target.log_mark()
    reference = legacy_records(world, name)
    check_status_none(world, name, "nothing happened yet")
    proc = world.target.doveadm("mailbox", "status", "-u", user, "messages", "INBOX")
    note("doveadm mailbox status -u %s: %s", user, proc.stdout.decode().strip())
    world.target.lda(user, _local_message(user, "via dovecot-lda"))
    clients.lmtp_deliver(world.target, user, _local_message(user, "via LMTP"))
    time.sleep(QUIET_PERIOD)
    check_status_none(world, name, "only doveadm, LDA and LMTP sessions happened")
    skips = [line for line in world.target.log_since(mark).splitlines() if "Skipped" in line]
    for line in skips:
        note("log: %s", line.split(": ", 1)[-1])

    row, login_time = login_and_move(world, name)
    check_complete(world, name, row, reference)
    check_times(row, login_time)
    check_same_mail(world, name, reference, extra=2)
    check_log_clean(world, mark)


def _local_message(user, how):
    return ("From: sender@example.net\r\nTo: %s\r\nSubject: delivered %s\r\n"
            "Message-ID: <%s.%s@local.test>\r\n\r\nDelivered %s.\r\n" % (
                user, how, how.replace(" ", "-"), time.time(), how)).encode()


@scenario("d-login-fast-when-service-hung-or-gone")
def login_survives_service_trouble(world):
    """With the mailmove service stopped (SIGSTOP) and with its socket gone,
    carol still logs in at once; the missing socket is logged as a
    warning, and the login made during the hang is queued once the
    service runs again."""
    name, user = "carol", address("carol")
    target = world.target
    reference = legacy_records(world, name)
    check_status_none(world, name, "carol never logged in")
    pid = target.mailmove_service_pid()
    check(pid is not None, "no mailmove service process under master %s: %r",
          target.master_pid, procs.children(target.master_pid))
    os.kill(pid, signal.SIGSTOP)
    try:
        elapsed = imap_login(world, name)
    finally:
        os.kill(pid, signal.SIGCONT)
    note("login with the mailmove service (pid %d) stopped: %.3f s", pid, elapsed)
    check(elapsed < LOGIN_BOUND, "login took %.2f s while the service was hung", elapsed)
    watch = mailmove.JobWatch(target, user)
    watch.wait(lambda row: row["state"] != "none", 10,
               "the login made during the hang to be queued after SIGCONT")
    check_complete(world, name, finish_move(world, name, watch), reference)
    check_same_mail(world, name, reference)

    socket_path = os.path.join(target.base_dir, "mailmove")
    moved_away = socket_path + ".moved-by-test"
    mark = target.log_mark()
    os.rename(socket_path, moved_away)
    try:
        elapsed = imap_login(world, name)
        note("login with %s missing: %.3f s", socket_path, elapsed)
        check(elapsed < LOGIN_BOUND, "login took %.2f s with the socket missing", elapsed)
        line = target.wait_for_log(r"imap\(%s\).*Warning: .*mailmove" % re.escape(user), mark)
        note("log: %s", line)
    finally:
        os.rename(moved_away, socket_path)


@scenario("e-service-killed-mid-job-resumes-without-duplicates")
def restart_mid_job(world):
    """kill -9 of the mailmove service while dave's big move runs: Dovecot
    starts a new service, the job is resumed and ends done with every
    legacy message exactly once."""
    name, user = "dave", address("dave")
    target = world.target
    mark = target.log_mark()
    reference = legacy_records(world, name)
    check_status_none(world, name, "dave never logged in")
    secrets = [legacy_password(n) for n in MAILBOXES]
    probe = NewestFirstProbe(world, name, reference)
    imap_login(world, name)
    watch = mailmove.JobWatch(target, user, on_poll=probe.sample)
    row = watch.wait(lambda row: row["state"] in ("done", "failed") or (
        row["state"] == "running" and 0 < row["messages_done"] < row["messages_total"]),
        TIMEOUT, "dave's move to be running with progress", interval=0.05)
    check(row["state"] != "failed", "dave's move failed: %s", mailmove.describe(row))
    check(row["state"] == "running",
          "the move ended (%s) before it could be interrupted: raise "
          "MAILMOVE_IT_RESTART_MESSAGES (now %d)", mailmove.describe(row), RESTART_MESSAGES)
    titles = _process_titles(target)
    leaked = [t for t in titles if any(s in t for s in secrets)]
    check(not leaked, "a process title shows a legacy password: %r", leaked)
    old_pid = target.mailmove_service_pid()
    check(old_pid is not None, "no mailmove service process to kill")
    kill_mark = target.log_mark()
    os.kill(old_pid, signal.SIGKILL)
    note("killed the mailmove service (pid %d) at %s", old_pid, mailmove.describe(row))
    new_pid = procs.wait_until(
        lambda: (target.mailmove_service_pid() or old_pid) != old_pid and
        target.mailmove_service_pid(), 10, what="a new mailmove service process")
    note("Dovecot started a new mailmove service: pid %d", new_pid)
    row = finish_move(world, name, watch)
    # The new service resumed the job from its own records: nobody logged
    # in to remind it (the tests read the target through the inspector).
    logins = [line for line in target.log_since(kill_mark).splitlines()
              if re.search(r"-login: Info: %s user=<%s>" % (LOGGED_IN, re.escape(user)), line)]
    check(not logins, "dave logged in after the kill, so the resumption proves nothing:\n%s",
          "\n".join(logins))
    check_complete(world, name, row, reference)
    check_same_mail(world, name, reference)
    probe.check()
    # Killing the service is expected to be logged by the master (and maybe
    # by the worker that lost its connection); anything else is not.
    check_log_clean(world, mark, allowed=[r"killed with signal 9", r"mailmove-worker"])


class NewestFirstProbe:
    """Looks at the target INBOX while a move runs: newest first means that
    whenever a user looks, what has arrived are the newest legacy messages
    (saved in batches, each batch committed at once, so the order inside
    a batch does not show). Every sample must be the k newest INTERNALDATEs
    of the legacy INBOX (the corpus's dates are distinct)."""

    def __init__(self, world, name, reference):
        self.world = world
        self.user = address(name)
        self.newest_first = sorted((r.internaldate for r in reference), reverse=True)
        self.samples = []
        self.bad = []

    def sample(self, row=None):
        with clients.imap_session(self.world.inspector, self.user) as conn:
            conn.select("INBOX", readonly=True)
            typ, data = conn.uid("FETCH", "1:*", "(INTERNALDATE)")
        dates = {compare.parse_internaldate(m.group(1).decode())
                 for m in (re.search(rb'INTERNALDATE "([^"]+)"', item)
                           for item in data if isinstance(item, bytes)) if m}
        self.samples.append(len(dates))
        if dates != set(self.newest_first[:len(dates)]):
            older = sorted(dates - set(self.newest_first[:len(dates)]))
            self.bad.append("with %d messages at the target, %d are not among the %d newest "
                            "(e.g. %s)" % (len(dates), len(older), len(dates),
                                           compare.format_instant(older[0])))

    def check(self):
        total = len(self.newest_first)
        partial = sorted({n for n in self.samples if 0 < n < total})
        note("newest first: %d looks at the target INBOX during the move, partial counts %s",
             len(self.samples), partial[:10])
        check(not self.bad, "messages did not arrive newest first:\n%s", "\n".join(self.bad[:5]))
        check(len(partial) >= 2, "saw the target INBOX part-filled only %d times: cannot tell "
              "the order (raise MAILMOVE_IT_RESTART_MESSAGES)", len(partial))


def _process_titles(target):
    return [title for pid in procs.descendants(target.master_pid)
            for _, title in procs.children(pid)] + [
        title for _, title in procs.children(target.master_pid)]


@scenario("f-pop3-login-queues")
def pop3_login_queues(world):
    """A POP3 login queues the move too (mailmove_protocols defaults to
    "imap pop3")."""
    name = "erin"
    mark = world.target.log_mark()
    reference = legacy_records(world, name)
    row, login_time = login_and_move(
        world, name, login=lambda w, n: clients.pop3_login(w.target, address(n)))
    check_complete(world, name, row, reference)
    check_times(row, login_time)
    check_same_mail(world, name, reference)
    check_log_clean(world, mark)


@scenario("g-sdbox-and-mdbox-targets")
def dbox_targets(world):
    """Users whose target storage is sdbox or mdbox get the same exact
    move, newest first: pipelined batches are saved in transactions of
    their own, open side by side, which every storage must take."""
    for name in ("frank", "grace"):
        mark = world.target.log_mark()
        reference = legacy_records(world, name)
        probe = NewestFirstProbe(world, name, reference)
        login_time = time.time()
        imap_login(world, name)
        watch = mailmove.JobWatch(world.target, address(name), on_poll=probe.sample)
        watch.wait(lambda row: row["state"] != "none", 10, "a job for %s after its login" % name)
        row = finish_move(world, name, watch)
        check_complete(world, name, row, reference)
        check_times(row, login_time)
        check_same_mail(world, name, reference)
        probe.check()
        storage = TARGET_MAIL[name].split(":")[0]
        home = world.target.home(address(name))
        check(os.path.isdir(os.path.join(home, storage)) and
              not os.path.exists(os.path.join(home, "Maildir")),
              "%s's mail is not in %s under %s: %s", name, storage, home, os.listdir(home))
        note("%s: %s target, %d messages in %.1f s (status times)", name, storage,
             len(reference), mailmove.time_taken(row))
        check_log_clean(world, mark)


@scenario("h-legacy-passwords-never-logged")
def passwords_not_logged(world):
    """After all the moves above (with debug logging of the plugin on), no
    legacy password appears in the target's log (design: credentials are
    never logged)."""
    log = world.target.log_since(0)
    check(len(log) > 0, "the target log is empty")
    leaked = [n for n in MAILBOXES if legacy_password(n) in log]
    check(not leaked, "the target log contains the legacy password of %s", ", ".join(leaked))
    note("%d log lines checked for %d passwords", log.count("\n"), len(MAILBOXES))


@scenario("i-status-all-masks-and-formats")
def status_listing(world):
    """status -A lists exactly the users that have a job, a mask selects by
    pattern, and every output format shows the same job."""
    target = world.target
    per_user = {address(n): mailmove.status(target, address(n)) for n in MAILBOXES}
    with_job = sorted(u for u, row in per_user.items() if row["state"] != "none")
    check(with_job, "nobody has a job (did the scenarios above fail?)")
    every = mailmove.status_rows(target, "-A")
    note("status -A: %s", ", ".join("%s=%s" % (r["user"], r["state"]) for r in every))
    check_equal(sorted(r["user"] for r in every), with_job, "users listed by status -A")
    for row in every:
        check_equal(row, per_user[row["user"]], "status -A row of %s" % row["user"])
    by_domain = mailmove.status_rows(target, "-u", "*@" + DOMAIN)
    check_equal(sorted(r["user"] for r in by_domain), with_job, "users matching *@" + DOMAIN)
    first = with_job[0]
    mask = first[0] + "*"
    expected = sorted(u for u in with_job if u.startswith(first[0]))
    check_equal(sorted(r["user"] for r in mailmove.status_rows(target, "-u", mask)), expected,
                "users matching " + mask)
    check_equal(mailmove.status_rows(target, "-u", "nobody*"), [], "users matching nobody*")
    for fmt in ("table", "tab", "flow"):
        text = target.doveadm("mailmove", "status", "-u", first, fmt=fmt).stdout.decode()
        check(first in text and per_user[first]["state"] in text and
              per_user[first]["finished"] in text,
              "-f %s output lacks %s's user, state or finished time:\n%s", fmt, first, text)
