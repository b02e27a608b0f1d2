"""Folder trees with mail for the whole-tree tests, and what each legacy
folder must become at the target.

A tree is a list of FolderSpec: the folder's levels as the legacy user
sees them below the personal namespace, and the expectation the mapping
rules of README.md ("Folder names") give for it on a target whose Dovecot
namespace has the separator "." and the special-use folders Sent, Drafts,
Trash, Junk and Archive (lib/tree_servers.py). Every expectation is written
down per folder, with the rule that gives it, instead of being computed:
the tests must not share a mistake with the mapper.

TreeCorpus makes the mail: the kinds of lib/corpus.py plus the edge cases
the issue lists (keywords such as $Forwarded, $MDNSent, NonJunk and
custom ones, bare-LF and mixed line ends, messages without Message-ID,
different messages sharing a Message-ID, identical copies in one folder
and across folders, empty bodies, \\Deleted messages, multi-MB messages).
The same seed always gives the same bytes. seed_tree() writes a tree into
any IMAP server through pipelined APPENDs (lib/imap_tree.py).
"""

import calendar
import collections
import os
import time
import unicodedata

from . import corpus
from .dovecot import MAIL_GID, MAIL_UID
from .imap_tree import ImapWire, mutf7_encode, quote

# Keywords of real clients (Thunderbird, Apple Mail, Outlook via IMAP,
# spam filters) and custom ones a user made.
KEYWORDS = ["$Forwarded", "$MDNSent", "NonJunk", "$Junk", "$Label1", "$label5", "Projekt_X",
            "Erledigt", "follow-up"]
KEYWORD_ODDS = 0.3
DELETED_ODDS = 0.06
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class FolderSpec:
    """One legacy folder and what the target must make of it.

    path: decoded levels below the legacy personal namespace; ("INBOX",)
        for INBOX, ("INBOX", "x") for a child of INBOX on a server without
        an INBOX. prefix.
    target: the expected target levels, or None when the folder must not be
        moved (skip says why).
    role: the special-use attribute the target folder must have ("\\Sent"),
        None for a plain folder.
    messages: how many corpus messages the folder gets (the multi-MB ones
        are extra, see big).
    subscribed: whether the legacy user is subscribed to it.
    legacy_use: the special-use attribute the legacy server gives it (set
        with CREATE ... USE, or in the legacy Dovecot's configuration).
    implicit: never created by the seeding, only there because a subfolder
        is (a \\Noselect parent on Dovecot, an intermediate on Cyrus); it
        holds no mail and becomes an empty plain parent at the target.
    why: the rule of README.md that gives the expectation.
    target_like: a regular expression the full target name (with the
        target's separator) must match, for a name the rules may shorten
        with a hash; target then names the folder in tables only.
    """

    def __init__(self, path, target, role=None, messages=0, subscribed=False,
                 legacy_use=None, implicit=False, big=0, skip=None, why="", target_like=None):
        self.path = tuple(path)
        self.target = tuple(target) if target is not None else None
        self.target_like = target_like
        self.role = role
        self.messages = messages
        self.subscribed = subscribed
        self.legacy_use = legacy_use
        self.implicit = implicit
        self.big = big
        self.skip = skip
        self.why = why

    @property
    def inbox(self):
        return self.path == ("INBOX",)

    def legacy_name(self, prefix, separator):
        """The decoded full legacy name (what LIST shows, decoded)."""
        if self.inbox:
            return "INBOX"
        return prefix + separator.join(self.path)

    def raw_name(self, prefix, separator):
        """The legacy name in modified UTF-7, as commands need it."""
        if self.inbox:
            return "INBOX"
        return mutf7_encode(prefix) + separator.join(mutf7_encode(level) for level in self.path)

    def target_name(self, separator="."):
        if self.target is None:
            return None
        return separator.join(self.target)

    def __repr__(self):
        return "FolderSpec(%r -> %r)" % ("/".join(self.path), self.target)


class LegacyTree:
    """A legacy account's folders: specs plus the legacy naming (personal
    namespace prefix and hierarchy separator)."""

    def __init__(self, label, folders, prefix="", separator="/"):
        self.label = label
        self.folders = list(folders)
        self.prefix = prefix
        self.separator = separator

    def legacy_name(self, spec):
        return spec.legacy_name(self.prefix, self.separator)

    def raw_name(self, spec):
        return spec.raw_name(self.prefix, self.separator)

    def with_mail(self):
        return [spec for spec in self.folders if not spec.implicit]

    def find(self, *path):
        for spec in self.folders:
            if spec.path == tuple(path):
                return spec
        raise KeyError(path)


# -- the trees --------------------------------------------------------------

# The special-use folders the target's namespace defines (tree_servers.py).
TARGET_SPECIAL_USE = {"\\Sent": "Sent", "\\Drafts": "Drafts", "\\Trash": "Trash",
                      "\\Junk": "Junk", "\\Archive": "Archive"}

# What the legacy Dovecot's namespace marks (tree_servers.TreeLegacyInstance).
DOVECOT_LEGACY_SPECIAL_USE = {"Verschickt": "\\Sent", "[Gmail]/All Mail": "\\All",
                              "[Gmail]/Starred": "\\Flagged"}

NFD_RESUME = unicodedata.normalize("NFD", "Résumé")
# 90 CJK characters: 270 bytes of UTF-8, 242 of modified UTF-7 (a level the
# legacy Dovecot's LAYOUT=fs holds as one directory).
LONG_LEVEL = ("关于二零二三年度华东区域客户合同续签及相关商务条款调整的往来邮件存档" * 3)[:90]
# Two ASCII levels of 120 characters below "Projekte/Kunde A".
LONG_A = ("Correspondence with the property management about the annual service charge "
          "statements for the office building in Munich, 2019 to 2023")[:120]
LONG_B = ("Scanned receipts and signed copies of every contract amendment since the move "
          "into the new office, sorted by supplier and by year")[:120]


def dovecot_tree(scale=1, long_names=False):
    """A legacy Dovecot account: "/" separator, no namespace prefix,
    Maildir with LAYOUT=fs (so "." may appear in names), special-use marks
    from its configuration (DOVECOT_LEGACY_SPECIAL_USE). long_names: with
    the folders whose names are too long for the target's Maildir++ as
    they are (long_folders())."""
    n = lambda count: max(1, count * scale)  # noqa: E731
    F = FolderSpec
    folders = [
        F(["INBOX"], ["INBOX"], messages=n(110), big=2, subscribed=True,
          why="INBOX is always INBOX"),
        F(["INBOX", "Rechnungen"], ["INBOX", "Rechnungen"], messages=n(6),
          why="a child of INBOX stays one (the server announces an empty prefix)"),
        F(["Verschickt"], ["Sent"], role="\\Sent", legacy_use="\\Sent", messages=n(15),
          subscribed=True, why="marked \\Sent: lands in the target's \\Sent folder"),
        F(["已发送"], ["已发送"], messages=n(4), subscribed=True,
          why="a Sent name, but the marked folder has the role: keeps its name"),
        F(["Gesendet"], ["Gesendet"], messages=n(3),
          why="a German Sent name, also beaten by the mark"),
        F(["草稿箱"], ["Drafts"], role="\\Drafts", messages=n(3), subscribed=True,
          why="Chinese Drafts by the localized-name table"),
        F(["已删除"], ["Trash"], role="\\Trash", messages=n(5),
          why="Chinese Trash by name"),
        F(["垃圾邮件"], ["Junk"], role="\\Junk", messages=n(4), why="Chinese Junk by name"),
        F(["Archives"], ["Archive"], role="\\Archive", messages=n(6), subscribed=True,
          why="English Archive by name"),
        F(["Archives", "2019"], ["Archive", "2019"], messages=n(5), subscribed=True,
          why="a subfolder follows its renamed parent"),
        F(["Archives", "2019", "Q1"], ["Archive", "2019", "Q1"], messages=n(3),
          why="at any depth"),
        F(["Projekte"], ["Projekte"], implicit=True,
          why="\\Noselect parent: listed at the target as its children's parent"),
        F(["Projekte", "Kunde A"], ["Projekte", "Kunde A"], messages=n(3), subscribed=True,
          why="nested, a space in the name"),
        F(["Projekte", "Kunde A", "2023"], ["Projekte", "Kunde A", "2023"], implicit=True,
          why="a \\Noselect level in the middle"),
        F(["Projekte", "Kunde A", "2023", "März"], ["Projekte", "Kunde A", "2023", "März"],
          messages=n(2), why="accented Latin, four levels deep"),
        F(["Projekte", "Kunde A", "2023", "März", "Belege"],
          ["Projekte", "Kunde A", "2023", "März", "Belege"], messages=n(4), subscribed=True,
          why="five levels deep"),
        F(["Работа"], ["Работа"], messages=n(3), subscribed=True, why="Cyrillic"),
        F(["Работа", "Отчёты"], ["Работа", "Отчёты"], messages=n(4), why="nested Cyrillic"),
        F(["Ελληνικά"], ["Ελληνικά"], messages=n(2), why="Greek"),
        F(["Café & Crème"], ["Café & Crème"], messages=n(3), subscribed=True,
          why="accents, spaces and & (&- in modified UTF-7)"),
        F(["😀 Fun"], ["😀 Fun"], messages=n(2), why="an emoji (a UTF-16 surrogate pair)"),
        F(["Projekt v1.2"], ["Projekt v1%2e2"], messages=n(3), subscribed=True,
          why="the target's separator inside a name is escaped as %2e"),
        F(["100% done"], ["100% done"], messages=n(1),
          why="a % not followed by two hex digits stays"),
        F(['Zitat "x" \\ y'], ['Zitat "x" \\ y'], messages=n(2),
          why="quotes and a backslash need quoting in IMAP commands"),
        F([NFD_RESUME], ["Résumé"], messages=n(2),
          why="a decomposed name is NFC-normalised"),
        F(["[Gmail]"], ["[Gmail]"], implicit=True, why="Gmail's parent: a plain parent"),
        F(["[Gmail]", "All Mail"], None, legacy_use="\\All", messages=n(5),
          skip="Gmail virtual folder", why="\\All under [Gmail] repeats the labels: skipped"),
        F(["[Gmail]", "Starred"], None, legacy_use="\\Flagged", messages=n(2),
          skip="Gmail virtual folder", why="\\Flagged under [Gmail]: skipped"),
        F(["[Gmail]", "Important"], None, messages=n(2), skip="Gmail virtual folder",
          why="Important under [Gmail], by name: skipped"),
        F(["[Gmail]", "Sent Mail"], ["[Gmail]", "Sent Mail"], messages=n(2),
          why="unmarked and not at the top level: no role, a plain folder"),
    ]
    if long_names:
        folders += long_folders(n)
    return LegacyTree("legacy Dovecot", folders, prefix="", separator="/")


def long_folders(n):
    """Names the legacy Dovecot holds (each level is a directory of its own
    with LAYOUT=fs) but the target's Maildir++ cannot as they are: it keeps
    the whole name in one directory entry of at most 255 bytes."""
    F = FolderSpec
    return [
        F(["Projekte", "Kunde A", LONG_LEVEL], ["Projekte", "Kunde A", LONG_LEVEL], messages=n(2),
          target_like=r"^Projekte\.Kunde A\.(%s|%s.*~[0-9a-f]{8})$" % (LONG_LEVEL, LONG_LEVEL[:8]),
          why="270 bytes of UTF-8, 242 of modified UTF-7: with \".Projekte.Kunde A.\" too "
              "long for one Maildir++ directory entry; the level must be cut and end in ~ "
              "and a hash"),
        F(["Projekte", "Kunde A", LONG_A], ["Projekte", "Kunde A", LONG_A], messages=n(1),
          why="a long level whose Maildir++ name (139 bytes) still fits"),
        F(["Projekte", "Kunde A", LONG_A, LONG_B], ["Projekte", "Kunde A", LONG_A, LONG_B],
          messages=n(2),
          target_like=r"^Projekte\.Kunde A\.%s\.%s.*~[0-9a-f]{8}$" % (LONG_A, LONG_B[:20]),
          why="every level fits, the whole Maildir++ name (259 bytes) does not: the last "
              "level must be cut and end in ~ and a hash"),
    ]


def cyrus_tree(scale=1):
    """A Cyrus account the classic way (altnamespace: no,
    unixhierarchysep: no): "." separator, personal namespace "INBOX.".
    Cyrus refuses "/" and "%" in names and lists intermediate folders as
    selectable, so its tree differs from the Dovecot one."""
    n = lambda count: max(1, count * scale)  # noqa: E731
    F = FolderSpec
    return LegacyTree("Cyrus", [
        F(["INBOX"], ["INBOX"], messages=n(80), big=1, subscribed=True,
          why="INBOX is always INBOX"),
        F(["Sent Messages"], ["Sent"], role="\\Sent", messages=n(8), subscribed=True,
          why="QQ's Sent name, INBOX. prefix stripped"),
        F(["已发送邮件"], ["已发送邮件"], messages=n(3),
          why="also a Sent name; \"Sent Messages\" comes first in byte order"),
        F(["Deleted Messages"], ["Trash"], role="\\Trash", messages=n(4),
          why="QQ's Trash name"),
        F(["Entwürfe"], ["Drafts"], role="\\Drafts", legacy_use="\\Drafts", messages=n(2),
          subscribed=True, why="marked \\Drafts (CREATE ... USE)"),
        F(["Junk E-mail"], ["Junk"], role="\\Junk", messages=n(3), why="Outlook's Junk name"),
        F(["Archiv"], ["Archive"], role="\\Archive", messages=n(3), subscribed=True,
          why="German Archive name"),
        F(["Archiv", "2020"], ["Archive", "2020"], messages=n(3), subscribed=True,
          why="follows its renamed parent"),
        F(["工作"], ["工作"], messages=n(2), subscribed=True, why="Chinese"),
        F(["工作", "项目"], ["工作", "项目"], messages=n(3), why="nested Chinese"),
        F(["工作", "项目", "二期"], ["工作", "项目", "二期"], messages=n(2),
          why="three levels"),
        F(["Inbox"], ["Inbox (2)"], messages=n(2),
          why="\"Inbox\" below INBOX. is INBOX's name at the target: second gets (2)"),
        F(["R&D"], ["R&D"], messages=n(3), subscribed=True, why="& in a name"),
        F(["Ünïcödé Ordner"], ["Ünïcödé Ordner"], messages=n(2), why="accented Latin"),
        F(["Сотрудники"], ["Сотрудники"], messages=n(2), why="Cyrillic"),
        F(["~Privat"], ["%7ePrivat"], messages=n(2),
          why="~ starting a name is escaped (Dovecot refuses it)"),
        F(["Eltern"], ["Eltern"], implicit=True,
          why="Cyrus's intermediate folder: an empty plain parent"),
        F(["Eltern", "Kind"], ["Eltern", "Kind"], messages=n(2), subscribed=True,
          why="its child"),
    ], prefix="INBOX.", separator=".")


# -- mail --------------------------------------------------------------------

class TreeMessage(corpus.Message):
    """A corpus Message with the zone its INTERNALDATE is given in."""

    def __init__(self, raw, flags=(), internaldate=0, keywords=(), folder="INBOX", zone="+0000"):
        super().__init__(raw, flags, internaldate, keywords, folder)
        self.zone = zone

    def internaldate_text(self):
        """IMAP date-time of the INTERNALDATE in the message's zone."""
        sign = 1 if self.zone[0] == "+" else -1
        offset = sign * (int(self.zone[1:3]) * 3600 + int(self.zone[3:]) * 60)
        when = time.gmtime(self.internaldate + offset)
        return "%02d-%s-%04d %02d:%02d:%02d %s" % (
            when.tm_mday, MONTHS[when.tm_mon - 1], when.tm_year, when.tm_hour, when.tm_min,
            when.tm_sec, self.zone)

    def append_item(self, crlf=False):
        """(flags, date text, bytes) for ImapWire.append_many(); crlf: with
        every line end CRLF (for servers that refuse bare newlines)."""
        data = self.imap_bytes() if crlf else self.raw
        return (sorted(self.flags) + list(self.keywords), self.internaldate_text(), data)


class TreeCorpus(corpus.Corpus):
    """Mail for every folder of a tree (see the module docstring)."""

    def __init__(self, seed, domain="example.com", recipient="user@example.com",
                 max_attachment=60_000):
        super().__init__(seed, domain)
        self.recipient = recipient
        self.max_attachment = max_attachment

    def folder_messages(self, folder, count, big=0, start_year=2009, end_year=2024):
        """count messages for one folder (plus `big` multi-MB ones), with
        random flags, keywords and zones, some \\Deleted, and the edge cases
        mixed in (each folder of 6 or more messages gets some)."""
        messages = [self._decorate(m, folder) for m in self.inbox(
            count + big, big=big, start_year=start_year, end_year=end_year,
            max_attachment=self.max_attachment, recipient=self.recipient)]
        edge_kinds = [self._bare_lf, self._no_message_id, self._empty_body,
                      self._shared_message_id]
        if count >= 6:
            for position, make in zip(self.rng.sample(range(count + big), len(edge_kinds)),
                                      edge_kinds):
                if messages[position].raw.count(b"\n") > 5000:
                    continue  # leave the multi-MB ones as they are
                messages[position].raw = make(messages[position], messages)
        return messages

    def _decorate(self, message, folder):
        flags = set(message.flags)
        if self.rng.random() < DELETED_ODDS:
            flags.add("\\Deleted")
        keywords = []
        if self.rng.random() < KEYWORD_ODDS:
            keywords = self.rng.sample(KEYWORDS, self.rng.randint(1, 3))
        return TreeMessage(message.raw, flags, message.internaldate, keywords, folder,
                           self.rng.choice(corpus.ZONES))

    # -- edge cases: each rewrites one message's bytes ---------------------

    def _bare_lf(self, message, _messages):
        """Line ends as a broken client wrote them: mostly bare LF, some
        CRLF (the server stores and serves what it does with them)."""
        head, _, body = message.raw.partition(b"\n\n")
        lines = body.split(b"\n")
        # CR only before an LF: a lone CR at the end is another matter.
        for i in range(0, len(lines) - 1, 3):
            lines[i] += b"\r"
        return head + b"\n\n" + b"\n".join(lines)

    def _no_message_id(self, message, _messages):
        head, _, body = message.raw.partition(b"\n\n")
        kept = [line for line in head.split(b"\n") if not line.startswith(b"Message-ID:")]
        return b"\n".join(kept) + b"\n\n" + body

    def _empty_body(self, message, _messages):
        """Only a header: a message whose body is empty."""
        return message.raw.partition(b"\n\n")[0] + b"\n\n"

    def _shared_message_id(self, message, messages):
        """Another message's Message-ID on different bytes (a resent mail,
        a list copy): Message-ID alone identifies nothing."""
        donor = messages[0] if messages[0] is not message else messages[-1]
        donor_id = next((line for line in donor.raw.split(b"\n")
                         if line.startswith(b"Message-ID:")), None)
        if donor_id is None:
            return message.raw
        lines = [donor_id if line.startswith(b"Message-ID:") else line
                 for line in message.raw.split(b"\n")]
        return b"\n".join(lines)

    def tree_messages(self, tree):
        """{folder spec: [TreeMessage]} for every folder of the tree, plus
        identical copies: one INBOX message twice more in INBOX and once in
        another folder (a user's copy), and INBOX messages in the Gmail
        virtual folders (which is what they hold)."""
        mail = collections.OrderedDict()
        for spec in tree.with_mail():
            mail[spec] = self.folder_messages(tree.legacy_name(spec), spec.messages,
                                              big=spec.big)
        inbox = mail[tree.find("INBOX")]
        small = [m for m in inbox if len(m.raw) < 100_000 and "\\Deleted" not in m.flags]
        twin = small[0]
        inbox.append(self._copy(twin, "INBOX"))
        inbox.append(self._copy(twin, "INBOX"))
        others = [spec for spec in mail if not spec.inbox and spec.target is not None]
        if others:
            mail[others[-1]].append(self._copy(small[1], tree.legacy_name(others[-1])))
        for spec in mail:
            if spec.skip is not None:
                mail[spec] += [self._copy(m, tree.legacy_name(spec))
                               for m in small[2:2 + spec.messages]]
        return mail

    @staticmethod
    def _copy(message, folder):
        return TreeMessage(message.raw, message.flags - {"\\Deleted"}, message.internaldate,
                           message.keywords, folder, message.zone)


# -- seeding -----------------------------------------------------------------

def seed_tree(port, user, password, tree, mail, create_special_use=False, crlf=False):
    """Create the tree's folders at an IMAP server, subscribe the subscribed
    ones and APPEND the mail. create_special_use: give folders their
    legacy_use with CREATE ... USE (RFC 6154); without it the server's own
    configuration must mark them. crlf: send CRLF line ends only (Cyrus
    refuses bare newlines). Returns the number of messages appended."""
    appended = 0
    with ImapWire(port) as wire:
        wire.login(user, password)
        for spec in tree.folders:
            raw = tree.raw_name(spec)
            if not spec.inbox and not spec.implicit:
                if create_special_use and spec.legacy_use:
                    wire.command("CREATE", quote(raw), "(USE (%s))" % spec.legacy_use)
                else:
                    wire.command("CREATE", quote(raw))
        for spec in tree.folders:
            if spec.subscribed:
                wire.command("SUBSCRIBE", quote(tree.raw_name(spec)))
        for spec, messages in mail.items():
            appended += wire.append_many(tree.raw_name(spec),
                                         [m.append_item(crlf) for m in messages])
    return appended


def expunge_uids(port, user, password, tree, uids_by_path):
    """Expunge the given UIDs ({folder path: IMAP UID set}) at an IMAP
    server, leaving gaps in its UIDs as deleted mail does (UID EXPUNGE,
    RFC 4315: other \\Deleted messages stay)."""
    with ImapWire(port) as wire:
        wire.login(user, password)
        for path, uids in uids_by_path.items():
            wire.command("SELECT", quote(tree.raw_name(tree.find(*path))))
            wire.command("UID STORE", uids, "+FLAGS.SILENT", "(\\Deleted)")
            wire.command("UID EXPUNGE", uids)


def write_zero_byte_message(folder_dir, date, flags="S"):
    """A zero-byte message file in a Dovecot maildir folder's cur/ (APPEND
    cannot make one: Dovecot and Cyrus refuse empty literals), as a broken
    delivery leaves it. Dovecot finds it at the next sync."""
    name = "%d.M0P%d.zero,S=0,W=0:2,%s" % (date, os.getpid(), flags)
    path = os.path.join(folder_dir, "cur", name)
    with open(path, "wb"):
        pass
    os.chown(path, MAIL_UID, MAIL_GID)
    os.utime(path, (date, date))
    return path


def date_of(year, month=1, day=1):
    return calendar.timegm((year, month, day, 0, 0, 0))
