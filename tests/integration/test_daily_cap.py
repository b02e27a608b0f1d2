"""A legacy account's daily download cap (issue 11, dialects: Gmail lets an
account download 2,500 MB a day over IMAP and locks it out past that).

The user's mailmove_max_bytes_per_day (a userdb field here) is a third of
the legacy INBOX. A login
starts the move; it stops when the cap is spent, without reading a byte
past it, and waits: state queued, last_error says so, next_run is when the
24 hours since the period's first read are over (not the service's short
backoff). A `doveadm mailmove run` meanwhile reads nothing and says the
same. Each time the count file is made a day older, the next run goes on
where the last stopped; in the end every message is there exactly once.
A second user has no such setting but a provider preset with
daily_download in the admin's /etc/dovecot/mailmove-providers.conf (where
the worker, a Dovecot service that sees only the config socket, reads it):
the preset's cap stops it.
"""

import glob
import os
import time

from lib import compare, corpus, mailmove
from lib.admin import mailmove as doveadm_mailmove
from lib.dovecot import LegacyInstance, TargetInstance, User, failure_logs, \
    require_installed_plugin, stop_all
from lib.move_steps import login_and_move
from lib.scenario import check, check_equal, note, scenario

DOMAIN = "example.com"
USER = "capped@" + DOMAIN
PRESET_USER = "preset@" + DOMAIN
LEGACY_PASSWORD = "legacy-capped-Pw.3"
PRESET = "capped-test"
PRESET_CAP_KB = 200
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
INBOX = dict(seed=91, count=80, max_attachment=30_000)
DAY = 24 * 3600
COUNT_FILE = "dovecot-mailmove.downloads"
EX_TEMPFAIL = 75
# configure's --with-dovecot-confdir, as check.sh builds
ADMIN_PRESETS = "/etc/dovecot/mailmove-providers.conf"


class World:
    def __init__(self, workdir):
        self.messages = corpus.inbox_from_spec(INBOX, USER, DOMAIN)
        self.cap = sum(len(m.raw) for m in self.messages) // 3
        self.legacy = LegacyInstance(workdir, users=[User(USER, LEGACY_PASSWORD),
                                                     User(PRESET_USER, LEGACY_PASSWORD)])
        self.target = TargetInstance(
            workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path,
            users=[User(USER, "target-capped-pw",
                        userdb_mailmove_source_password=LEGACY_PASSWORD,
                        userdb_mailmove_max_bytes_per_day=str(self.cap)),
                   User(PRESET_USER, "target-preset-pw",
                        userdb_mailmove_source_password=LEGACY_PASSWORD,
                        userdb_mailmove_provider=PRESET)])
        self.inspector = self.target.inspector(workdir)
        self.wrote_presets = False

    def start(self):
        require_installed_plugin()
        for user in (USER, PRESET_USER):
            corpus.write_maildir(self.legacy.maildir(user), self.messages)
        self.legacy.start()
        check(not os.path.exists(ADMIN_PRESETS),
              "%s exists: not replacing this machine's presets" % ADMIN_PRESETS)
        with open(ADMIN_PRESETS, "w") as f:
            self.wrote_presets = True
            f.write("[%s]\ntitle = a provider with a daily cap\nimap = %s\n"
                    "daily_download = %dk\n" % (PRESET, self.legacy.url("imaps"),
                                                 PRESET_CAP_KB))
        self.target.start()
        self.inspector.start()

    def stop(self):
        stop_all([self.target, self.legacy, self.inspector])
        if self.wrote_presets:
            os.unlink(ADMIN_PRESETS)

    def logs(self):
        return failure_logs(self.target, self.legacy)


def count_file(world, user=USER):
    found = glob.glob(os.path.join(world.target.home(user), "**", COUNT_FILE),
                      recursive=True)
    check(len(found) == 1, "%d files %s under %s", len(found), COUNT_FILE,
          world.target.home(user))
    return found[0]


def read_count(world, user=USER):
    """(period start, bytes read in it) from the user's count file."""
    with open(count_file(world, user)) as f:
        start, spent = f.read().split()
    return int(start), int(spent)


def age_count_by_a_day(world):
    """What 24 hours of waiting would do, without the wait."""
    start, spent = read_count(world)
    path = count_file(world)
    with open(path, "w") as f:
        f.write("%d %d\n" % (start - DAY, spent))


def check_no_duplicates(world):
    """Whatever is at the target came from the legacy INBOX, once."""
    legacy = compare.mailbox_records(world.legacy, USER)
    target = compare.mailbox_records(world.inspector, USER)
    extra = [p for p in compare.diff(legacy, target) if p.kind != "missing"]
    check(not extra, "the target INBOX has what the legacy has not:\n%s",
          compare.summarize(extra))
    return len(target)


def check_deferred(world, row, what, user=USER, cap=None):
    """row (a status row) is waiting for the cap's 24 hours."""
    cap = cap or world.cap
    start, spent = read_count(world, user)
    note("%s: %s; count file: %d bytes since %d", what, mailmove.describe(row), spent, start)
    check_equal(row["state"], "queued", "state of %s" % what)
    check("daily download cap of" in row["last_error"] and "is reached" in row["last_error"],
          "last_error of %s does not name the cap: %r", what, row["last_error"])
    check(spent <= cap, "%d bytes read, over the cap of %d", spent, cap)
    next_run = mailmove.parse_time(row["next_run"])
    check(abs(next_run - (start + DAY)) <= 1,
          "next_run %s is not the end of the period (%d + 24 h)", row["next_run"], start)


@scenario("daily-cap-stops-the-move-waits-a-day-then-finishes-exactly-once")
def daily_cap(world):
    total = len(world.messages)
    note("legacy INBOX: %d messages, %d bytes; cap %d bytes a day", total,
         sum(len(m.raw) for m in world.messages), world.cap)
    row, _ = login_and_move(world.target, USER, TIMEOUT, require_done=False)
    check_deferred(world, row, "the login's move")
    check(time.time() + DAY - 120 <= mailmove.parse_time(row["next_run"]),
          "next_run %s is not a day away", row["next_run"])
    moved = check_no_duplicates(world)
    check(0 < moved < total, "%d of %d messages moved before the cap", moved, total)

    # A foreground run while the cap is spent reads nothing.
    result = doveadm_mailmove(world.target, "run", "-u", USER, timeout=TIMEOUT)
    note("run -u while capped: exit %d, %r", result.code, result.rows)
    check_equal(result.code, EX_TEMPFAIL, "exit code of a run while the cap is spent")
    check("daily download cap" in result.rows[0]["error"], "the run's error: %r",
          result.rows[0]["error"])
    check_equal(check_no_duplicates(world), moved, "messages at the target after that run")
    check_deferred(world, mailmove.status(world.target, USER), "the job after that run")

    days = 0
    while True:
        age_count_by_a_day(world)
        days += 1
        check(days <= 15, "not done after %d days' worth of caps", days)
        result = doveadm_mailmove(world.target, "run", "-u", USER, timeout=TIMEOUT)
        row = result.rows[0]
        now_moved = check_no_duplicates(world)
        note("day %d: run exit %d, result %s, %d messages at the target", days + 1,
             result.code, row["result"], now_moved)
        if row["result"] == "done":
            break
        check(now_moved > moved, "day %d moved nothing", days + 1)
        moved = now_moved
        check_deferred(world, mailmove.status(world.target, USER), "day %d's run" % (days + 1))

    legacy = compare.mailbox_records(world.legacy, USER)
    target = compare.mailbox_records(world.inspector, USER)
    problems = compare.diff(legacy, target)
    check(not problems, "after %d days:\n%s", days + 1, compare.summarize(problems))
    check_equal(mailmove.status(world.target, USER)["state"], "done", "state at the end")


@scenario("daily-cap-from-the-provider-preset")
def preset_cap(world):
    row, _ = login_and_move(world.target, PRESET_USER, TIMEOUT, require_done=False)
    check_deferred(world, row, "the preset user's move", PRESET_USER, PRESET_CAP_KB * 1024)
    check("daily download cap of %d kB" % PRESET_CAP_KB in row["last_error"],
          "last_error does not name the preset's cap: %r", row["last_error"])
