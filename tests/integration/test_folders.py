"""Full-fidelity IMAP moving from a legacy Dovecot (issue 3): whole folder
trees, names in many scripts, special-use roles, subscriptions, flags,
keywords and dates; reruns, the uid order, a changed UIDVALIDITY, messages
the target refuses, filters.

The legacy Dovecot (lib/tree_servers.py) holds, for each user, the tree of
tree_corpus.dovecot_tree(): nested folders with Chinese, Cyrillic, Greek,
accented and emoji names, spaces, "&", quotes, a "." (the target's
separator) inside a name, a decomposed (NFD) name, \\Noselect parents,
special-use marks and localized special folders, Gmail's virtual folders,
some subscriptions; mail with keywords ($Forwarded, $MDNSent, NonJunk,
custom), \\Deleted messages, bare-LF, 8-bit and RFC 2047 (UTF-8, GBK,
Big5) headers, messages without or with a shared Message-ID, identical
copies, an empty body, a zero-byte message, multi-MB messages. Each
scenario has its own user, so none depends on another's result.

Every scenario ends with the whole-tree comparison of lib/tree_compare.py
and prints its table. Scenario a moves into a new account, as the first
login of a user makes it, and its tree also has names too long for the
target's Maildir++ as they are; for the other scenarios the user's mail client
has already created the target's special-use folders (Sent, Drafts...).

Sizes:
  MAILMOVE_IT_TREE_SCALE  multiplies the messages per folder (default 1:
                          about 220 per user)
  MAILMOVE_IT_TIMEOUT     seconds a move may take (default 300)
"""

import os
import re
import time

from lib import clients, compare, mailmove, move_steps, tree_corpus
from lib.dovecot import DIALECT, User
from lib.imap_tree import ImapWire, examine, list_folders, mutf7_encode
from lib.move_steps import check_log_clean, show_report
from lib.scenario import check, check_equal, note, scenario
from lib.tree_compare import check_uids_kept, compare_tree
from lib.tree_servers import TreeLegacyInstance, TreeTargetInstance, TreeWorld

DOMAIN = "example.com"
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
SCALE = int(os.environ.get("MAILMOVE_IT_TREE_SCALE", "1"))
# Larger than every corpus message but the multi-MB ones (2-6 MB).
QUOTA_MAX_MAIL_SIZE = "1M"
FILTER_SINCE = "2016-01-01"
FILTER_MAX_SIZE = 100 * 1024
FILTER_EXCLUDES = ["Работа", "/(?i)gesendet/"]
# Expunged before the uid-order move: {folder path: UIDs}
UID_GAPS = {("INBOX",): "2:4,9,20", ("Archives", "2019"): "1,3", ("Работа", "Отчёты"): "2"}

# user part -> (corpus seed, the user's settings at the target)
USERS = {
    "tree": (41, {}),                                        # a
    "rerun": (46, {}),                                       # d
    "uidkeep": (42, {"userdb_mailmove_order": "uid"}),       # e
    "reindex": (43, {}),                                     # f
    "quota": (44, {"userdb_mail_plugins": "mailmove,quota",  # g
                   "userdb_quota": "count:User",
                   "userdb_quota_vsizes": "yes",
                   "userdb_quota_max_mail_size": QUOTA_MAX_MAIL_SIZE}
              if DIALECT == "2.3" else
              # 2.4: the quota root is a named block of the config
              # (QuotaTreeTarget); count always counts virtual sizes.
              {"userdb_mail_plugins": "mailmove,quota",
               "userdb_quota_mail_size": QUOTA_MAX_MAIL_SIZE}),
    "filter": (45, {"userdb_mailmove_since": FILTER_SINCE,   # h
                    "userdb_mailmove_max_message_size": "100k",
                    "userdb_mailmove_folder_exclude": FILTER_EXCLUDES[0],
                    "userdb_mailmove_folder_exclude2": FILTER_EXCLUDES[1]}),
}


def address(name):
    return "%s@%s" % (name, DOMAIN)


def legacy_password(name):
    # A quote and a backslash: LOGIN must quote them. (No blank:
    # passwd-file extra fields are separated by blanks; 8-bit passwords
    # are test_imap_protocol's, imaplib here cannot send them.)
    return 'Tr"ee\\%s7' % name


class QuotaTreeTarget(TreeTargetInstance):
    """On 2.4 the quota root "User" that the quota user's userdb fields
    use must be declared in the config (the quota plugin, and with it
    the root, is on for that user only)."""

    def _extra_config(self):
        return super()._extra_config() + ('quota "User" {\n}\n' if DIALECT == "2.4" else "")


class World(TreeWorld):
    """The legacy Dovecot with every user's tree, the target with the
    plugin and special-use folders, and its inspector."""

    def __init__(self, workdir):
        self.legacy = TreeLegacyInstance(workdir, users=[
            User(address(name), legacy_password(name)) for name in USERS])
        self.target = QuotaTreeTarget(
            workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path,
            users=[User(address(name), "target-%s-pw" % name,
                        userdb_mailmove_source_password=legacy_password(name), **settings)
                   for name, (_, settings) in USERS.items()])
        self.inspector = self.target.inspector(workdir)
        self.trees = {}

    def start(self):
        self.require_product()
        self.legacy.start()
        started = time.monotonic()
        total = total_bytes = 0
        for name, (seed, _) in USERS.items():
            tree = tree_corpus.dovecot_tree(SCALE, long_names=name == "tree")
            mail = tree_corpus.TreeCorpus(seed, DOMAIN, address(name)).tree_messages(tree)
            total += tree_corpus.seed_tree(self.legacy.ports["imap"], address(name),
                                           legacy_password(name), tree, mail)
            # Neither APPEND nor any server makes a zero-byte message; a
            # broken delivery does.
            tree_corpus.write_zero_byte_message(
                self.legacy.folder_dir(address(name), "INBOX/Rechnungen"),
                tree_corpus.date_of(2020, 5, 5))
            self.trees[name] = tree
            total_bytes += sum(len(m.raw) for messages in mail.values() for m in messages)
        note("legacy trees seeded over IMAP in %.1f s: %d users, %d folders and %d messages "
             "(%.1f MB) each on average", time.monotonic() - started, len(USERS),
             len(tree.folders), total // len(USERS), total_bytes / len(USERS) / 1e6)
        self.target.start()
        self.inspector.start()
        for name in USERS:
            if name != "tree":
                move_steps.create_special_folders(self.target, address(name))
        note("legacy %s, target %s (imap %d, lmtp %d)", self.legacy.url("imaps"),
             self.target.config_path, self.target.ports["imap"], self.target.ports["lmtp"])


# -- shared steps ---------------------------------------------------------

def compare_accounts(world, name, tree=None, checked=True, **options):
    """The whole-tree comparison of name's legacy and target accounts,
    printed; checked: fail the scenario on any difference."""
    result = compare_tree("legacy Dovecot -> target (%s)" % address(name), world.legacy,
                          address(name), world.inspector, address(name),
                          tree or world.trees[name], legacy_password=legacy_password(name),
                          **options)
    result.show()
    if checked:
        result.check()
    return result


def run_move(world, name, want_saved=None):
    return move_steps.run_move(world.target, address(name), TIMEOUT, want_saved)


def legacy_state(world, name):
    """{folder: (UIDVALIDITY, UIDNEXT, sorted (UID, SHA-256, flags, date))}
    of name's legacy account, to prove the moves never change it."""
    state = {}
    with clients.imap_session(world.legacy, address(name), legacy_password(name)) as conn:
        for folder in list_folders(conn):
            if not folder.selectable:
                continue
            uidvalidity, _ = examine(conn, folder.raw)
            uidnext = int(conn.untagged_responses.get("UIDNEXT", [b"0"])[-1])
            records = sorted((r.uid, r.sha256, r.flags, r.internaldate)
                             for r in compare.fetch_records(conn))
            state[folder.name] = (uidvalidity, uidnext, records)
    return state


def append_legacy(world, name, folder_path, messages):
    tree = world.trees[name]
    with ImapWire(world.legacy.ports["imap"]) as wire:
        wire.login(address(name), legacy_password(name))
        wire.append_many(tree.raw_name(tree.find(*folder_path)),
                         [m.append_item() for m in messages])


def moved_folders(tree):
    """Specs of the folders whose mail moves (selectable, not skipped)."""
    return [spec for spec in tree.folders if spec.target is not None and not spec.implicit]


# -- scenarios ------------------------------------------------------------

@scenario("a-dovecot-tree-moves-exactly")
def dovecot_tree_moves(world):
    """tree's first IMAP login moves the whole legacy tree (with the names
    too long for Maildir++ as they are) into a new account; the comparison
    finds zero differences; status and the report account for every
    folder; the legacy account is unchanged."""
    name = "tree"
    tree = world.trees[name]
    mark = world.target.log_mark()
    before = legacy_state(world, name)
    row, seconds = move_steps.login_and_move(world.target, address(name), TIMEOUT,
                                             require_done=False)
    # The table first; the status, report and legacy checks run before
    # the comparison's verdict, so that one failure hides no other.
    result = compare_accounts(world, name, checked=False)
    move_steps.check_done(row, address(name))
    totals = result.totals()
    note("figures: %d messages, %.1f MB from the login to done in %.1f s (%.0f msgs/s)",
         totals["target_count"], row["bytes_done"] / 1e6, seconds,
         totals["target_count"] / seconds)
    check_equal((row["messages_done"], row["messages_total"]),
                (totals["expected_count"], totals["expected_count"]),
                "status messages done/total (legacy messages without the \\Deleted ones)")
    check_equal((row["folders_done"], row["folders_total"]),
                (len(moved_folders(tree)), len(moved_folders(tree))),
                "status folders done/total (selectable folders not skipped)")
    check_equal(move_steps.messages_failed(world.target, address(name)), 0, "messages_failed")
    check(legacy_state(world, name) == before, "the legacy account changed during the move")
    # Per-folder progress (status -F): every moved folder, done, with its
    # messages.
    folders = mailmove.folder_rows(world.target, address(name))
    for folder in result.rows:
        if not folder.target_name or folder.legacy_name == "(made at the target)":
            continue
        shown = folders.get(folder.target_name)
        check(shown is not None, "status -F lacks folder %s", folder.target_name)
        check_equal((shown["state"], int(shown["messages_done"]), int(shown["messages_total"])),
                    ("done", folder.expected_count, folder.expected_count),
                    "status -F of %s (state, done, total)" % folder.target_name)
    note("status -F: %d folders, all done", len(folders))

    entries = show_report(world.target, address(name))
    skipped = sorted(e.legacy_folder for e in entries if e.kind == "folder-skipped")
    check_equal(skipped, sorted(tree.legacy_name(s) for s in tree.folders if s.skip),
                "folders the report lists as skipped")
    deleted = sum(int(e.detail.split()[0]) for e in entries
                  if e.kind == "filtered" and "Deleted" in e.detail)
    check_equal(deleted, totals["deleted"], "\\Deleted messages the report lists as filtered")
    escaped = [e for e in entries if e.kind == "folder" and e.folder == "Projekt v1%2e2"]
    check(escaped, "the report does not say that \"Projekt v1.2\" was escaped")
    check_log_clean(world.target, mark)
    result.check()


@scenario("d-rerun-after-new-mail-at-both-sides")
def rerun_after_new_mail(world):
    """After rerun's move, new mail arrives at the legacy server in four
    folders (nested and special ones, one message \\Deleted) and at the
    target after the MX switch (LMTP into INBOX, doveadm save into Sent, a
    folder the user made): a rerun saves exactly the new legacy messages,
    the target's own mail stays, nothing is duplicated; another run saves
    nothing."""
    name, user = "rerun", address("rerun")
    run_move(world, name)
    generator = tree_corpus.TreeCorpus(141, DOMAIN, user)
    new_count = 0
    for path, count in ((["INBOX"], 5), (["Archives", "2019"], 3), (["Verschickt"], 2),
                        (["Café & Crème"], 2)):
        messages = generator.folder_messages("/".join(path), count, start_year=2025,
                                             end_year=2025)
        if path == ["INBOX"]:
            messages[0].flags = messages[0].flags | {"\\Deleted"}
        append_legacy(world, name, path, messages)
        new_count += sum(1 for m in messages if "\\Deleted" not in m.flags)

    own_folder = "Nach dem Umzug"
    clients.lmtp_deliver(world.target, user, local_message(user, "by LMTP after the switch"))
    world.target.doveadm("save", "-u", user, "-m", "Sent",
                         input=local_message(user, "sent at the target"))
    world.target.doveadm("mailbox", "create", "-u", user, own_folder)
    world.target.doveadm("save", "-u", user, "-m", own_folder,
                         input=local_message(user, "filed at the target"))
    own = own_records(world, name, ["INBOX", "Sent", own_folder])
    check_equal(sum(len(r) for r in own.values()), 3, "messages the target got by itself")

    run_move(world, name, want_saved=new_count)
    compare_accounts(world, name, extra_folders={own_folder: False}, extra_messages=own)
    run_move(world, name, want_saved=0)


def local_message(user, how):
    return ("From: colleague@example.net\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s.%f@target.test>\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\n\r\n"
            "Mail that reached the new server %s.\r\n" % (
                user, how, re.sub(r"\W", "-", how), time.time(), how)).encode()


def own_records(world, name, folders):
    """{target folder: Records of the mail that came from elsewhere than
    the legacy server} (those whose bytes the legacy account lacks)."""
    legacy = set()
    with clients.imap_session(world.legacy, address(name), legacy_password(name)) as conn:
        for folder in list_folders(conn):
            if folder.selectable:
                examine(conn, folder.raw)
                legacy.update(r.sha256 for r in compare.fetch_records(conn))
    own = {}
    with clients.imap_session(world.inspector, address(name)) as conn:
        for folder in folders:
            examine(conn, mutf7_encode(folder))
            own[folder] = [r for r in compare.fetch_records(conn) if r.sha256 not in legacy]
    return own


@scenario("e-uid-order-keeps-uidvalidity-and-uids")
def uid_order(world):
    """uidkeep moves with mailmove_order = uid into empty target folders:
    every target folder has the legacy UIDVALIDITY and every message its
    legacy UID (legacy UIDs have gaps: some messages were expunged)."""
    name, user = "uidkeep", address("uidkeep")
    tree = world.trees[name]
    tree_corpus.expunge_uids(world.legacy.ports["imap"], user, legacy_password(name), tree,
                             UID_GAPS)
    run_move(world, name)
    compare_accounts(world, name)
    check_uids_kept(world.legacy, user, world.inspector, user, tree,
                    legacy_password=legacy_password(name))


@scenario("f-legacy-uidvalidity-change-matches-by-content")
def uidvalidity_change(world):
    """After reindex's move, two legacy folders get a new UIDVALIDITY (their
    dovecot-uidlist and index are rebuilt) and one gets two new messages:
    the rerun recognises the old messages by content, saves only the two
    new ones, and reports the UIDVALIDITY change."""
    name, user = "reindex", address("reindex")
    tree = world.trees[name]
    run_move(world, name)
    changed = [("Archives", "2019"), ("Работа", "Отчёты")]
    before = {}
    with clients.imap_session(world.legacy, user, legacy_password(name)) as conn:
        for path in changed:
            uidvalidity, _ = examine(conn, tree.raw_name(tree.find(*path)))
            before[path] = (uidvalidity, sum(1 for r in compare.fetch_records(conn)
                                             if "\\Deleted" not in r.flags))
    for path in changed:
        folder_dir = world.legacy.folder_dir(user, tree.raw_name(tree.find(*path)))
        for entry in os.listdir(folder_dir):
            if entry == "dovecot-uidlist" or entry.startswith("dovecot.index"):
                os.unlink(os.path.join(folder_dir, entry))
    new = tree_corpus.TreeCorpus(143, DOMAIN, user).folder_messages("new", 2, start_year=2025,
                                                                     end_year=2025)
    for message in new:
        message.flags = message.flags - {"\\Deleted"}
    append_legacy(world, name, changed[0], new)
    with clients.imap_session(world.legacy, user, legacy_password(name)) as conn:
        for path in changed:
            uidvalidity = examine(conn, tree.raw_name(tree.find(*path)))[0]
            check(uidvalidity != before[path][0], "the legacy UIDVALIDITY of %s did not change "
                  "(%d): the scenario cannot test anything", "/".join(path), uidvalidity)
            note("legacy %s: UIDVALIDITY %d -> %d", "/".join(path), before[path][0], uidvalidity)

    run_move(world, name, want_saved=len(new))
    compare_accounts(world, name)
    entries = show_report(world.target, address(name))
    for path in changed:
        spec = tree.find(*path)
        found = [e for e in entries if e.kind == "uidvalidity" and
                 e.folder == spec.target_name()]
        check(found, "no uidvalidity entry for %s in the report", spec.target_name())
        matched = int(re.search(r"(\d+) message\(s\) recognised", found[0].detail).group(1))
        check_equal(matched, before[path][1], "messages of %s recognised by content" %
                    spec.target_name())


@scenario("g-refused-messages-reported-and-the-rest-moves")
def refused_messages(world):
    """quota's target refuses messages over quota_max_mail_size (1 MB): the
    multi-MB ones are refused, the report lists each with folder, UID, size
    and reason, messages_failed counts them, everything else moves. A rerun
    tries them again, lists them again and duplicates nothing."""
    name, user = "quota", address("quota")
    tree = world.trees[name]
    limit = 1024 * 1024
    refused = {}
    with clients.imap_session(world.legacy, user, legacy_password(name)) as conn:
        for spec in moved_folders(tree):
            examine(conn, tree.raw_name(spec))
            refused.update({(spec.target_name(), r.uid): r for r in compare.fetch_records(conn)
                            if r.size > limit and "\\Deleted" not in r.flags})
    check(len(refused) >= 2, "the corpus has %d messages over 1 MB", len(refused))
    for attempt in ("first", "second"):
        row = run_move(world, name, want_saved=0 if attempt == "second" else None)
        compare_accounts(world, name, not_moved={r.sha256 for r in refused.values()})
        check_equal(move_steps.messages_failed(world.target, address(name)), len(refused),
                    "messages_failed (%s run)" % attempt)
        entries = [e for e in show_report(world.target, address(name))
                   if e.kind == "message-failed"]
        listed = {(e.folder, e.uid): e for e in entries}
        check_equal(sorted(listed), sorted(refused), "refused messages in the report (%s run)" %
                    attempt)
        for key, entry in listed.items():
            check_equal(entry.size, refused[key].size, "size of refused %s UID %d" % key)
            check("refused" in entry.detail, "reason of %s UID %d: %r", key[0], key[1],
                  entry.detail)
        note("%s run: %d messages moved in all, %d refused", attempt, row["messages_done"],
             len(refused))


@scenario("h-filters-since-size-and-folder-rules")
def filters(world):
    """filter has mailmove_since, mailmove_max_message_size and two exclude
    rules (a glob and a regex): exactly the messages inside the window and
    under the size move, the excluded folders (and their subfolders) are
    not created, and the report lists the filters, the skipped folders and
    what each folder left out."""
    name = "filter"
    tree = world.trees[name]
    since = tree_corpus.date_of(*map(int, FILTER_SINCE.split("-")))
    excluded = {("Работа",): 1, ("Работа", "Отчёты"): 1, ("Gesendet",): 2}
    filtered_tree = tree_corpus.LegacyTree(tree.label, [
        tree_corpus.FolderSpec(s.path, None, skip="excluded by rule %d" % excluded[s.path])
        if s.path in excluded else s for s in tree.folders], tree.prefix, tree.separator)
    left_out, per_folder = set(), {}
    with clients.imap_session(world.legacy, address(name), legacy_password(name)) as conn:
        for spec in moved_folders(filtered_tree):
            examine(conn, tree.raw_name(spec))
            out = [r for r in compare.fetch_records(conn) if "\\Deleted" in r.flags or
                   r.internaldate < since or r.size > FILTER_MAX_SIZE]
            left_out.update(r.sha256 for r in out)
            per_folder[spec.target_name()] = len(out)
    run_move(world, name)
    result = compare_accounts(world, name, filtered_tree, not_moved=left_out)
    check(result.totals()["expected_count"] > 0, "the filters left nothing to move")

    entries = show_report(world.target, address(name))
    runs = [e for e in entries if e.kind == "run"]
    check(len(runs) == 1 and "since %sT00:00:00Z" % FILTER_SINCE in runs[0].detail and
          "max size %d bytes" % FILTER_MAX_SIZE in runs[0].detail,
          "the report's run entry does not name the filters: %r", runs)
    skipped = {e.legacy_folder: e.detail for e in entries if e.kind == "folder-skipped"}
    for path, rule in excluded.items():
        legacy_name = tree.legacy_name(tree.find(*path))
        check(legacy_name in skipped and "rule %d" % rule in skipped[legacy_name],
              "the report does not list %s as excluded by rule %d: %r", legacy_name, rule,
              skipped)
    counted = {}
    for entry in entries:
        if entry.kind == "filtered":
            counted[entry.folder] = counted.get(entry.folder, 0) + int(entry.detail.split()[0])
    check_equal({f: n for f, n in counted.items() if n},
                {f: n for f, n in per_folder.items() if n},
                "messages the report lists as filtered, per folder")
    note("filters left out %d messages in %d folders; %d moved", sum(per_folder.values()),
         sum(1 for n in per_folder.values() if n), result.totals()["target_count"])
