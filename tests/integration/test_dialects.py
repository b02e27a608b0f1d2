"""Provider dialects after the login (issue 11): throttling answers and
the presets' folder names, against a real legacy Dovecot.

Throttling: no packaged server throttles like a hosted provider, so a
proxy in front of the legacy Dovecot (lib/throttling_proxy.py) lets a
session's first UID FETCH of bodies through and answers the next ones as
Gmail ("NO [THROTTLED] ...") or Microsoft 365 ("BAD Request is throttled.
Suggested Backoff Time: N milliseconds") do. The admin's presets in
/etc/dovecot/mailmove-providers.conf (where the worker reads them) and
beside the target's dovecot.conf (where `doveadm -c` reads them) list
those answers. The move stops, keeps what it committed, and waits the
provider's backoff: state queued, last_error says the provider throttles,
next_run is the backoff away (not the service's minute for failures), and
no failure is counted. Once the proxy stops throttling, a run completes
the move with every message exactly once.

Folder names: the legacy Dovecot declares no SPECIAL-USE; its folders
have provider-style names that no built-in rule knows. A preset's
folder_sent/_drafts/_trash/_junk give them their roles: their mail lands
in the target's special-use Sent, Drafts, Trash and Junk (the target
declares them as Debian's 15-mailboxes.conf does: lib/tree_servers.py). A
control user without the preset keeps the names as they are.
"""

import os
import time

from lib import compare, corpus, mailmove
from lib.dovecot import LegacyInstance, User, failure_logs, \
    require_installed_plugin, stop_all
from lib.imap_tree import list_folders
from lib.move_steps import login_and_move, run_foreground, run_move
from lib.scenario import check, check_equal, note, scenario
from lib.throttling_proxy import ThrottlingProxy
from lib.tree_corpus import TARGET_SPECIAL_USE
from lib.tree_servers import TreeTargetInstance
from lib import clients

GMAIL_USER = "busy@example.com"
MICROSOFT_USER = "tenant@example.com"
FOLDER_USER = "folders@example.com"
CONTROL_USER = "plain@example.com"
LEGACY_PASSWORD = "legacy-dialect-Pw.5"
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
EX_TEMPFAIL = 75
ADMIN_PRESETS = "/etc/dovecot/mailmove-providers.conf"
# Many MB, so the move needs several UID FETCH batches.
INBOX = dict(count=70, big=2, max_attachment=150_000)
GMAIL_ANSWER = b"NO [THROTTLED] Too many commands, slow down (test)"
GMAIL_BACKOFF = 2 * 3600
MICROSOFT_SUGGESTED = 5400  # seconds, said in milliseconds by the answer
MICROSOFT_ANSWER = (b"BAD Request is throttled. Suggested Backoff Time: %d milliseconds"
                    % (MICROSOFT_SUGGESTED * 1000))
# Provider-style special folders no built-in name rule knows, and their
# roles.
PRESET_FOLDERS = {"Sent (Corp)": "\\Sent", "Unsent": "\\Drafts", "Recycled": "\\Trash",
                  "Suspected Spam": "\\Junk"}

PRESETS = """# test_dialects.py
[throttle-gmail]
title = a provider that throttles like Gmail
imap = imap://127.0.0.1:1
throttle = [THROTTLED]
throttle_backoff = 2h

[throttle-microsoft]
title = a provider that throttles like Microsoft 365
imap = imap://127.0.0.1:1
throttle = Request is throttled
throttle_backoff = 10m

[folders-test]
title = a provider with its own special folder names
imap = imap://127.0.0.1:1
folder_sent = Sent (Corp)
folder_drafts = Unsent
folder_trash = Recycled
folder_junk = Suspected Spam
"""


class World:
    def __init__(self, workdir):
        users = [User(u, LEGACY_PASSWORD)
                 for u in (GMAIL_USER, MICROSOFT_USER, FOLDER_USER, CONTROL_USER)]
        self.legacy = LegacyInstance(workdir, "dialect-legacy", users=users)
        self.workdir = workdir
        self.gmail = self.microsoft = None
        self.target = self.inspector = None
        self.messages = {}
        self.wrote_presets = False

    def start(self):
        require_installed_plugin()
        for seed, user in enumerate((GMAIL_USER, MICROSOFT_USER), 31):
            self.messages[user] = corpus.Corpus(seed).inbox(recipient=user, **INBOX)
            corpus.write_maildir(self.legacy.maildir(user), self.messages[user])
        folder_mail = corpus.Corpus(41).inbox(24, recipient=FOLDER_USER)
        for n, message in enumerate(folder_mail):
            message.folder = (["INBOX"] + list(PRESET_FOLDERS))[n % (len(PRESET_FOLDERS) + 1)]
        self.messages[FOLDER_USER] = folder_mail
        for user in (FOLDER_USER, CONTROL_USER):
            corpus.write_maildir(self.legacy.maildir(user), folder_mail)
        self.legacy.start()
        port = self.legacy.ports["imap"]
        self.gmail = ThrottlingProxy(port, GMAIL_ANSWER).start()
        self.microsoft = ThrottlingProxy(port, MICROSOFT_ANSWER).start()
        check(not os.path.exists(ADMIN_PRESETS),
              "%s exists: not replacing this machine's presets" % ADMIN_PRESETS)
        with open(ADMIN_PRESETS, "w") as f:
            self.wrote_presets = True
            f.write(PRESETS)
        common = dict(userdb_mailmove_source_password=LEGACY_PASSWORD)
        self.target = TreeTargetInstance(
            self.workdir, self.legacy.url("imap"), name="dialect-target",
            plugin_settings={"mailmove_source_starttls": "no"},
            users=[User(GMAIL_USER, "t-pw", userdb_mailmove_source=self.gmail.url(),
                        userdb_mailmove_provider="throttle-gmail", **common),
                   User(MICROSOFT_USER, "t-pw", userdb_mailmove_source=self.microsoft.url(),
                        userdb_mailmove_provider="throttle-microsoft", **common),
                   User(FOLDER_USER, "t-pw", userdb_mailmove_provider="folders-test",
                        **common),
                   User(CONTROL_USER, "t-pw", **common)])
        self.target.start()
        with open(os.path.join(self.target.root, "mailmove-providers.conf"), "w") as f:
            f.write(PRESETS)
        self.inspector = self.target.inspector(self.workdir)
        self.inspector.start()

    def stop(self):
        for proxy in (self.gmail, self.microsoft):
            if proxy is not None:
                proxy.stop()
        stop_all([i for i in (self.target, self.inspector, self.legacy) if i])
        if self.wrote_presets:
            os.unlink(ADMIN_PRESETS)

    def logs(self):
        return failure_logs(self.target, self.legacy)


def moved_records(world, user, mailbox="INBOX"):
    """The target's records of mailbox, after checking that each came from
    the legacy INBOX once."""
    legacy = compare.mailbox_records(world.legacy, user)
    target = compare.mailbox_records(world.inspector, user, mailbox)
    extra = [p for p in compare.diff(legacy, target) if p.kind != "missing"]
    check(not extra, "the target has what the legacy has not:\n%s", compare.summarize(extra))
    return target


def check_waiting(row, what, backoff, answer):
    """row (a status row) waits the provider's backoff after a throttle."""
    note("%s: %s", what, mailmove.describe(row))
    check_equal(row["state"], "queued", "state of %s" % what)
    check("the provider is throttling; waiting %d s" % backoff in row["last_error"] and
          answer.decode() in row["last_error"],
          "last_error of %s does not say so: %r", what, row["last_error"])
    # The service's own backoff for failures (mailmove_retry_delay, a
    # minute doubling per failure in a row) would be far shorter.
    waited = mailmove.parse_time(row["next_run"]) - mailmove.parse_time(row["finished"])
    check(abs(waited - backoff) <= 5, "next_run of %s is %d s after the run, not %d",
          what, waited, backoff)


def finish_after_throttling(world, proxy, user):
    proxy.throttling = False
    run_move(world.target, user, TIMEOUT)
    legacy = compare.mailbox_records(world.legacy, user)
    problems = compare.diff(legacy, compare.mailbox_records(world.inspector, user))
    check(not problems, "after the throttling:\n%s", compare.summarize(problems))
    check_equal(mailmove.status(world.target, user)["state"], "done", "state at the end")


@scenario("throttled-after-login-waits-the-providers-backoff")
def gmail_throttling(world):
    total = len(world.messages[GMAIL_USER])
    row, _ = login_and_move(world.target, GMAIL_USER, TIMEOUT, require_done=False)
    check(world.gmail.refusals > 0, "the proxy refused nothing")
    check_waiting(row, "the login's move", GMAIL_BACKOFF, GMAIL_ANSWER)
    moved = len(moved_records(world, GMAIL_USER))
    note("%d of %d messages moved before the throttle; %d FETCHes refused", moved, total,
         world.gmail.refusals)
    check(0 < moved < total, "%d of %d messages moved before the throttle", moved, total)
    finish_after_throttling(world, world.gmail, GMAIL_USER)


@scenario("throttled-with-the-servers-suggested-backoff")
def microsoft_throttling(world):
    started = time.time()
    result = run_foreground(world.target, MICROSOFT_USER, TIMEOUT)
    note("run -u while throttled: exit %d, %r", result["exit_code"], result["error"])
    check_equal(result["exit_code"], EX_TEMPFAIL, "exit code of a throttled run")
    check("waiting %d s" % MICROSOFT_SUGGESTED in result["error"],
          "the run's error: %r", result["error"])
    row = mailmove.status(world.target, MICROSOFT_USER)
    check_waiting(row, "the throttled run", MICROSOFT_SUGGESTED, MICROSOFT_ANSWER)
    check(mailmove.parse_time(row["next_run"]) >= started + MICROSOFT_SUGGESTED - 5,
          "next_run %s is not the suggested wait away", row["next_run"])
    finish_after_throttling(world, world.microsoft, MICROSOFT_USER)


def target_folders(world, user):
    """name -> special-use attributes of the user's folders at the target."""
    with clients.imap_session(world.inspector, user) as conn:
        return {f.name: f.special_use for f in list_folders(conn)}


@scenario("preset-folder-names-give-legacy-folders-roles")
def preset_folder_names(world):
    messages = world.messages[FOLDER_USER]
    for user in (FOLDER_USER, CONTROL_USER):
        run_move(world.target, user, TIMEOUT, want_saved=len(messages))
    with_preset = target_folders(world, FOLDER_USER)
    without = target_folders(world, CONTROL_USER)
    note("with the preset: %s; without: %s", sorted(with_preset), sorted(without))
    for legacy_name, role in PRESET_FOLDERS.items():
        role_name = TARGET_SPECIAL_USE[role]
        expected = [m for m in messages if m.folder == legacy_name]
        check(legacy_name not in with_preset, "%s kept its name with the preset", legacy_name)
        check(role.lower() in with_preset.get(role_name, ()),
              "the target's %s is not %s: %r", role_name, role, with_preset.get(role_name))
        check(legacy_name in without, "%s renamed without the preset", legacy_name)
        for user, folder in ((FOLDER_USER, role_name), (CONTROL_USER, legacy_name)):
            records = compare.mailbox_records(world.inspector, user, folder)
            check_equal(len(records), len(expected), "%s's %s" % (user, folder))
            legacy = compare.mailbox_records(world.legacy, user, legacy_name)
            problems = compare.diff(legacy, records)
            check(not problems, "%s -> %s of %s:\n%s", legacy_name, folder, user,
                  compare.summarize(problems))
