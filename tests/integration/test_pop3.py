"""POP3 sources against real servers: a legacy Dovecot's pop3s and pop3 (with
STLS), and GNU Mailutils' pop3d, moved into the target with the installed
plugin.

What must hold (issue 4): the bytes, received dates and count of every
message; nothing at the legacy side changes; a rerun fetches only new legacy
mail; kill -9 of the worker at any moment leaves every message present
exactly once after the final run; and the target's own POP3 server lists
exactly the legacy UIDLs, in the legacy order, for every moved message, so
POP3 clients download nothing again after the switch. The listings are
printed side by side.

Sizes:
  MAILMOVE_IT_POP3_KILL_MESSAGES  messages of the kill -9 user (default 2000)
  MAILMOVE_IT_TIMEOUT             seconds a move may take (default 300)
"""

import base64
import json
import os
import random
import re
import signal
import subprocess
import time

from lib import clients, compare, corpus, mailmove, move_steps, procs
from lib import pop3
from lib.dovecot import INSTALLED_EXAMPLE_CONFIG, LOGGED_IN, TargetInstance, User, stop_all
from lib.scenario import check, check_equal, note, scenario

DOMAIN = "example.com"
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
KILL_MESSAGES = int(os.environ.get("MAILMOVE_IT_POP3_KILL_MESSAGES", "2000"))
KILLS = 4

# user part -> legacy INBOX (corpus seed, count, options) and how the target
# reaches it: userdb extra fields beside the legacy password.
MAILBOXES = {
    "paula": dict(seed=21, count=300, big=2),           # a, b: pop3s, AUTH PLAIN
    "quinn": dict(seed=22, count=KILL_MESSAGES, max_attachment=40_000),  # c: kill -9
    "rita": dict(seed=23, count=12),                     # d: pop3 + STLS, USER/PASS
    "sam": dict(seed=24, count=7),                       # e: APOP
    "tina": dict(seed=25, count=7),                      # e: AUTH LOGIN
    "yara": dict(seed=29, count=5),                      # e: master user
    "uma": dict(seed=26, count=3),                       # f: wrong password
    "wendy": dict(seed=28, count=1000, max_attachment=20_000),  # i: speed, memory
}
# i: memory with huge messages (each BIG_MESSAGE_MB of base64)
BIG_USER = "xena"
BIG_MESSAGES = 2
BIG_MESSAGE_MB = int(os.environ.get("MAILMOVE_IT_POP3_BIG_MB", "48"))
MAILUTILS_USER = "victor"                                # g: mailutils pop3d
MASTER_USER, MASTER_PASSWORD = "mm-admin", "Master\"Pw!7"


def address(name):
    return "%s@%s" % (name, DOMAIN)


def legacy_password(name):
    # No blanks or colons (passwd-file fields), but quotes, backslash,
    # 8-bit and shell characters: it must reach the server unchanged.
    return "Lg\"%s'\\ü&!$%d" % (name, len(name))


def dotted_messages(count, start_date, recipient):
    """Messages whose lines start with dots (a line of just "." too), the
    bytes POP3's dot-stuffing must carry through unchanged."""
    messages = []
    for i in range(count):
        date = start_date + i * 3600
        when = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(date))
        raw = ("Received: from mx.legacy.example by pop.legacy.example;\n\t%s\n"
               "Date: %s\nFrom: Dot Tester <dots@sender.example>\nTo: %s\n"
               "Subject: dots %d\nMessage-ID: <dots.%d.%d@corpus.example>\n\n"
               ".\n..\n.leading dot\n..two dots\n...\n. \nmiddle . line\n.\n\nend %d\n" % (
                   when, when, recipient, i, i, date, i)).encode()
        messages.append(corpus.Message(raw, frozenset({"\\Seen"}), date))
    return messages


def big_messages(count, size_mb, start_date, recipient, seed=5):
    """count messages of about size_mb MB each: one base64 attachment."""
    rng = random.Random(seed)
    messages = []
    for i in range(count):
        date = start_date + i * 60
        when = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(date))
        payload = base64.encodebytes(rng.randbytes(size_mb * 1024 * 1024 * 3 // 4))
        raw = ("Received: from mx.legacy.example by pop.legacy.example; %s\n"
               "From: scanner@sender.example\nTo: %s\nSubject: huge scan %d\n"
               "MIME-Version: 1.0\nContent-Type: application/octet-stream\n"
               "Content-Transfer-Encoding: base64\n\n" % (when, recipient, i)).encode() + payload
        messages.append(corpus.Message(raw, frozenset(), date))
    return messages


def expected_records(messages_bytes):
    """What the target must hold for legacy messages moved over POP3: the
    same bytes, no flags (mailmove_pop3_seen = no), the received date from
    the message's own header."""
    records = []
    for data in messages_bytes:
        date = pop3.expected_received_date(data)
        check(date is not None, "test corpus message without a date: %r", data[:200])
        records.append(compare.make_record(data, (), date))
    return records


class World:
    """The legacy Dovecot (pop3s, pop3 with STLS, APOP), GNU Mailutils' pop3d,
    the target with the plugin (mailmove_source = the legacy pop3s URL, per
    user overrides in userdb), and a plain Dovecot with IMAP and POP3 on the
    target's mail to read it without logging in to the target."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.legacy = pop3.Pop3LegacyInstance(workdir, users=[
            User(address(name), legacy_password(name)) for name in list(MAILBOXES) + [BIG_USER]],
            master_users={MASTER_USER: MASTER_PASSWORD})
        self.mailutils = pop3.MailutilsPop3d(workdir)
        self.mailutils.add_user(address(MAILUTILS_USER), legacy_password(MAILUTILS_USER))
        per_user = {
            "rita": dict(userdb_mailmove_source=self.legacy.url("pop3"),
                         userdb_mailmove_pop3_stls="yes", userdb_mailmove_pop3_auth="user"),
            "sam": dict(userdb_mailmove_pop3_auth="apop"),
            "tina": dict(userdb_mailmove_pop3_auth="login"),
            # her own legacy password is not known: the master user's is
            "yara": dict(userdb_mailmove_source_master_user=MASTER_USER),
            MAILUTILS_USER: dict(userdb_mailmove_source=self.mailutils.url(),
                                 userdb_mailmove_pop3_stls="no"),
        }
        users = []
        for name in list(MAILBOXES) + [MAILUTILS_USER, BIG_USER]:
            legacy_pw = {"uma": "not-" + legacy_password(name),
                         "yara": MASTER_PASSWORD}.get(name, legacy_password(name))
            users.append(User(address(name), "target-%s-pw" % name,
                              userdb_mailmove_source_password=legacy_pw,
                              **per_user.get(name, {})))
        # Retries after a killed worker come at once, so the kill -9
        # scenario sees the service itself finish the move.
        self.target = TargetInstance(workdir, self.legacy.url("pop3s"),
                                     ca_file=self.legacy.cert_path, users=users,
                                     plugin_settings={"mailmove_retry_delay": "1s"})
        self.inspector = pop3.Pop3Inspector(workdir, "target-pop3-inspector",
                                            users=self.target.users.values(),
                                            mail_root=self.target.mail_root)
        self.messages = {}

    def start(self):
        if not os.path.exists(INSTALLED_EXAMPLE_CONFIG):
            raise RuntimeError("the product is not installed: %s is missing "
                               "(run make install)" % INSTALLED_EXAMPLE_CONFIG)
        started = time.monotonic()
        for name, spec in MAILBOXES.items():
            spec = dict(spec)
            generator = corpus.Corpus(spec.pop("seed"), DOMAIN)
            messages = generator.inbox(spec.pop("count"), recipient=address(name), **spec)
            if name == "paula":
                messages += dotted_messages(3, messages[-1].internaldate + 60, address(name))
            self.messages[name] = messages
            corpus.write_maildir(self.legacy.maildir(address(name)), messages)
        self.messages[BIG_USER] = big_messages(BIG_MESSAGES, BIG_MESSAGE_MB, 1700000000,
                                               address(BIG_USER))
        corpus.write_maildir(self.legacy.maildir(address(BIG_USER)), self.messages[BIG_USER])
        victor = corpus.Corpus(27, DOMAIN).inbox(10, recipient=address(MAILUTILS_USER))
        self.messages[MAILUTILS_USER] = victor + dotted_messages(
            2, victor[-1].internaldate + 60, address(MAILUTILS_USER))
        self.mailutils.write_mailbox(address(MAILUTILS_USER), self.messages[MAILUTILS_USER])
        note("legacy mailboxes written in %.1f s: %s", time.monotonic() - started, ", ".join(
            "%s %d msgs/%.1f MB" % (n, len(m), corpus.total_bytes(m) / 1e6)
            for n, m in self.messages.items()))
        self.legacy.start()
        self.target.start()
        self.inspector.start()
        if pop3.MailutilsPop3d.available():
            self.mailutils.start()
        note("legacy pop3 %d, pop3s %d; mailutils pop3d %d; target %s (pop3 %d); "
             "inspector pop3 %d", self.legacy.ports["pop3"], self.legacy.ports["pop3s"],
             self.mailutils.port, self.target.config_path, self.target.ports["pop3"],
             self.inspector.ports["pop3"])

    def stop(self):
        self.mailutils.stop()
        stop_all([self.target, self.legacy, self.inspector])

    def logs(self):
        return [("target log (tail, without protocol traces)",
                 self.target.log_tail(60, skip=r"Debug: mailmove: [CS]: ")),
                ("legacy log (tail)", self.legacy.log_tail(15)),
                ("mailutils pop3d log (tail)", self.mailutils.log_tail(10))]


# -- shared steps ---------------------------------------------------------

def legacy_session(world, name, use_ssl=False):
    port = world.legacy.ports["pop3s" if use_ssl else "pop3"]
    return pop3.session(port, address(name), legacy_password(name), use_ssl,
                        world.legacy.cert_path)


def target_session(world, name):
    return pop3.session(world.inspector.ports["pop3"], address(name), "target-%s-pw" % name)


def legacy_bytes(world, name):
    """The legacy INBOX as IMAP serves it (BODY.PEEK: nothing changes)."""
    return [m.imap_bytes() for m in world.messages[name]]


def move_by_login(world, name):
    """A real POP3 login at the target queues the move; wait for its end."""
    user = address(name)
    row = mailmove.status(world.target, user)
    check(row["state"] == "none", "%s has a job already: %s", name, mailmove.describe(row))
    clients.pop3_login(world.target, user)
    watch = mailmove.JobWatch(world.target, user)
    watch.wait(lambda r: r["state"] != "none", 10, "a job for %s after its POP3 login" % name)
    return finish(world, name, watch)


def finish(world, name, watch):
    started = time.monotonic()
    row = watch.wait(lambda r: r["state"] not in ("queued", "running"), TIMEOUT,
                     "%s's move to finish" % name)
    note("%s: %s after %.1f s (states %s)", name, mailmove.describe(row),
         time.monotonic() - started, watch.history())
    return row


def check_done(row, name, count, source):
    check(row["state"] in ("done", "synced"), "%s's move ended %s: %r", name, row["state"],
          row["last_error"])
    check_equal(row["source"], source, "%s's status source" % name)
    check_equal((row["folders_done"], row["folders_total"]), (1, 1), "%s's folders" % name)
    check_equal((row["messages_done"], row["messages_total"]), (count, count),
                "%s's messages done/total" % name)


def check_same_mail(world, name, expected):
    """The target INBOX holds exactly expected (bytes, no flags, dates)."""
    actual = compare.mailbox_records(world.inspector, address(name))
    problems = compare.diff(expected, actual)
    check(not problems, "%s: target INBOX differs from the legacy one:\n%s", name,
          compare.summarize(problems))
    return actual


def check_same_uidls(world, name, legacy_listing, show=None):
    """The target's POP3 server lists the legacy UIDLs and sizes in the
    legacy order; the two listings are printed side by side."""
    with target_session(world, name) as conn:
        target_listing = pop3.uidl_listing(conn)
        target_sizes = pop3.list_sizes(conn)
    note("%s: UIDL listings, legacy and target (POP3 UIDL on both):", name)
    for line in pop3.side_by_side(legacy_listing[0], target_listing, show):
        note("  " + line)
    check_equal(target_listing, legacy_listing[0], "%s's target UIDL listing" % name)
    check_equal(target_sizes, legacy_listing[1], "%s's target LIST sizes" % name)
    note("%s: %d of %d UIDLs and sizes equal", name, len(target_listing), len(legacy_listing[0]))


def saved_files(world, user):
    """Message files in the target Maildir (new/ and cur/): what a commit
    made visible, whatever the index knows yet."""
    maildir = os.path.join(world.target.home(user), "Maildir")
    return sum(len(os.listdir(os.path.join(maildir, sub)))
               for sub in ("new", "cur") if os.path.isdir(os.path.join(maildir, sub)))


def dovecot_legacy_listing(world, name):
    with legacy_session(world, name) as conn:
        return pop3.uidl_listing(conn), pop3.list_sizes(conn)


def legacy_logins(world, name, mark):
    pattern = re.compile(r"pop3-login: Info: %s user=<%s>.*" % (LOGGED_IN, re.escape(address(name))))
    return [m.group(0) for m in pattern.finditer(world.legacy.log_since(mark))]


def check_log_clean(world, mark, allowed=()):
    move_steps.check_log_clean(world.target, mark, allowed)


# -- scenarios ------------------------------------------------------------

@scenario("a-pop3s-move-keeps-bytes-dates-and-uidls")
def pop3s_move(world):
    """paula's POP3 login moves her legacy INBOX over pop3s: every message
    byte for byte (dot-stuffed lines too), unseen, dated by its Received:
    field, newest (highest message number) first; the target's POP3 server
    then lists her legacy UIDLs."""
    name = "paula"
    legacy_listing = dovecot_legacy_listing(world, name)
    mark, legacy_mark = world.target.log_mark(), world.legacy.log_mark()
    expected = expected_records(legacy_bytes(world, name))
    row = move_by_login(world, name)
    check_done(row, name, len(expected), world.legacy.url("pop3s"))
    check_equal(row["bytes_done"], corpus.total_bytes(world.messages[name]), "bytes_done")
    actual = check_same_mail(world, name, expected)
    note("%s: %d messages, %.1f MB in %.1f s (status times)", name, len(actual),
         sum(r.size for r in actual) / 1e6, mailmove.time_taken(row))

    # Newest first: the target's UIDs run against the legacy numbers.
    number_of = {record.sha256: n for n, record in enumerate(expected, 1)}
    order = [number_of[r.sha256] for r in sorted(actual, key=lambda r: r.uid)]
    check(order == sorted(order, reverse=True),
          "not saved highest message number first: legacy numbers in target UID order "
          "start %s", order[:10])
    check_same_uidls(world, name, legacy_listing, show=16)
    logins = legacy_logins(world, name, legacy_mark)
    note("legacy: %s", logins[-1] if logins else "no login line")
    check(logins and all("method=PLAIN" in l and "TLS" in l for l in logins),
          "paula's legacy logins were not AUTH PLAIN over TLS: %r", logins)
    check_log_clean(world, mark)


@scenario("b-rerun-fetches-only-new-legacy-mail")
def rerun_adds_new(world):
    """New mail arrives at the legacy server: `doveadm mailmove run` saves
    exactly the new messages; another run saves nothing; the UIDL listings
    still match."""
    name, user = "paula", address("paula")
    if mailmove.status(world.target, user)["state"] == "none":
        note("paula was not moved yet (scenario a failed?): moving her first")
        move_by_login(world, name)
    newest = max(m.internaldate for m in world.messages[name])
    new = corpus.Corpus(31, DOMAIN).inbox(4, recipient=user, start_year=2025, end_year=2025)
    new += dotted_messages(1, newest + 7200, user)
    for message in new:
        message.internaldate = max(message.internaldate, newest + 1)
    corpus.write_maildir(world.legacy.maildir(user), new)
    world.messages[name] = world.messages[name] + new
    expected = expected_records(legacy_bytes(world, name))
    legacy_listing = dovecot_legacy_listing(world, name)
    check_equal(len(legacy_listing[0]), len(expected), "legacy UIDL listing size")

    for run, want in (("first", len(new)), ("second", 0)):
        proc = world.target.doveadm("mailmove", "run", "-u", user, fmt="json", timeout=TIMEOUT)
        result = json.loads(proc.stdout)
        note("%s run: %s", run, proc.stdout.decode().strip())
        check_equal((result[0]["result"], int(result[0]["saved"]),
                     int(result[0]["messages_done"])), ("done", want, len(expected)),
                    "%s run's (result, saved, messages_done)" % run)
    check_same_mail(world, name, expected)
    check_same_uidls(world, name, legacy_listing, show=12)
    # Nothing changed at the legacy side: the same messages, UIDLs, sizes.
    check_equal(dovecot_legacy_listing(world, name), legacy_listing,
                "legacy UIDL and LIST listings after the moves")


@scenario("c-kill-9-during-move-then-every-message-once")
def kill_during_move(world):
    """quinn's big move: the worker is killed with SIGKILL at random
    moments, several times; the service runs the job again each time. In
    the end every legacy message is at the target exactly once (by hash)
    and the UIDL listings match."""
    name, user = "quinn", address("quinn")
    target = world.target
    mark = target.log_mark()
    rng = random.Random(4242)
    expected = expected_records(legacy_bytes(world, name))
    legacy_listing = dovecot_legacy_listing(world, name)
    clients.pop3_login(target, user)
    watch = mailmove.JobWatch(target, user)
    partial = []
    for kill in range(KILLS):
        row = watch.wait(lambda r: r["state"] not in ("none", "queued"), 60,
                         "quinn's move to run again (kill %d)" % (kill + 1))
        if row["state"] != "running":
            break
        pids = procs.wait_until(lambda: target.service_pids("mailmove-worker") or
                                mailmove.status(target, user)["state"] != "running",
                                10, what="a mailmove-worker process")
        if pids is True:
            break
        # A random point of the move's progress, and a random moment
        # after it: right after a commit's files appeared is the most
        # delicate one (see src/move/commit-intent.h).
        before = saved_files(world, user)
        if before >= len(expected) - 1:
            break
        # spread the kills over what is left, each at a random point
        share = max(2, (len(expected) - before) // (KILLS - kill + 1))
        threshold = before + rng.randint(1, share)
        procs.wait_until(lambda: saved_files(world, user) >= threshold or
                         not procs.pid_alive(pids[0]), 60, interval=0.002,
                         what="%d messages at the target" % threshold)
        time.sleep(rng.uniform(0, 0.03))
        for pid in pids:
            procs.kill_quietly(pid, signal.SIGKILL)
        at_target = saved_files(world, user)
        note("kill %d: SIGKILL to mailmove-worker %s with %d of %d message files at the "
             "target", kill + 1, pids, at_target, len(expected))
        if 0 < at_target < len(expected):
            partial.append(at_target)
        watch.wait(lambda r: r["state"] != "running", 30, "the killed run to end")
    row = watch.wait(lambda r: r["state"] not in ("queued", "running"), TIMEOUT,
                     "the service to finish quinn's move")
    note("after the kills: %s (states %s)", mailmove.describe(row), watch.history())
    if row["state"] not in ("done", "synced"):
        proc = target.doveadm("mailmove", "run", "-u", user, fmt="json", timeout=TIMEOUT)
        note("final doveadm mailmove run: %s", proc.stdout.decode().strip())
        row = mailmove.status(target, user)
    check_done(row, name, len(expected), world.legacy.url("pop3s"))
    check(len(partial) >= 2, "only %d kills hit the middle of the move (%s): raise "
          "MAILMOVE_IT_POP3_KILL_MESSAGES (now %d)", len(partial), partial, KILL_MESSAGES)
    check_same_mail(world, name, expected)
    check_same_uidls(world, name, legacy_listing, show=8)
    check_log_clean(world, mark, allowed=[r"killed with signal 9", r"mailmove-worker"])


@scenario("d-pop3-with-stls-and-user-pass")
def stls_user_pass(world):
    """rita's legacy server is pop3:// with mailmove_pop3_stls = yes and
    USER/PASS: the login runs over TLS, her password (quotes, backslash,
    8-bit) arrives intact, and her mail and UIDLs match."""
    name = "rita"
    legacy_listing = dovecot_legacy_listing(world, name)
    # `doveadm mailmove test` logs in the same way and moves nothing.
    proc = world.target.doveadm("mailmove", "test", "-u", address(name), fmt="json")
    rows = json.loads(proc.stdout)
    note("doveadm mailmove test -u %s: %s", address(name), rows)
    check_equal([(r["legacy_folder"], r["target_folder"], int(r["messages"])) for r in rows],
                [("INBOX", "INBOX", len(world.messages[name]))], "mailmove test rows")
    legacy_mark = world.legacy.log_mark()
    row = move_by_login(world, name)
    check_done(row, name, len(world.messages[name]), world.legacy.url("pop3"))
    check_same_mail(world, name, expected_records(legacy_bytes(world, name)))
    check_same_uidls(world, name, legacy_listing)
    logins = legacy_logins(world, name, legacy_mark)
    note("legacy: %s", logins[-1] if logins else "no login line")
    check(logins and all("TLS" in l and "method=PLAIN" in l for l in logins),
          "rita's move did not log in with USER/PASS over STLS: %r", logins)


@scenario("e-apop-auth-login-and-master-user")
def apop_and_auth_login(world):
    """sam logs in to the legacy server with APOP, tina with AUTH LOGIN
    (mailmove_pop3_auth), yara through a master user (AUTH PLAIN naming her
    as the authorization identity, mailmove_source_master_user); all are
    moved completely."""
    for name, method in (("sam", "APOP"), ("tina", "LOGIN"), ("yara", "PLAIN")):
        legacy_listing = dovecot_legacy_listing(world, name)
        legacy_mark = world.legacy.log_mark()
        row = move_by_login(world, name)
        check_done(row, name, len(world.messages[name]), world.legacy.url("pop3s"))
        check_same_mail(world, name, expected_records(legacy_bytes(world, name)))
        check_same_uidls(world, name, legacy_listing, show=4)
        logins = legacy_logins(world, name, legacy_mark)
        note("legacy: %s", logins[-1] if logins else "no login line")
        check(any("method=%s" % method in l for l in logins),
              "%s's move did not log in with %s: %r", name, method, logins)


@scenario("f-wrong-legacy-password-fails-as-auth")
def wrong_password(world):
    """uma's legacy password is wrong: the move fails with the legacy
    server's refusal, nothing is moved, and the password is in no log."""
    name, user = "uma", address("uma")
    clients.pop3_login(world.target, user)
    watch = mailmove.JobWatch(world.target, user)
    watch.wait(lambda r: r["state"] != "none", 10, "a job for uma")
    row = finish(world, name, watch)
    check_equal(row["state"], "auth-failed", "uma's state with a wrong legacy password")
    check("PASS refused" in row["last_error"] or "AUTH PLAIN refused" in row["last_error"],
          "last_error does not say the legacy server refused the login: %r", row["last_error"])
    check_equal(clients.imap_status(world.inspector, user)["MESSAGES"], 0, "uma's target INBOX")


@scenario("g-mailutils-pop3d-source")
def mailutils_source(world):
    """GNU Mailutils' pop3d as the legacy server: victor's mail arrives
    byte for byte as that server sends it, and the target lists its UIDLs
    (Mailutils' own format) in its order."""
    name, user = MAILUTILS_USER, address(MAILUTILS_USER)
    check(world.mailutils.process is not None,
          "GNU Mailutils pop3d is not running (%s missing? tests/setup.sh installs "
          "mailutils-pop3d)", pop3.POP3D)
    # Mailutils writes X-UIDL: into each message on first reading, so the
    # reference is what it serves once that happened (read twice: equal).
    with pop3.session(world.mailutils.port, user, legacy_password(name)) as conn:
        pop3.retrieve_all(conn)
    with pop3.session(world.mailutils.port, user, legacy_password(name)) as conn:
        reference = pop3.retrieve_all(conn)
        listing = pop3.uidl_listing(conn), pop3.list_sizes(conn)
    check_equal(len(reference), len(world.messages[name]), "messages at mailutils")
    row = move_by_login(world, name)
    check_done(row, name, len(reference), world.mailutils.url())
    check_same_mail(world, name, expected_records([data for _, _, data in reference]))
    # Mailutils' LIST sizes leave out the X-UIDL: field it adds, Dovecot's
    # count the bytes it serves: only the UIDLs must be equal.
    with target_session(world, name) as conn:
        target_listing = pop3.uidl_listing(conn)
    note("%s: UIDL listings, mailutils pop3d and target:", name)
    for line in pop3.side_by_side(listing[0], target_listing):
        note("  " + line)
    check_equal(target_listing, listing[0], "victor's target UIDL listing")


@scenario("h-legacy-passwords-never-logged")
def passwords_not_logged(world):
    """No legacy password appears in the target's log after all the moves
    above (with the plugin's debug logging and protocol traces on)."""
    log = world.target.log_since(0)
    check(len(log) > 0, "the target log is empty")
    names = list(MAILBOXES) + [MAILUTILS_USER]
    leaked = [n for n in names if legacy_password(n) in log or
              ("not-" + legacy_password(n)) in log]
    if MASTER_PASSWORD in log:
        leaked.append("the master user " + MASTER_USER)
    check(not leaked, "the target log contains the legacy password of %s", ", ".join(leaked))
    note("%d log lines checked for %d passwords", log.count("\n"), len(names))


def vm_hwm_kb(pid):
    """The process's peak resident memory so far (VmHWM), 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measured_run(world, name):
    """`doveadm mailmove run -u` in a child whose peak resident memory is
    sampled while it runs: (seconds, result row, peak RSS in MB)."""
    argv = ["/usr/bin/doveadm", "-c", world.target.config_path, "-f", "json", "mailmove",
            "run", "-u", address(name)]
    peak = 0
    started = time.monotonic()
    with open(os.path.join(world.workdir, "run-%s.out" % name), "w+b") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            peak = max(peak, vm_hwm_kb(proc.pid))
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    check(proc.returncode == 0, "doveadm mailmove run -u %s exited %d: %s", name,
          proc.returncode, text)
    return elapsed, json.loads(text)[0], peak / 1024


@scenario("i-speed-and-memory-figures")
def speed_and_memory(world):
    """Figures, not a timed test: a move of many ordinary messages (messages
    and MB per second), and the peak memory of a move whose messages are
    each tens of MB, which must stay near that of ordinary mail (bodies
    are streamed, never held whole). The target is Maildir with Dovecot's
    default mail_fsync: its fsync of every saved file dominates the time."""
    seconds, result, small_rss = measured_run(world, "wendy")
    count = len(world.messages["wendy"])
    megabytes = corpus.total_bytes(world.messages["wendy"]) / 1e6
    check_equal((result["result"], int(result["saved"])), ("done", count), "wendy's run")
    note("wendy: %d messages, %.1f MB in %.2f s: %.0f messages/s, %.1f MB/s; peak RSS %.1f MB",
         count, megabytes, seconds, count / seconds, megabytes / seconds, small_rss)
    check_same_mail(world, "wendy", expected_records(legacy_bytes(world, "wendy")))

    seconds, result, big_rss = measured_run(world, BIG_USER)
    megabytes = corpus.total_bytes(world.messages[BIG_USER]) / 1e6
    check_equal((result["result"], int(result["saved"])), ("done", BIG_MESSAGES),
                "%s's run" % BIG_USER)
    note("%s: %d messages of %.0f MB each in %.2f s (%.1f MB/s); peak RSS %.1f MB",
         BIG_USER, BIG_MESSAGES, megabytes / BIG_MESSAGES, seconds, megabytes / seconds,
         big_rss)
    check_same_mail(world, BIG_USER, expected_records(legacy_bytes(world, BIG_USER)))
    # Holding one message whole would add its size to the peak.
    check(big_rss - small_rss < BIG_MESSAGE_MB / 2,
          "peak RSS with %d MB messages is %.1f MB, with ordinary mail %.1f MB: memory "
          "grows with the message size", BIG_MESSAGE_MB, big_rss, small_rss)

