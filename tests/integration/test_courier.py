"""Courier-IMAP 5 and Courier's POP3 server as legacy servers (issue 8): a
second non-Dovecot implementation beside Cyrus, and a widely deployed one.

Courier runs from Debian's packages unpacked into a private root, in a
mount namespace of its own (lib/courier.py). Its accounts are Maildirs the
scenarios write directly: "INBOX." prefix, "." separator, folder names in
UTF-8 on disk, flags in the file names, INTERNALDATE from the mtime.

What Courier does that the move must cope with:
- implicit parents ("INBOX.Tief" of "INBOX.Tief.Ebene 2") are listed
  \\Noselect, in LSUB too, which (RFC 3501 6.3.9) does not make them
  subscribed: at the target they stay unsubscribed and are not created as
  mailboxes (the target lists them as parents of what was moved);
- its POP3 server marks what a session RETRieves as read (on QUIT and on a
  dropped connection alike), and moves new/ to cur/ at every login: the
  move reads with TOP instead, so every flag stays as it was;
- without RFC 6856 UTF8 its POP3 server replaces each message with raw
  8-bit header bytes by a "Cannot display Unicode content" notice.

Sizes:
  MAILMOVE_IT_TIMEOUT  seconds a move may take (default 300)
"""

import hashlib
import os
import poplib
import time

from lib import compare, corpus, move_steps, tree_corpus
from lib.courier import CourierInstance
from lib.dovecot import User, stop_all
from lib.imap_tree import ImapWire, quote
from lib.move_steps import check_log_clean, show_report
from lib.scenario import check, check_equal, note, scenario
from lib.imap_tree import _command_untagged, _parse_list, list_folders, mutf7_decode
from lib.tree_compare import compare_tree
from lib.tree_corpus import FolderSpec, LegacyTree
from lib.tree_servers import TreeTargetInstance, TreeWorld
from lib import clients

DOMAIN = "example.com"
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
TREE_USER = "ctree"     # a: IMAP, the whole tree
POP3_USER = "cpop"      # b, c: POP3, flags and 8-bit headers


def address(name):
    return "%s@%s" % (name, DOMAIN)


def legacy_password(name):
    return "Cour-%s-9x!" % name


# Implicit parents are no mailboxes at the target: LIST "" "*" leaves
# them out there, "%" shows them as parents (checked apart).
IMPLICIT = "a parent the target lists by itself"


def courier_tree():
    """Courier's layout: "INBOX." and ".", implicit parents one and two
    levels deep, a UTF-8 name."""
    F = FolderSpec
    return LegacyTree("Courier", [
        F(["INBOX"], ["INBOX"], messages=12, subscribed=True, why="INBOX is always INBOX"),
        F(["Sent"], ["Sent"], role="\\Sent", messages=4, subscribed=True,
          why="the target's Sent by name"),
        F(["Tief"], None, implicit=True, skip=IMPLICIT,
          why="Courier's implicit parent (LSUB \\Noselect): unsubscribed, listed by the "
              "target as a parent"),
        F(["Tief", "Ebene 2"], ["Tief", "Ebene 2"], messages=3, subscribed=True,
          why="its child"),
        F(["Projekte"], None, implicit=True, skip=IMPLICIT, why="implicit, two levels up"),
        F(["Projekte", "2024"], None, implicit=True, skip=IMPLICIT, why="implicit"),
        F(["Projekte", "2024", "Über Alles"], ["Projekte", "2024", "Über Alles"], messages=3,
          subscribed=True, why="UTF-8 on disk, mUTF-7 in IMAP"),
        F(["工作"], ["工作"], messages=2, why="Chinese"),
    ], prefix="INBOX.", separator=".")


def utf8_header_messages(start, recipient):
    """Messages with raw 8-bit UTF-8 in their header (RFC 6532 style)."""
    messages = []
    for i, (name, subject) in enumerate([("Jürgen Groß", "Grüße aus München"),
                                         ("张伟", "会议纪要"),
                                         ("Zoë", "Ça va? ☕")]):
        date = start + i * 3600
        when = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(date))
        raw = ("Received: from mx.legacy.example by pop.legacy.example; %s\n"
               "Date: %s\nFrom: %s <u8.%d@sender.example>\nTo: %s\nSubject: %s\n"
               "Message-ID: <u8.%d@corpus.example>\nMIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=utf-8\n"
               "Content-Transfer-Encoding: 8bit\n\n%s: 8-bit body too, ä ö ü\n" % (
                   when, when, name, i, recipient, subject, i, subject)).encode()
        messages.append(corpus.Message(raw, frozenset(), date))
    return messages


class World(TreeWorld):
    """Courier with the users' Maildirs; the target with the plugin reading
    Courier over IMAP (ctree) or POP3 (cpop), and its inspector."""

    def __init__(self, workdir):
        self.courier = CourierInstance(workdir, users=[
            User(name, legacy_password(name)) for name in (TREE_USER, POP3_USER)])
        self.target = TreeTargetInstance(
            workdir, self.courier.url("imap"), name="target-courier",
            # Courier here speaks plain IMAP/POP3 on loopback: the admin says so.
            plugin_settings={"mailmove_source_starttls": "no"},
            users=[User(address(TREE_USER), "target-ctree-pw",
                        userdb_mailmove_source_user=TREE_USER,
                        userdb_mailmove_source_password=legacy_password(TREE_USER)),
                   User(address(POP3_USER), "target-cpop-pw",
                        userdb_mailmove_source=self.courier.url("pop3"),
                        userdb_mailmove_pop3_stls="no",
                        userdb_mailmove_source_user=POP3_USER,
                        userdb_mailmove_source_password=legacy_password(POP3_USER))])
        self.inspector = self.target.inspector(workdir)
        self.tree = courier_tree()
        self.pop3_files = []
        self.utf8_files = []

    def start(self):
        self.require_product()
        started = time.monotonic()
        self.courier.start()
        note("Courier from %s: IMAP on %d, POP3 on %d after %.1f s", self.courier.courier_root,
             self.courier.ports["imap"], self.courier.ports["pop3"], time.monotonic() - started)
        self._seed_tree()
        self._seed_pop3()
        self.target.start()
        self.inspector.start()

    def _seed_tree(self):
        mail = tree_corpus.TreeCorpus(61, DOMAIN, address(TREE_USER)).tree_messages(self.tree)
        count = 0
        for spec, messages in mail.items():
            folder = () if spec.inbox else spec.path
            count += len(self.courier.write_messages(TREE_USER, messages, folder))
        with ImapWire(self.courier.ports["imap"]) as wire:
            wire.login(TREE_USER, legacy_password(TREE_USER))
            for spec in self.tree.folders:
                if spec.subscribed:
                    wire.command("SUBSCRIBE", quote(self.tree.raw_name(spec)))
        note("Courier account %s: %d folders, %d messages", TREE_USER, len(self.tree.folders),
             count)

    def _seed_pop3(self):
        """cpop's INBOX: unread mail (some still in new/), read, answered
        and flagged mail, and the 8-bit header messages."""
        generator = corpus.Corpus(62, DOMAIN)
        messages = generator.inbox(20, recipient=address(POP3_USER), max_attachment=30_000)
        for i, message in enumerate(messages):
            flags = set()
            if i % 3 == 0:
                flags.add("\\Seen")
            if i % 5 == 0:
                flags.add("\\Answered")
            if i % 7 == 0:
                flags.add("\\Flagged")
            message.flags = frozenset(flags)
        utf8 = utf8_header_messages(messages[-1].internaldate + 60, address(POP3_USER))
        self.pop3_files = self.courier.write_messages(POP3_USER, messages, unread_in_new=True)
        self.utf8_files = self.courier.write_messages(POP3_USER, utf8)
        self.pop3_files += self.utf8_files
        # Courier renames the files (new/ to cur/, flags), so now.
        self.pop3_digests = {path: crlf_digest(path) for path in self.pop3_files}

    def stop(self):
        self.courier.stop()
        stop_all([self.target, self.inspector])

    def legacy_logs(self):
        return [("Courier output (tail)", self.courier.log_tail(15))]


def legacy_flags(world, name):
    """{message digest: flags} of a Courier INBOX, read over IMAP with
    EXAMINE and BODY.PEEK (\\Recent left out)."""
    records = compare.mailbox_records(world.courier, name)
    return {r.sha256: r.flags for r in records}


def list_rows(conn, pattern):
    """LIST "" pattern as {decoded name: attributes}, \\NonExistent
    entries included (lib.imap_tree.list_folders leaves those out)."""
    rows = _parse_list(_command_untagged(conn, "LIST", '""', quote(pattern)))
    return {mutf7_decode(raw): attributes for attributes, _, raw in rows}


def subscribed_names(conn):
    """What LSUB lists without \\Noselect: the subscriptions themselves
    (RFC 3501 6.3.9)."""
    rows = _parse_list(_command_untagged(conn, "LSUB", '""', '"*"'))
    return {mutf7_decode(raw) for attributes, _, raw in rows if "\\noselect" not in attributes}


def show_flags(label, flags):
    note("%s:", label)
    for digest, flag_set in sorted(flags.items(), key=lambda item: sorted(item[1])):
        note("  %s %s", digest[:12], compare.format_flags(flag_set))


def crlf_digest(path):
    """SHA-256 of a legacy Maildir file as servers send it (CRLF)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read().replace(b"\n", b"\r\n")).hexdigest()


@scenario("a-courier-tree-with-implicit-parents")
def courier_tree_moves(world):
    """ctree's first IMAP login moves the whole Courier tree: zero
    differences; the implicit parents stay unsubscribed and are no
    selectable mailboxes at the target, which lists them as parents."""
    name, user = TREE_USER, address(TREE_USER)
    mark = world.target.log_mark()
    row, seconds = move_steps.login_and_move(world.target, user, TIMEOUT)
    result = compare_tree("Courier -> target (%s)" % user, world.courier, name, world.inspector,
                          user, world.tree, legacy_password=legacy_password(name))
    result.show()
    note("figures: %d messages in %.1f s", result.totals()["target_count"], seconds)
    with clients.imap_session(world.courier, name, legacy_password(name)) as conn:
        typ, lsub = conn.lsub('""', '*')
    note("Courier LSUB: %s", b" | ".join(lsub).decode(errors="replace"))
    with clients.imap_session(world.inspector, user) as conn:
        listed = {f.name: f for f in list_folders(conn)}
    for spec in world.tree.folders:
        if not spec.implicit:
            continue
        target_name = ".".join(spec.path)
        check(target_name not in listed, "the implicit parent %s is a mailbox at the target",
              target_name)
        with clients.imap_session(world.inspector, user) as conn:
            pattern = ".".join(spec.path[:-1] + ("%",))
            attributes = list_rows(conn, pattern).get(target_name)
            subscribed = target_name in subscribed_names(conn)
        check(attributes is not None, "the target does not list the parent %s (LIST \"\" %s)",
              target_name, pattern)
        note("target: LIST \"\" %s shows %s as %s", pattern, target_name,
             " ".join(sorted(attributes)))
        check(attributes & {"\\noselect", "\\nonexistent"} and "\\haschildren" in attributes,
              "the implicit parent %s is no plain parent at the target: %s", target_name,
              sorted(attributes))
        check(not subscribed, "the implicit parent %s is subscribed at the target", target_name)
    show_report(world.target, user)
    check_log_clean(world.target, mark)
    result.check()


@scenario("b-courier-pop3-leaves-legacy-flags")
def courier_pop3_flags(world):
    """cpop moves over POP3; Courier's flags, read over IMAP before and
    after, are the same for every message (Courier marks RETRieved mail
    read: the move reads with TOP)."""
    name, user = POP3_USER, address(POP3_USER)
    before = legacy_flags(world, name)
    show_flags("legacy flags before the move", before)
    unread = sum(1 for flags in before.values() if "\\Seen" not in flags)
    check(unread >= 10, "the corpus should have unread mail, has %d", unread)
    mark = world.target.log_mark()
    row = move_steps.run_move(world.target, user, TIMEOUT)
    time.sleep(0.5)  # Courier writes its changes as the session ends
    after = legacy_flags(world, name)
    show_flags("legacy flags after the move", after)
    changed = ["%s: %s -> %s" % (d[:12], compare.format_flags(before[d]),
                                 compare.format_flags(after.get(d, frozenset({"(gone)"}))))
               for d in before if after.get(d) != before[d]]
    check(not changed, "the move changed %d legacy message(s):\n%s", len(changed),
          "\n".join(changed))
    check_equal(row["saved"], len(world.pop3_files), "messages saved")
    entries = show_report(world.target, user)
    check(any(e.kind == "pop3-retrieval" and "read with TOP" in e.detail for e in entries),
          "the report does not say the messages were read with TOP")
    check_log_clean(world.target, mark)
    # Where TOP is not byte-exact the mover uses RETR, except at Courier,
    # which it knows by CAPA's IMPLEMENTATION: the real server must say so.
    conn = poplib.POP3("127.0.0.1", world.courier.ports["pop3"], timeout=TIMEOUT)
    try:
        implementation = conn.capa().get("IMPLEMENTATION", [])
    finally:
        conn.quit()
    note("Courier's CAPA: IMPLEMENTATION %s", " ".join(implementation))
    check(any("courier" in word.lower() for word in implementation),
          "Courier's CAPA does not name Courier (IMPLEMENTATION %r): the mover would not "
          "know that its RETR marks mail read", implementation)


@scenario("c-courier-pop3-utf8-headers-original-bytes")
def courier_pop3_utf8(world):
    """The messages with raw 8-bit headers arrive byte for byte as the
    legacy Maildir holds them (UTF8 was sent), and so does all the rest."""
    name, user = POP3_USER, address(POP3_USER)
    from lib import mailmove
    if mailmove.status(world.target, user)["state"] == "none":
        move_steps.run_move(world.target, user, TIMEOUT)
    target = {r.sha256 for r in compare.mailbox_records(world.inspector, user)}
    for path in world.pop3_files:
        check(world.pop3_digests[path] in target, "%s is not at the target byte for byte",
              os.path.basename(path))
    placeholders = [r for r in compare.mailbox_records(world.inspector, user)
                    if "Cannot display Unicode" in r.label]
    check(not placeholders, "Courier's placeholder arrived: %s", placeholders)
    note("%d legacy files, %d of them with 8-bit headers, all at the target byte for byte",
         len(world.pop3_files), len(world.utf8_files))
