"""Full-fidelity IMAP moving from Cyrus IMAP (issue 3): a second legacy
server implementation besides Dovecot.

Cyrus 3.6 from Debian's packages runs from a private root (lib/cyrus.py)
with the classic namespace: "." as separator and every folder below
"INBOX.", the layout Courier and older Cyrus installations show. Its
accounts are seeded through IMAP (CREATE ... USE for a special-use mark,
SUBSCRIBE, MULTIAPPEND with flags, keywords and dates) with the tree of
tree_corpus.cyrus_tree(): QQ's and Outlook's localized special folders
without marks, a marked Drafts folder, Chinese, Cyrillic and accented
names, "&", a folder named "Inbox" below INBOX., a name starting with "~",
an intermediate folder. Cyrus refuses bare newlines, so its copies of the
corpus have CRLF line ends throughout.

Sizes:
  MAILMOVE_IT_TREE_SCALE  multiplies the messages per folder (default 1)
  MAILMOVE_IT_TIMEOUT     seconds a move may take (default 300)
"""

import os
import time

from lib import mailmove, move_steps, tree_corpus
from lib.cyrus import CyrusInstance
from lib.dovecot import User, stop_all
from lib.move_steps import check_log_clean, show_report
from lib.scenario import check, note, scenario
from lib.tree_compare import check_uids_kept, compare_tree
from lib.tree_servers import TreeTargetInstance, TreeWorld

DOMAIN = "example.com"
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
SCALE = int(os.environ.get("MAILMOVE_IT_TREE_SCALE", "1"))

# Cyrus user -> (corpus seed, the target user's own settings)
USERS = {
    "cyrtree": (51, {}),                                     # b, b-rerun
    "cyruid": (52, {"userdb_mailmove_order": "uid"}),        # b-uid
}


def address(name):
    return "%s@%s" % (name, DOMAIN)


def legacy_password(name):
    return 'Cy"rus\\%s9' % name


class World(TreeWorld):
    """Cyrus with the users' trees, the target with the plugin reading
    Cyrus over plain IMAP on 127.0.0.1, and the target's inspector."""

    def __init__(self, workdir):
        self.cyrus = CyrusInstance(workdir, users=[
            User(name, legacy_password(name)) for name in USERS])
        self.target = TreeTargetInstance(
            workdir, "imap://127.0.0.1:%d" % self.cyrus.ports["imap"],
            name="target-cyrus",
            # Cyrus here speaks plain IMAP on loopback: the admin says so.
            plugin_settings={"mailmove_source_starttls": "no"},
            users=[User(address(name), "target-%s-pw" % name, userdb_mailmove_source_user=name,
                        userdb_mailmove_source_password=legacy_password(name), **settings)
                   for name, (_, settings) in USERS.items()])
        self.inspector = self.target.inspector(workdir)
        self.trees = {}

    def start(self):
        self.require_product()
        started = time.monotonic()
        self.cyrus.start()
        note("Cyrus from %s running on 127.0.0.1:%d after %.1f s", self.cyrus.cyrus_root,
             self.cyrus.ports["imap"], time.monotonic() - started)
        started = time.monotonic()
        for name, (seed, _) in USERS.items():
            tree = tree_corpus.cyrus_tree(SCALE)
            mail = tree_corpus.TreeCorpus(seed, DOMAIN, address(name)).tree_messages(tree)
            count = tree_corpus.seed_tree(self.cyrus.ports["imap"], name, legacy_password(name),
                                          tree, mail, create_special_use=True, crlf=True)
            self.trees[name] = tree
        note("Cyrus accounts seeded over IMAP in %.1f s: %d users, %d folders, %d messages "
             "each", time.monotonic() - started, len(USERS), len(tree.folders), count)
        self.target.start()
        self.inspector.start()
        move_steps.create_special_folders(self.target, address("cyruid"))

    def stop(self):
        self.cyrus.stop()
        stop_all([self.target, self.inspector])

    def legacy_logs(self):
        return [("Cyrus master output (tail)", self.cyrus.log_tail(15))]


def compare_accounts(world, name, checked=True):
    """The whole-tree comparison, printed; checked: fail on differences."""
    result = compare_tree("Cyrus -> target (%s)" % address(name), world.cyrus, name,
                          world.inspector, address(name), world.trees[name],
                          legacy_password=legacy_password(name))
    result.show()
    if checked:
        result.check()
    return result


@scenario("b-cyrus-tree-moves-exactly")
def cyrus_tree_moves(world):
    """cyrtree's first IMAP login at the target moves the whole Cyrus tree
    into the new account: the comparison finds zero differences, and the
    report tells which folders were renamed or escaped."""
    name, user = "cyrtree", address("cyrtree")
    mark = world.target.log_mark()
    row, seconds = move_steps.login_and_move(world.target, user, TIMEOUT)
    result = compare_accounts(world, name, checked=False)
    note("figures: %d messages, %.1f MB from the login to done in %.1f s", result.totals()[
        "target_count"], row["bytes_done"] / 1e6, seconds)
    entries = show_report(world.target, user)
    for target_name, why in (("Inbox (2)", "a second INBOX"), ("%7ePrivat", "a leading ~")):
        check(any(e.kind == "folder" and e.folder == target_name for e in entries),
              "the report does not explain %s (%s)", target_name, why)
    check_log_clean(world.target, mark)
    result.check()


@scenario("b-cyrus-rerun-saves-nothing")
def cyrus_rerun(world):
    """Another run against the unchanged Cyrus account saves nothing and
    leaves the target as it was."""
    name, user = "cyrtree", address("cyrtree")
    if mailmove.status(world.target, user)["state"] == "none":
        note("%s was not moved yet (did scenario b fail?): moving it first", user)
        move_steps.run_move(world.target, user, TIMEOUT)
    move_steps.run_move(world.target, user, TIMEOUT, want_saved=0)
    compare_accounts(world, name)


@scenario("b-cyrus-uid-order-keeps-uidvalidity-and-uids")
def cyrus_uid_order(world):
    """cyruid moves with mailmove_order = uid (its mail client had made the
    target's special-use folders, empty): every folder keeps Cyrus'
    UIDVALIDITY and every message its Cyrus UID (with gaps: some messages
    were expunged)."""
    name, user = "cyruid", address("cyruid")
    tree_corpus.expunge_uids(world.cyrus.ports["imap"], name, legacy_password(name),
                             world.trees[name], {("INBOX",): "3:5,11", ("Archiv",): "2"})
    move_steps.run_move(world.target, user, TIMEOUT)
    compare_accounts(world, name)
    check_uids_kept(world.cyrus, name, world.inspector, user, world.trees[name],
                    legacy_password=legacy_password(name))
