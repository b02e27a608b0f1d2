"""Running a migration project against real Dovecot: credentials from a
CSV import, doveadm, a user's own login and a master user; auth-failed with
a bounded number of legacy logins; start/pause/resume/retry/reset/test;
the migration window; the per-host limit, the bytes cap and time slices;
kill -9 of the service; metrics; and no password in clear anywhere.

One legacy Dovecot (IMAPS, with a master user) serves every account. Each
target is a Dovecot with the installed plugin and its own scheduling
settings, so one scenario's limits do not slow another's:

  admin   credentials, actions, test, kill -9, metrics (fast retries)
  short   a 6-second migration window
  limits  6 workers, 2 per legacy host, moves capped in bytes per second
  slice   1 worker, 2-second time slice
  mixed   the closing picture: queued, running, done, auth-failed, expired
  bench   no workers: 10,000 jobs for status -A
"""

import os
import re
import signal
import statistics
import time

from lib import admin, clients, compare, corpus, mailmove, procs
from lib.dovecot import INSTALLED_EXAMPLE_CONFIG, LOGGED_IN, TargetInstance, User, stop_all
from lib.pop3 import Pop3LegacyInstance
from lib.scenario import check, check_equal, note, scenario

DOMAIN = "example.com"
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
MASTER_USER = "migrator"
MASTER_PASSWORD = "Master-Pw.7;x"
# Quotes, commas, a semicolon, spaces and non-ASCII: what breaks admin tools.
HOSTILE_PASSWORD = 'Ä,"quo"te, ;pw-ß'

# account -> (legacy password, messages, corpus seed)
ACCOUNTS = {
    "hostile@example.com": (HOSTILE_PASSWORD, 8, 11),
    "imported@example.com": ("imp-Pw.1", 6, 12),
    "dup@example.com": ("dup-Pw.1", 3, 13),
    "wrong@example.com": ("right-Pw.2", 5, 14),
    "relogin@example.com": ("relogin-Pw.3", 5, 15),
    "captured@example.com": ("captured-Pw.4", 7, 16),
    "acts@example.com": ("acts-Pw.5", 40, 17),
    "tester@example.com": ("tester-Pw.6", 9, 18),
    "m1@master.test": ("m1-never-used-Pw", 6, 19),
    "m2@master.test": ("m2-never-used-Pw", 4, 20),
    "k1@kill.test": ("k1-Pw", 600, 21),
    "k2@kill.test": ("k2-Pw", 600, 22),
    "k3@kill.test": ("k3-Pw", 600, 23),
    "s1@short.test": ("s1-Pw", 5, 31),
    "s2@short.test": ("s2-Pw", 400, 32),
    "s3@short.test": ("s3-Pw", 5, 33),
    "s4@short.test": ("s4-Pw", 5, 34),
    "huge@slice.test": ("huge-Pw", 1500, 41),
    "small@slice.test": ("small-Pw", 10, 42),
    "done1@mixed.test": ("done1-Pw", 5, 51),
    "authbad@mixed.test": ("authbad-Pw", 5, 52),
    "slow1@mixed.test": ("slow1-Pw", 800, 53),
    "slow2@mixed.test": ("slow2-Pw", 800, 54),
    "waiting@mixed.test": ("waiting-Pw", 5, 55),
    "late@late.test": ("late-Pw", 5, 56),
}
LIMIT_USERS = ["lim%d@example.net" % i for i in range(1, 9)]
BENCH_USERS = ["bench%05d@d%02d.example" % (i, i % 25) for i in range(10000)]
for _i, _user in enumerate(LIMIT_USERS):
    ACCOUNTS[_user] = ("lim-Pw.%d" % _i, 120, 60 + _i)

# Moves that must still run when the scenario looks at them are slowed
# down with the bytes cap (seconds a move takes at least, by design).
FAST_RETRIES = {"mailmove_retry_delay": "1s", "mailmove_retry_max_delay": "2s",
                "mailmove_auth_retries": "1", "mailmove_pass_interval": "0"}


def legacy_password(user):
    return ACCOUNTS[user][0]


class MetricsTarget(TargetInstance):
    """A target whose config also has conf.d/90-mailmove.conf's example
    metric blocks, uncommented as the README tells an admin to."""

    def _extra_config(self):
        with open(INSTALLED_EXAMPLE_CONFIG) as f:
            text = f.read()
        blocks = re.findall(r"^#(metric mailmove_\w+ \{\n(?:#.*\n)*?)#\}", text, re.M)
        metrics = "".join(block.replace("\n#", "\n") + "}\n" for block in blocks)
        return super()._extra_config() + metrics


class World:
    def __init__(self, workdir):
        self.workdir = workdir
        self.legacy = Pop3LegacyInstance(
            workdir, users=[User(user, pw) for user, (pw, _, _) in ACCOUNTS.items()],
            master_users={MASTER_USER: MASTER_PASSWORD})
        url, ca = self.legacy.url("imaps"), self.legacy.cert_path
        self.messages = {}
        self.targets = {}

        def target(name, users, settings, cls=TargetInstance):
            self.targets[name] = cls(workdir, url, ca_file=ca, name="target-" + name,
                                     users=users, plugin_settings=settings)
            return self.targets[name]

        # The legacy password comes from the vault (import, doveadm, a
        # login) for these: their userdb has none.
        admin_users = []
        for user in ACCOUNTS:
            if not user.endswith(("@example.com", "@master.test", "@kill.test")):
                continue
            extra = {}
            target_pw = "target-" + user
            if user in ("captured@example.com", "relogin@example.com"):
                # The common case: the same password at both servers, and
                # the passdb hands it to the session.
                target_pw = legacy_password(user)
                extra["userdb_mailmove_password"] = "%w"
            if user.endswith("@kill.test"):
                extra["userdb_mailmove_source_password"] = legacy_password(user)
            admin_users.append(User(user, target_pw, **extra))
        self.admin = target("admin", admin_users,
                            dict(FAST_RETRIES, mailmove_max_workers="4"), MetricsTarget)

        def with_password(domain, **extra):
            return [User(user, "target-" + user,
                         userdb_mailmove_source_password=legacy_password(user), **extra)
                    for user in ACCOUNTS if user.endswith(domain)]

        self.short = target("short", with_password("@short.test"),
                            dict(FAST_RETRIES, mailmove_max_workers="1", mailmove_window="6s"))
        limit_users = []
        for i, user in enumerate(LIMIT_USERS):
            host = "127.0.0.1" if i < 4 else "localhost"
            limit_users.append(User(user, "target-" + user,
                                    userdb_mailmove_source_password=legacy_password(user),
                                    userdb_mailmove_source=self.legacy.url("imaps", host)))
        self.limits = target("limits", limit_users,
                             dict(FAST_RETRIES, mailmove_max_workers="6",
                                  mailmove_max_per_host="2"))
        self.slice = target("slice", with_password("@slice.test"),
                            dict(FAST_RETRIES, mailmove_max_workers="1",
                                 mailmove_time_slice="2s"))
        mixed_users = with_password("@mixed.test") + with_password("@late.test")
        for user in mixed_users:
            if user.name == "authbad@mixed.test":
                user.extra_fields["userdb_mailmove_source_password"] = "not-the-password"
        self.mixed = target("mixed", mixed_users, dict(FAST_RETRIES, mailmove_max_workers="2"))
        # Real userdb users: the service believes no login of a user
        # userdb does not know.
        self.bench = target("bench", [User(u, "pw") for u in BENCH_USERS],
                            {"mailmove_max_workers": "0"})
        self.inspectors = {name: t.inspector(workdir) for name, t in self.targets.items()
                           if name != "bench"}
        self.secret_files = os.path.join(workdir, "csv")

    def start(self):
        if not os.path.exists(INSTALLED_EXAMPLE_CONFIG):
            raise RuntimeError("the product is not installed: %s is missing" %
                               INSTALLED_EXAMPLE_CONFIG)
        for user, (_, count, seed) in ACCOUNTS.items():
            self.messages[user] = corpus.Corpus(seed, DOMAIN).inbox(
                count, recipient=user, max_attachment=20_000)
            corpus.write_maildir(self.legacy.maildir(user), self.messages[user])
        os.makedirs(self.secret_files, exist_ok=True)
        self.legacy.start()
        for instance in list(self.targets.values()) + list(self.inspectors.values()):
            instance.start()

    def stop(self):
        stop_all([self.legacy] + list(self.targets.values()) + list(self.inspectors.values()))

    def logs(self):
        return [("%s log (tail, without IMAP traces)" % name,
                 t.log_tail(40, skip=r"Debug: mailmove: [CS]: "))
                for name, t in self.targets.items()] + [
            ("legacy log (tail)", self.legacy.log_tail(15))]

    def bytes_of(self, user):
        return corpus.total_bytes(self.messages[user])

    def slow_down(self, target, users, seconds):
        """Cap the users' moves (mailmove_max_bytes_per_second in their
        userdb fields) so the largest takes about `seconds`; returns the
        cap."""
        cap = max(self.bytes_of(user) for user in users) // seconds
        for user in users:
            target.users[user].extra_fields["userdb_mailmove_max_bytes_per_second"] = str(cap)
        target.add_user(target.users[users[0]])  # rewrites the passwd-file
        return cap


# -- shared steps ---------------------------------------------------------------

def wait_state(target, user, states, timeout=TIMEOUT, what=None):
    watch = mailmove.JobWatch(target, user)
    return watch.wait(lambda row: row["state"] in states, timeout,
                      what or "%s to be %s" % (user, "/".join(states)))


def check_moved(world, target_name, user, row=None):
    """The target INBOX holds exactly the legacy INBOX, each message once."""
    inspector = world.inspectors[target_name]
    reference = [m.record() for m in world.messages[user]]
    moved = compare.mailbox_records(inspector, user)
    problems = compare.diff(reference, moved)
    check(not problems, "target INBOX of %s differs from legacy:\n%s", user,
          compare.summarize(problems))
    if row is not None:
        check_equal((row["messages_done"], row["messages_total"]),
                    (len(reference), len(reference)), "%s messages done/total" % user)


def wait_running_with_progress(target, user):
    return mailmove.JobWatch(target, user).wait(
        lambda r: r["state"] == "running" and r["messages_done"] > 0, 60,
        "%s to be running with progress" % user)


def doveadm_ok(result, what):
    check(result.code == admin.EX_OK, "%s exited %d: %s %s", what, result.code,
          result.stdout.strip(), result.stderr.strip())
    return result.rows


def write_csv(world, name, text):
    path = os.path.join(world.secret_files, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def running_hosts(rows):
    """{legacy host: running moves} from status rows."""
    hosts = {}
    for row in rows:
        if row["state"] == "running":
            host = re.sub(r"^\w+://([^:/]+).*$", r"\1", row["source"])
            hosts[host] = hosts.get(host, 0) + 1
    return hosts


# -- credentials ------------------------------------------------------------------

@scenario("a-import-good-bad-and-hostile-lines")
def import_csv(world):
    """A CSV with quotes, commas and non-ASCII in passwords imports them
    exactly; a file with bad lines is reported line by line and imports
    nothing, unless -p asks for the valid lines; the hostile password then
    really logs in to the legacy server."""
    target = world.admin
    good = ('user,legacy_user,password,source\r\n'
            'hostile@example.com,,"Ä,""quo""te, ;pw-ß",\r\n'
            'imported@example.com,imported@example.com,imp-Pw.1,%s\r\n' % world.legacy.url())
    bad = ("user,legacy_user,password\n"
           "dup@example.com,,dup-Pw.1\n"         # 2 ok
           "missing@example.com,only-two\n"      # 3 missing field
           "dup@example.com,,other-secret\n"     # 4 duplicate user
           '"broken"quote@example.com,x,y\n'     # 5 text after a quote
           ",,nobody-secret\n"                   # 6 empty user
           "nopw@example.com,,\n"                # 7 empty password
           "\xff\xfe latin1@example.com,,x\n")   # 8 not UTF-8 (written below)
    path = write_csv(world, "bad.csv", "")
    with open(path, "wb") as f:
        f.write(bad.encode("utf-8").replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe"))
    result = admin.mailmove(target, "import", path)
    problems = {int(row["line"]): row["problem"] for row in result.rows}
    note("bad file: exit %d, %s", result.code, "; ".join(
        "line %d: %s" % item for item in sorted(problems.items())))
    check_equal(result.code, admin.EX_DATAERR, "exit code of an import with bad lines")
    check_equal(sorted(problems), [3, 4, 5, 6, 7, 8], "lines reported")
    check("already on line 2" in problems[4], "duplicate not named: %r", problems)
    for text in problems.values():
        check("secret" not in text, "a problem names a password: %r", text)
    check_equal(mailmove.status(target, "dup@example.com")["state"], "none",
                "dup's state after a refused import")
    row = admin.by_user(admin.mailmove(target, "status", "-u", "dup@example.com").rows)
    check_equal(row["dup@example.com"]["credentials"], "none", "nothing half-imported")

    result = admin.mailmove(target, "import", "-p", path)
    check_equal(result.code, admin.EX_DATAERR, "exit code of -p with bad lines")
    row = admin.mailmove(target, "status", "-u", "dup@example.com").rows[0]
    check_equal(row["credentials"], "import", "dup's credentials after import -p")

    doveadm_ok(admin.mailmove(target, "import", write_csv(world, "good.csv", good)), "import")
    os.unlink(os.path.join(world.secret_files, "good.csv"))
    rows = admin.by_user(doveadm_ok(admin.mailmove(target, "status", "-u", "*@example.com"),
                                    "status"))
    check_equal((rows["hostile@example.com"]["state"], rows["hostile@example.com"]["credentials"]),
                ("none", "import"), "hostile@ after import (known, not started)")
    doveadm_ok(admin.mailmove(target, "start", "-u", "hostile@example.com"), "start")
    doveadm_ok(admin.mailmove(target, "start", "-u", "imported@example.com"), "start")
    for user in ("hostile@example.com", "imported@example.com"):
        row = wait_state(target, user, ("done", "auth-failed", "failed"))
        check_equal(row["state"], "done", "%s's move (last_error %r)" % (user, row["last_error"]))
        check_moved(world, "admin", user, row)


@scenario("b-wrong-password-auth-failed-bounded-then-fixed")
def wrong_password(world):
    """A wrong imported password makes the move auth-failed after exactly
    mailmove_auth_retries + 1 legacy logins, and no more while it waits;
    `credentials set` (password on stdin) fixes one, a login that brings
    the right password fixes the other."""
    target, legacy = world.admin, world.legacy
    path = write_csv(world, "wrong.csv", "user,legacy_user,password\n"
                     "wrong@example.com,,not-right\nrelogin@example.com,,not-right\n")
    mark = legacy.log_mark()
    doveadm_ok(admin.mailmove(target, "import", path), "import")
    for user in ("wrong@example.com", "relogin@example.com"):
        doveadm_ok(admin.mailmove(target, "start", "-u", user), "start")
    for user in ("wrong@example.com", "relogin@example.com"):
        row = wait_state(target, user, ("auth-failed", "done", "failed"))
        check_equal(row["state"], "auth-failed", "%s with a wrong password" % user)
        check("AUTHENTICATIONFAILED" in row["last_error"] or "refused" in row["last_error"],
              "last_error does not say the login was refused: %r", row["last_error"])
    # Several retry delays later still nothing more is tried.
    time.sleep(4)
    for user in ("wrong@example.com", "relogin@example.com"):
        failed, ok = admin.legacy_login_attempts(legacy, user, mark)
        note("%s: %d failed legacy logins, state %s", user, failed,
             mailmove.status(target, user)["state"])
        check_equal((failed, ok), (2, 0), "%s's legacy logins (failed, ok)" % user)

    result = admin.mailmove(target, "credentials", "set", "-u", "wrong@example.com",
                            stdin=legacy_password("wrong@example.com").encode() + b"\n")
    doveadm_ok(result, "credentials set")
    row = wait_state(target, "wrong@example.com", ("done", "auth-failed"))
    check_equal((row["state"], row["credentials"]), ("done", "admin"), "wrong@ after credentials set")
    check_moved(world, "admin", "wrong@example.com", row)

    admin.imap_authenticate(target, "relogin@example.com", legacy_password("relogin@example.com"))
    row = wait_state(target, "relogin@example.com", ("done",), 60,
                     "the login's password to fix relogin@")
    check_equal(row["credentials"], "login", "relogin@'s credentials after its login")
    check_moved(world, "admin", "relogin@example.com", row)


@scenario("c-login-captured-credentials")
def login_captured(world):
    """The passdb hands the login's password to the session
    (userdb_mailmove_password=%w): the first login moves the mail with no
    admin involved. A LOGIN line with a password from another local uid is
    not believed."""
    target, user = world.admin, "captured@example.com"
    admin.imap_authenticate(target, user, legacy_password(user))
    row = wait_state(target, user, ("done", "auth-failed", "failed"))
    check_equal((row["state"], row["credentials"]), ("done", "login"), "captured@ after login")
    check_moved(world, "admin", user, row)

    mark = target.log_mark()
    nobody = 65534
    # With a source: one without (and no domain enabled) is dropped unread.
    admin.notify_logins(target, [(user, ["source=" + target.source_url,
                                         "password=planted-by-nobody"])], peer_uid=nobody)
    line = target.wait_for_log(r"Ignored a login notification", mark)
    note("service: %s", line.split("mailmove: ", 1)[-1])
    check("uid %d" % nobody in line, "the refusal does not name the sender's uid: %s", line)
    got = admin.mailmove(target, "test", "-u", user)
    check_equal(got.code, admin.EX_OK, "test with the stored (real) password after the attempt")


@scenario("d-master-user-credentials")
def master_user(world):
    """One master identity for a whole domain (credentials set -d with
    --master-user): users whose own passwords nobody knows are moved."""
    target = world.admin
    result = admin.mailmove(target, "credentials", "set", "-d", "master.test",
                            "--master-user", MASTER_USER, stdin=MASTER_PASSWORD.encode())
    doveadm_ok(result, "credentials set -d")
    doveadm_ok(admin.mailmove(target, "start", "-u", "m1@master.test"), "start")
    doveadm_ok(admin.mailmove(target, "start", "-u", "m2@master.test"), "start")
    for user in ("m1@master.test", "m2@master.test"):
        row = wait_state(target, user, ("done", "auth-failed", "failed"))
        check_equal((row["state"], row["credentials"]), ("done", "master"),
                    "%s (last_error %r)" % (user, row["last_error"]))
        check_moved(world, "admin", user, row)
    logins = [line for line in world.legacy.log_since().splitlines()
              if "%s user=<m1@master.test>" % LOGGED_IN in line]
    note("legacy: %s", logins[-1] if logins else "no login line")
    check(logins, "no legacy login of m1@master.test")


# -- actions --------------------------------------------------------------------

@scenario("e-start-pause-resume-retry-reset")
def actions(world):
    """start moves a user who never logged in; pause holds a queued move,
    resume releases it; retry of a done move is refused with a reason and
    DOVEADM_EX_NOTPOSSIBLE; reset forgets the progress and moves again
    without saving anything twice; unknown users are DOVEADM_EX_NOTFOUND."""
    target, user = world.admin, "acts@example.com"
    doveadm_ok(admin.mailmove(target, "credentials", "set", "-u", user,
                              stdin=legacy_password(user).encode()), "credentials set")
    doveadm_ok(admin.mailmove(target, "start", "-u", user), "start")
    # Queued or already running: pause holds it either way.
    doveadm_ok(admin.mailmove(target, "pause", "-u", user), "pause")
    check_equal(mailmove.status(target, user)["state"], "paused", "state after pause")
    result = admin.mailmove(target, "start", "-u", user)
    check_equal((result.code, result.rows[0]["result"]), (admin.EX_DATAERR, "unchanged"),
                "start of a paused move")
    note("start while paused: %s", result.rows[0]["reason"])
    time.sleep(1.5)
    check_equal(mailmove.status(target, user)["state"], "paused", "still paused")
    doveadm_ok(admin.mailmove(target, "resume", "-u", user), "resume")
    row = wait_state(target, user, ("done", "failed", "auth-failed"))
    check_equal(row["state"], "done", "acts@ after resume")
    check_moved(world, "admin", user, row)
    before = clients.imap_status(world.inspectors["admin"], user)

    result = admin.mailmove(target, "retry", "-u", user)
    check_equal(result.code, admin.EX_DATAERR, "retry of a done move")
    check("nothing to retry" in result.rows[0]["reason"], "reason: %r", result.rows)

    doveadm_ok(admin.mailmove(target, "reset", "-u", user), "reset")
    row = wait_state(target, user, ("done", "failed"))
    after = clients.imap_status(world.inspectors["admin"], user)
    check_equal(after, before, "target INBOX STATUS after reset and a new pass (no duplicates)")
    check_equal(row["attempts"], 1, "attempts after reset")

    result = admin.mailmove(target, "pause", "-u", "ghost@example.com")
    check_equal(result.code, admin.EX_NOHOST, "pause of an unknown user")
    result = admin.mailmove(target, "retry", "-A")
    check_equal(result.code, admin.EX_OK, "retry -A (a mask never fails on a state)")
    result = admin.mailmove(target, "start")
    check_equal(result.code, admin.EX_USAGE, "start without -u or -A")


@scenario("f-test-logs-in-and-lists-moving-nothing")
def test_command(world):
    """test logs in with the stored credentials and lists INBOX with its
    count without moving anything; a wrong password is EX_NOPERM."""
    target, user = world.admin, "tester@example.com"
    result = admin.mailmove(target, "test", "-u", user)
    check_equal(result.code, admin.EX_NOPERM, "test without any credentials")
    doveadm_ok(admin.mailmove(target, "credentials", "set", "-u", user,
                              stdin=b"wrong-" + legacy_password(user).encode()), "set")
    check_equal(admin.mailmove(target, "test", "-u", user).code, admin.EX_NOPERM,
                "test with a wrong password")
    doveadm_ok(admin.mailmove(target, "credentials", "set", "-u", user,
                              stdin=legacy_password(user).encode()), "set")
    rows = doveadm_ok(admin.mailmove(target, "test", "-u", user), "test")
    inbox = [r for r in rows if r["legacy_folder"] == "INBOX"]
    note("test: %s", rows)
    check(inbox and int(inbox[0]["messages"]) == len(world.messages[user]),
          "test does not list INBOX with %d messages: %r", len(world.messages[user]), rows)
    check_equal(clients.imap_status(world.inspectors["admin"], user)["MESSAGES"], 0,
                "messages at the target after test")
    check_equal(mailmove.status(target, user)["state"], "none", "state after test")
    table = admin.mailmove(target, "test", "-u", user, fmt=None)
    check("INBOX" in table.stdout, "table output lacks INBOX: %r", table.stdout)
    doveadm_ok(admin.mailmove(target, "credentials", "clear", "-u", user), "clear")
    check_equal(admin.mailmove(target, "status", "-u", user).rows[0]["credentials"], "none",
                "credentials after clear")


# -- scheduling -----------------------------------------------------------------

@scenario("g-window-expires-and-reopens")
def window(world):
    """A 6-second window: the move running when it closes finishes its pass,
    the one queued behind it and a later login expire, start is refused
    with the way out; window open reopens the domain and both are moved."""
    target = world.short
    world.slow_down(target, ["s2@short.test"], 10)
    doveadm_ok(admin.mailmove(target, "start", "-u", "s1@short.test"), "start s1")
    wait_state(target, "s1@short.test", ("done",), 60)
    doveadm_ok(admin.mailmove(target, "start", "-u", "s2@short.test"), "start s2")
    wait_state(target, "s2@short.test", ("running",), 30)
    doveadm_ok(admin.mailmove(target, "start", "-u", "s4@short.test"), "start s4")
    windows = doveadm_ok(admin.mailmove(target, "window"), "window")
    note("window: %s", windows)
    check(any(w["scope"] == "short.test" and w["state"] == "open" for w in windows),
          "no open window for short.test: %r", windows)
    row = wait_state(target, "s4@short.test", ("expired",), 30, "s4 to expire with the window")
    note("s4: %s", row["last_error"])
    row = mailmove.status(target, "s2@short.test")
    check_equal(row["state"], "running", "s2 when the window closed (finishes its pass)")
    clients.timed_imap_login(target, "s3@short.test")
    row = wait_state(target, "s3@short.test", ("expired",), 10, "s3's login after the window")
    result = admin.mailmove(target, "start", "-u", "s3@short.test")
    check_equal(result.code, admin.EX_DATAERR, "start after the window closed")
    check("window open -d short.test" in result.rows[0]["reason"], "reason: %r", result.rows)
    row = wait_state(target, "s2@short.test", ("done", "expired", "failed"))
    check_equal((row["state"], row["next_run"]), ("done", ""), "s2 after its last pass")
    check_moved(world, "short", "s2@short.test", row)

    doveadm_ok(admin.mailmove(target, "window", "open", "-d", "short.test", "-l", "1h"),
               "window open")
    for user in ("s3@short.test", "s4@short.test"):
        row = wait_state(target, user, ("done", "failed", "expired"))
        check_equal(row["state"], "done", "%s after the window reopened" % user)
        check_moved(world, "short", user, row)


@scenario("h-per-host-limit-and-bytes-cap")
def per_host_limit(world):
    """8 users on two legacy host names, 6 workers, at most 2 per host: never
    more than 2 run against one host, 4 run at once, and each capped move
    takes at least as long as its bytes allow."""
    target = world.limits
    cap = world.slow_down(target, LIMIT_USERS, 5)
    for user in LIMIT_USERS:
        clients.timed_imap_login(target, user)
    most, most_total, polls = {}, 0, 0
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        rows = mailmove.status_rows(target, "-u", "*@example.net")
        hosts = running_hosts(rows)
        polls += 1
        for host, count in hosts.items():
            most[host] = max(most.get(host, 0), count)
            check(count <= 2, "%d moves ran against %s at once: %r", count, host, hosts)
        most_total = max(most_total, sum(hosts.values()))
        if len(rows) == 8 and all(r["state"] in ("done", "failed") for r in rows):
            break
        time.sleep(0.2)
    note("%d polls; most running per host %s, at once %d", polls, most, most_total)
    check_equal(most_total, 4, "most moves running at once (2 hosts x 2)")
    for row in rows:
        check_equal(row["state"], "done", "%s (last_error %r)" % (row["user"], row["last_error"]))
        taken = mailmove.time_taken(row)
        # one second's worth comes at once, the rest at the cap
        floor = (row["bytes_total"] - cap) / cap - 1
        check(taken >= floor, "%s took %.0f s for %d bytes at %d bytes/s", row["user"], taken,
              row["bytes_total"], cap)
    note("bytes cap %d bytes/s; moves took %s s", cap,
         sorted(int(mailmove.time_taken(r)) for r in rows))
    check_moved(world, "limits", LIMIT_USERS[0])
    check_moved(world, "limits", LIMIT_USERS[-1])


@scenario("i-huge-mailbox-yields-to-others")
def time_slice(world):
    """One worker, a 2-second time slice: a huge capped move is running when
    a small one is queued; the small one is done long before the huge one,
    which continues where it stopped and ends complete, without
    duplicates."""
    target = world.slice
    world.slow_down(target, ["huge@slice.test"], 12)
    doveadm_ok(admin.mailmove(target, "start", "-u", "huge@slice.test"), "start huge")
    wait_state(target, "huge@slice.test", ("running",), 30)
    doveadm_ok(admin.mailmove(target, "start", "-u", "small@slice.test"), "start small")
    small = wait_state(target, "small@slice.test", ("done",), 60, "small to be moved")
    huge = mailmove.status(target, "huge@slice.test")
    note("small done at %s; huge then %s", small["finished"], mailmove.describe(huge))
    check(huge["state"] != "done", "huge finished before small: no time slice needed?")
    huge = wait_state(target, "huge@slice.test", ("done", "failed"))
    check_equal(huge["state"], "done", "huge's move (last_error %r)" % huge["last_error"])
    check(mailmove.parse_time(small["finished"]) < mailmove.parse_time(huge["finished"]),
          "small did not finish before huge")
    check(huge["attempts"] >= 2, "huge ran %d times: never yielded", huge["attempts"])
    check_moved(world, "slice", "huge@slice.test", huge)


# -- durability -----------------------------------------------------------------

@scenario("j-kill-9-keeps-acknowledged-changes")
def kill_service(world):
    """kill -9 of the service while moves run, right after a pause and a
    credentials change were acknowledged: the new service keeps both, the
    interrupted moves run again and end complete, and no process title ever
    showed a password."""
    target = world.admin
    # 30 s a move: the admin commands before the kill took over 6 s at
    # load 15, and a move that ends before the kill tests nothing.
    world.slow_down(target, ["k1@kill.test", "k2@kill.test", "k3@kill.test"], 30)
    for user in ("k1@kill.test", "k2@kill.test", "k3@kill.test"):
        doveadm_ok(admin.mailmove(target, "start", "-u", user), "start")
    for user in ("k1@kill.test", "k2@kill.test", "k3@kill.test"):
        wait_running_with_progress(target, user)
    titles = [title for pid in procs.descendants(target.master_pid)
              for title in [t for _, t in procs.children(pid)]] + [
        t for _, t in procs.children(target.master_pid)]
    leaked = [t for t in titles if any(legacy_password(u) in t for u in ACCOUNTS)]
    check(not leaked, "a process title shows a password: %r", leaked)
    doveadm_ok(admin.mailmove(target, "pause", "-u", "k3@kill.test"), "pause")
    doveadm_ok(admin.mailmove(target, "credentials", "set", "-u", "k4@kill.test",
                              stdin=b"k4-stored-Pw"), "credentials set")
    old_pid = target.mailmove_service_pid()
    os.kill(old_pid, signal.SIGKILL)
    note("killed the mailmove service (pid %d)", old_pid)
    new_pid = procs.wait_until(
        lambda: (target.mailmove_service_pid() or old_pid) != old_pid and
        target.mailmove_service_pid(), 10, what="a new mailmove service process")
    note("new service pid %d", new_pid)
    rows = admin.by_user(doveadm_ok(admin.mailmove(target, "status", "-u", "k*@kill.test"),
                                    "status"))
    check_equal(rows["k3@kill.test"]["state"], "paused", "k3 after kill -9")
    check_equal(rows["k4@kill.test"]["credentials"], "admin", "k4's credentials after kill -9")
    for user in ("k1@kill.test", "k2@kill.test"):
        check(rows[user]["state"] in ("queued", "running"), "%s after kill -9: %s", user,
              rows[user]["state"])
        row = wait_state(target, user, ("done", "failed"))
        check_equal(row["state"], "done", "%s (last_error %r)" % (user, row["last_error"]))
        check_moved(world, "admin", user, row)
    doveadm_ok(admin.mailmove(target, "resume", "-u", "k3@kill.test"), "resume")
    row = wait_state(target, "k3@kill.test", ("done", "failed"))
    check_moved(world, "admin", "k3@kill.test", row)


# -- what the admin sees ----------------------------------------------------------

@scenario("k-status-formats-masks-and-summary")
def status_views(world):
    """status -A in every formatter with the new fields after the old ones,
    masks, and the per-domain summary whose counts match the rows."""
    target = world.admin
    rows = doveadm_ok(admin.mailmove(target, "status", "-A"), "status -A")
    keys = list(rows[0].keys())
    check_equal(keys[:12], list(mailmove.FIELDS), "the first twelve fields (the contract)")
    check_equal(keys[12:], ["messages_failed", "next_run", "attempts", "credentials", "synced",
                            "folders_failed", "service_error", "backend"],
                "the fields after them")
    summary = doveadm_ok(admin.mailmove(target, "status", "-A", "-s"), "status -A -s")
    by_domain = {row["domain"]: row for row in summary}
    note("summary: %s", ", ".join("%s users=%s done=%s" % (d, r["users"], r["done"])
                                  for d, r in by_domain.items()))
    for domain in ("example.com", "master.test", "kill.test"):
        mine = [r for r in rows if r["user"].endswith("@" + domain)]
        check_equal(int(by_domain[domain]["users"]), len(mine), "%s users" % domain)
        check_equal(int(by_domain[domain]["done"]),
                    len([r for r in mine if r["state"] == "done"]), "%s done" % domain)
        check_equal(int(by_domain[domain]["messages_done"]),
                    sum(r["messages_done"] for r in mine), "%s messages_done" % domain)
    check_equal(int(by_domain["*"]["users"]), len(rows), "total users")
    masked = admin.mailmove(target, "status", "-u", "*@master.test").rows
    check_equal(sorted(r["user"] for r in masked), ["m1@master.test", "m2@master.test"], "mask")
    for fmt in ("table", "tab", "flow"):
        text = admin.mailmove(target, "status", "-u", "m1@master.test", fmt=fmt).stdout
        # The credentials column says "master" (not just the user's domain).
        check("m1@master.test" in text and "master" in text.replace("m1@master.test", ""),
              "-f %s: %r", fmt, text)


@scenario("l-metrics-count-job-events")
def metrics(world):
    """The example metric blocks count the service's job events."""
    dump = world.admin.doveadm("stats", "dump", fmt="tab").stdout.decode()
    names = ("mailmove_jobs_started", "mailmove_jobs_finished", "mailmove_jobs_failed")
    counts = {}
    for line in dump.splitlines()[1:]:
        fields = line.split("\t")
        # metric_name, field ("duration" for the event itself), count, ...;
        # group_by adds sub-metrics ("<name>_<value>"): count the whole
        if fields[0] in names and fields[1] == "duration":
            counts[fields[0]] = int(fields[2])
    note("doveadm stats dump: %s", counts)
    check(counts.get("mailmove_jobs_started", 0) >= 10, "started: %r", counts)
    check(counts.get("mailmove_jobs_finished", 0) >= 8, "finished: %r", counts)
    check(counts.get("mailmove_jobs_failed", 0) >= 4, "failed: %r", counts)


@scenario("m-no-password-in-clear-anywhere")
def no_clear_passwords(world):
    """No legacy or master password, and none of the import files' or
    doveadm's test passwords, is in any log, job table, vault or other file
    of any target (their passwd files aside: a target's own passwords are
    there by design) nor in the legacy server's log."""
    secrets = [pw for pw, _, _ in ACCOUNTS.values()] + [
        MASTER_PASSWORD, "not-right", "other-secret", "nobody-secret", "planted-by-nobody",
        "k4-stored-Pw"]
    leaks = []
    for instance in list(world.targets.values()) + list(world.inspectors.values()):
        leaks += [(path, secret) for path, secret in admin.files_containing(instance.root, secrets)
                  if os.path.basename(path) != "passwd" and "/mail/" not in path]
    leaks += admin.files_containing(world.legacy.log_path, secrets)
    note("searched %d targets' files and the legacy log for %d passwords",
         len(world.targets), len(secrets))
    check(not leaks, "passwords in clear:\n%s", "\n".join("%s: %s" % leak for leak in leaks))
    # Nor in the memory of the long-lived mailmove service (it took the
    # login's, doveadm's and the imports' passwords and handed them to
    # workers) or of an idle worker: copies freed without a wipe stay
    # in a process's heap until overwritten (issue 8, review 10).
    searched, in_memory, needles = 0, [], [secret.encode() for secret in secrets]
    for instance in world.targets.values():
        for service in ("mailmove", "mailmove-worker"):
            for pid in instance.service_pids(service):
                searched += 1
                held = procs.memory_containing(pid, needles)
                in_memory += ["%s %s pid %d: %s" % (instance.name, service, pid, secret.decode())
                              for secret in sorted(held)]
    note("searched the memory of %d mailmove service and worker processes", searched)
    check(searched, "no mailmove service process to search")
    check(not in_memory, "passwords in memory:\n%s", "\n".join(in_memory))
    vault = os.path.join(world.admin.state_dir, "mailmove", "credentials.vault")
    key = os.path.join(world.admin.state_dir, "mailmove", "vault.key")
    check(os.path.getsize(vault) > 0, "the vault is empty")
    check_equal(oct(os.stat(key).st_mode & 0o777), "0o600", "vault key mode")


# -- benchmarks (figures, not timed tests) -------------------------------------------

@scenario("n-bench-status-of-10000-jobs")
def bench_status(world):
    target = world.bench
    users = BENCH_USERS
    started = time.monotonic()
    admin.notify_logins(target, [(u, ["source=imap://legacy.example"]) for u in users])
    procs.wait_until(lambda: len(admin.mailmove(target, "status", "-A").rows) == 10000, 120,
                     interval=0.5, what="10,000 jobs")
    note("10,000 logins queued in %.1f s", time.monotonic() - started)
    for args in (("status", "-A"), ("status", "-A", "-s")):
        times = []
        for _ in range(3):
            t0 = time.monotonic()
            result = admin.mailmove(target, *args)
            times.append(time.monotonic() - t0)
        note("doveadm -f json mailmove %s: %d rows, best %.3f s, median %.3f s", " ".join(args),
             len(result.rows), min(times), statistics.median(times))
    check_equal(len(result.rows), 26, "summary rows (25 domains and the total)")


@scenario("o-bench-login-hook-latency")
def bench_login(world):
    """What the login hook costs a login: its own time (from its debug
    line) for logins that bring a password to the service, and IMAP
    AUTHENTICATE + SELECT at the target against a plain Dovecot on the
    same mail, interleaved so load on the machine hits both alike."""
    user = "captured@example.com"
    samples = {"with plugin": [], "without": []}
    mark = world.admin.log_mark()
    for _ in range(300):
        for name, instance in (("with plugin", world.admin), ("without", world.inspectors["admin"])):
            t0 = time.monotonic()
            admin.imap_authenticate(instance, user, legacy_password(user))
            samples[name].append((time.monotonic() - t0) * 1000)

    def percentiles(values):
        values = sorted(values)
        return values[len(values) // 2], values[int(len(values) * 0.99) - 1]
    for name, values in samples.items():
        note("login %s: p50 %.2f ms, p99 %.2f ms over %d logins", name,
             *percentiles(values), len(values))
    hook_us = [int(m.group(1)) for m in re.finditer(
        r"Login reported to the mailmove service.* in (\d+) us", world.admin.log_since(mark))]
    check(len(hook_us) >= 300, "only %d hook timings in the log", len(hook_us))
    p50, p99 = percentiles([us / 1000 for us in hook_us])
    note("the hook itself: p50 %.3f ms, p99 %.3f ms over %d logins", p50, p99, len(hook_us))


@scenario("p-closing-status-of-a-project")
def closing_status(world):
    """One target with users in every state an admin meets: done,
    auth-failed, running, queued and expired; status -A shows them."""
    target = world.mixed
    world.slow_down(target, ["slow1@mixed.test", "slow2@mixed.test"], 60)
    doveadm_ok(admin.mailmove(target, "start", "-u", "done1@mixed.test"), "start")
    wait_state(target, "done1@mixed.test", ("done",), 60)
    doveadm_ok(admin.mailmove(target, "start", "-u", "authbad@mixed.test"), "start")
    wait_state(target, "authbad@mixed.test", ("auth-failed",), 60)
    doveadm_ok(admin.mailmove(target, "window", "close", "-d", "late.test"), "window close")
    clients.timed_imap_login(target, "late@late.test")
    wait_state(target, "late@late.test", ("expired",), 10)
    for user in ("slow1@mixed.test", "slow2@mixed.test", "waiting@mixed.test"):
        doveadm_ok(admin.mailmove(target, "start", "-u", user), "start")
    for user in ("slow1@mixed.test", "slow2@mixed.test"):
        wait_running_with_progress(target, user)
    table = admin.mailmove(target, "status", "-A", fmt=None).stdout
    for line in table.rstrip().splitlines():
        note("%s", line)
    states = {row["user"]: row["state"] for row in admin.mailmove(target, "status", "-A").rows}
    check_equal(sorted(set(states.values())),
                ["auth-failed", "done", "expired", "queued", "running"], "states shown")
    summary = admin.mailmove(target, "status", "-A", "-s", fmt=None).stdout
    for line in summary.rstrip().splitlines():
        note("%s", line)
