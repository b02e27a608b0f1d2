"""A deterministic corpus of varied mail, written straight into a Maildir.

The legacy server must serve a realistic mix: tiny and multi-megabyte
messages, 8-bit and RFC 2047 encoded headers in several charsets, nested
MIME, every combination of the system flags, INTERNALDATEs spread over years.
The same seed always gives the same bytes, so a failure can be reproduced.

Writing maildir files directly is much faster than any IMAP APPEND or
doveadm import: Dovecot takes the flags from the ":2,<flags>" suffix of the
file name and the INTERNALDATE from the file's mtime.

API (meant to grow: folders and keywords are already understood by
write_maildir, other edge cases can be new `kinds`):

    corpus = Corpus(seed=1)
    messages = corpus.inbox(500, big=4)     # list of Message
    write_maildir(legacy.maildir("alice@example.com"), messages)
    expected = [m.record() for m in messages]   # for compare.diff()
"""

import base64
import calendar
import hashlib
import os
import quopri
import random
import time

from . import compare
from .dovecot import MAIL_GID, MAIL_UID
from .imap_tree import mutf7_encode

# IMAP system flag -> maildir info letter (maildir flags must be sorted).
MAILDIR_FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
                        "\\Deleted": "T"}
# How often each flag is set, independently.
FLAG_ODDS = {"\\Seen": 0.7, "\\Answered": 0.2, "\\Flagged": 0.1, "\\Draft": 0.03}

# Texts for headers and bodies in the charsets legacy Chinese providers use.
TEXTS = {
    "utf-8": ["Grüße aus Zürich – Quartalsbericht", "Привет, отчёт за март", "会议纪要：第三季度预算",
              "日本語の件名テスト", "Café crème 🍰 party", "Ελληνικά θέματα"],
    "gbk": ["关于下季度预算的会议纪要", "请查收本月工资单", "项目进度周报（第十二周）"],
    "big5": ["請確認附件中的合約條款", "年終聚餐通知", "客戶資料更新"],
}
NAMES = {
    "utf-8": ["Jürgen Müller", "Анна Смирнова", "王小明", "Zoë Ångström"],
    "gbk": ["张伟", "李娜"],
    "big5": ["陳怡君", "林志明"],
}
WORDS = ("mail move legacy server budget meeting report quarter invoice project "
         "schedule review contract customer update please find attached thanks "
         "regards tomorrow office delivery").split()
# Zones used for Date: headers (INTERNALDATE itself is an instant).
ZONES = ["+0000", "+0800", "-0500", "+0100", "+0530", "-0800"]


class Message:
    """One message as the legacy server will hold it.

    raw is the file content (LF line ends, as Dovecot stores maildir files);
    IMAP serves it with CRLF (imap_bytes). flags are IMAP system flags,
    keywords IMAP keywords, internaldate epoch seconds, folder the mailbox
    name ("INBOX" or e.g. "Sent").
    """

    def __init__(self, raw, flags=(), internaldate=0, keywords=(), folder="INBOX"):
        self.raw = raw
        self.flags = frozenset(flags)
        self.internaldate = internaldate
        self.keywords = tuple(keywords)
        self.folder = folder

    def imap_bytes(self):
        return self.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    def record(self):
        """The compare.Record a correct server shows for this message."""
        return compare.make_record(self.imap_bytes(), self.flags | frozenset(self.keywords),
                                   self.internaldate)


# -- header and body pieces ------------------------------------------------

def encoded_word(text, charset, encoding="B"):
    """RFC 2047 encoded-words for text, split so none exceeds 75 chars and no
    multi-byte character is cut; joined by folding whitespace."""
    codec = {"big5": "big5", "gbk": "gbk"}.get(charset.lower(), "utf-8")
    words, chunk = [], ""
    for char in text:
        if len((chunk + char).encode(codec)) > 30:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    out = []
    for word in words:
        data = word.encode(codec)
        if encoding == "B":
            payload = base64.b64encode(data).decode()
        else:
            payload = "".join(c if c.isascii() and c.isalnum() else "=%02X" % ord(c)
                              for c in data.decode("latin-1"))
            payload = payload.replace("=20", "_")
        out.append("=?%s?%s?%s?=" % (charset, encoding, payload))
    return "\n ".join(out)


def _wrap(data, width=76):
    return "\n".join(data[i:i + width] for i in range(0, len(data), width))


class Corpus:
    """Seeded generator of Messages. Each call continues the same random
    stream, so the whole sequence of calls must be repeated to reproduce it."""

    def __init__(self, seed, domain="example.com"):
        self.seed = seed
        self.rng = random.Random(seed)
        self.domain = domain
        self.counter = 0

    # -- top level -----------------------------------------------------

    def inbox(self, count, big=0, start_year=2009, end_year=2024, max_attachment=200_000,
              recipient="user@example.com"):
        """count INBOX messages with distinct INTERNALDATEs between the years,
        `big` of them 2-6 MB with a base64 attachment. No \\Deleted flag."""
        dates = sorted(self.distinct_dates(count, start_year, end_year))
        big_positions = set(self.rng.sample(range(count), big))
        kinds = [("tiny", 3), ("plain", 4), ("utf8_raw", 2), ("encoded", 3),
                 ("alternative", 3), ("mixed", 3)]
        messages = []
        for position, date in enumerate(dates):
            kind = "big" if position in big_positions else self.weighted(kinds)
            raw = getattr(self, "_kind_" + kind)(date, recipient, max_attachment)
            messages.append(Message(raw, self.random_flags(), date))
        return messages

    def distinct_dates(self, count, start_year, end_year):
        start = calendar.timegm((start_year, 1, 1, 0, 0, 0))
        end = calendar.timegm((end_year, 12, 31, 23, 59, 59))
        return self.rng.sample(range(start, end), count)

    def random_flags(self):
        return frozenset(flag for flag, odds in FLAG_ODDS.items() if self.rng.random() < odds)

    def weighted(self, choices):
        return self.rng.choices([c for c, _ in choices], [w for _, w in choices])[0]

    # -- pieces --------------------------------------------------------

    def words(self, count):
        return " ".join(self.rng.choice(WORDS) for _ in range(count))

    def paragraphs(self, size):
        """ASCII text of about size bytes in lines under 80 chars."""
        lines, total = [], 0
        while total < size:
            line = self.words(self.rng.randint(3, 12)).capitalize() + "."
            lines.append(line)
            total += len(line) + 1
        return "\n".join(lines)

    def headers(self, date, recipient, subject, sender, extra=()):
        """Header block (str) for a message; subject/sender already encoded."""
        self.counter += 1
        zone = self.rng.choice(ZONES)
        offset = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60)
        # The Date: header is written a little before the message arrived.
        when = time.gmtime(date - self.rng.randint(1, 600) + offset)
        date_text = time.strftime("%a, %d %b %Y %H:%M:%S ", when) + zone
        digest = hashlib.sha1(b"%d-%d" % (self.seed, self.counter)).hexdigest()[:16]
        lines = [
            "Return-Path: <bounce-%d@%s>" % (self.counter, "legacy.example"),
            "Received: from mx.legacy.example (mx.legacy.example [192.0.2.25])\n"
            "\tby imap.legacy.example with ESMTP id %s\n\tfor <%s>; %s" % (
                digest[:10], recipient, date_text),
            "Message-ID: <%s.%d.%d@corpus.%s>" % (digest, self.seed, self.counter, self.domain),
            "Date: " + date_text,
            "From: " + sender,
            "To: " + recipient,
            "Subject: " + subject,
            "MIME-Version: 1.0",
        ]
        return "\n".join(lines + list(extra))

    def ascii_sender(self):
        name = self.rng.choice(["Alice Example", "Bob Builder", "Carol Jones", "Dave O'Brien"])
        return '"%s" <%s@sender.example>' % (name, name.split()[0].lower())

    def attachment(self, size, name):
        """A MIME part with size random bytes, base64-encoded."""
        data = self.rng.randbytes(size)
        return ("Content-Type: application/octet-stream; name=\"%s\"\n"
                "Content-Transfer-Encoding: base64\n"
                "Content-Disposition: attachment; filename=\"%s\"\n\n%s" % (
                    name, name, _wrap(base64.b64encode(data).decode())))

    def boundary(self):
        return "=_corpus_%d_%08x" % (self.counter, self.rng.getrandbits(32))

    def multipart(self, subtype, parts):
        """(Content-Type header, body) of a multipart/subtype of parts."""
        boundary = self.boundary()
        body = "This is a multi-part message in MIME format.\n"
        for part in parts:
            body += "\n--%s\n%s\n" % (boundary, part)
        body += "\n--%s--\n" % boundary
        return 'Content-Type: multipart/%s; boundary="%s"' % (subtype, boundary), body

    def alternative_parts(self):
        text = self.paragraphs(self.rng.randint(200, 4000))
        html = "<html><body>%s</body></html>" % "".join(
            "<p>%s</p>\n" % line for line in text.split("\n"))
        return [
            "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n" + text,
            "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
            + quopri.encodestring(html.encode()).decode(),
        ]

    def assemble(self, header_text, content_headers, body):
        text = header_text + "\n" + content_headers + "\n\n" + body
        if not text.endswith("\n"):
            text += "\n"
        return text.encode("utf-8")

    # -- kinds of message ----------------------------------------------

    def _kind_tiny(self, date, recipient, max_attachment):
        subject = self.words(self.rng.randint(1, 5))
        return self.assemble(self.headers(date, recipient, subject, self.ascii_sender()),
                             "Content-Type: text/plain; charset=us-ascii", self.words(3))

    def _kind_plain(self, date, recipient, max_attachment):
        subject = self.words(self.rng.randint(2, 10)).capitalize()
        body = self.paragraphs(self.rng.choice([500, 2000, 10_000, 60_000]))
        return self.assemble(self.headers(date, recipient, subject, self.ascii_sender()),
                             "Content-Type: text/plain; charset=us-ascii\n"
                             "Content-Transfer-Encoding: 7bit", body)

    def _kind_utf8_raw(self, date, recipient, max_attachment):
        """Raw 8-bit UTF-8 in Subject and From, as many servers store it."""
        subject = self.rng.choice(TEXTS["utf-8"])
        sender = "%s <%s@sender.example>" % (self.rng.choice(NAMES["utf-8"]), "u%d" % self.counter)
        body = "%s\n\n%s\n" % (self.rng.choice(TEXTS["utf-8"]), self.paragraphs(800))
        return self.assemble(self.headers(date, recipient, subject, sender),
                             "Content-Type: text/plain; charset=utf-8\n"
                             "Content-Transfer-Encoding: 8bit", body)

    def _kind_encoded(self, date, recipient, max_attachment):
        """RFC 2047 encoded-words in UTF-8, GBK or Big5, with a body in the
        same charset (base64 or raw 8-bit)."""
        charset = self.rng.choice(["utf-8", "UTF-8", "gbk", "GBK", "big5", "Big5"])
        lower = charset.lower()
        encoding = self.rng.choice(["B", "Q"]) if lower == "utf-8" else "B"
        subject = encoded_word(self.rng.choice(TEXTS[lower]), charset, encoding)
        sender = "%s <%s@sender.example>" % (
            encoded_word(self.rng.choice(NAMES[lower]), charset, "B"), "e%d" % self.counter)
        text = ("%s\n" % self.rng.choice(TEXTS[lower])) * self.rng.randint(1, 40)
        codec = {"gbk": "gbk", "big5": "big5"}.get(lower, "utf-8")
        data = text.encode(codec)
        if self.rng.random() < 0.5:
            cte, payload = "base64", _wrap(base64.b64encode(data).decode()).encode()
        else:
            cte, payload = "8bit", data
        head = self.headers(date, recipient, subject, sender) + (
            "\nContent-Type: text/plain; charset=%s\nContent-Transfer-Encoding: %s\n\n" % (
                charset, cte))
        return head.encode("ascii") + payload + (b"" if payload.endswith(b"\n") else b"\n")

    def _kind_alternative(self, date, recipient, max_attachment):
        content_type, body = self.multipart("alternative", self.alternative_parts())
        subject = encoded_word(self.rng.choice(TEXTS["utf-8"]), "UTF-8", "Q")
        return self.assemble(self.headers(date, recipient, subject, self.ascii_sender()),
                             content_type, body)

    def _kind_mixed(self, date, recipient, max_attachment):
        alt_type, alt_body = self.multipart("alternative", self.alternative_parts())
        parts = [alt_type + "\n\n" + alt_body]
        for n in range(self.rng.randint(1, 3)):
            parts.append(self.attachment(self.rng.randint(100, max_attachment), "file%d.bin" % n))
        content_type, body = self.multipart("mixed", parts)
        subject = "Files: " + self.words(3)
        return self.assemble(self.headers(date, recipient, subject, self.ascii_sender()),
                             content_type, body)

    def _kind_big(self, date, recipient, max_attachment):
        """2-6 MB: text plus one large base64 attachment."""
        size = self.rng.randint(2 * 1024 * 1024, 6 * 1024 * 1024) * 3 // 4
        parts = ["Content-Type: text/plain; charset=us-ascii\n\nThe scan is attached.",
                 self.attachment(size, "scan.pdf")]
        content_type, body = self.multipart("mixed", parts)
        return self.assemble(self.headers(date, recipient, "Big scan " + self.words(2),
                                          self.ascii_sender()), content_type, body)


def inbox_from_spec(spec, recipient, domain="example.com"):
    """The INBOX a test file describes as {"seed": S, "count": N, **options
    of Corpus.inbox}, e.g. {"seed": 1, "count": 500, "big": 4}."""
    options = dict(spec)
    return Corpus(options.pop("seed"), domain).inbox(options.pop("count"), recipient=recipient,
                                                     **options)


# -- writing a Maildir -----------------------------------------------------

def _encoded_levels(folder):
    """The folder's levels ("/" is the hierarchy), non-ASCII ones in
    modified UTF-7; ASCII ones as given, so a name a test writes in
    modified UTF-7 already ("Sp&AOQ-m") stays as it is."""
    return [level if level.isascii() else mutf7_encode(level) for level in folder.split("/")]


def maildirpp_name(folder):
    """A folder's Maildir++ directory name without its leading ".":
    levels joined with "." ("Работа/Отчёты" ->
    "&BCAEMAQxBD4EQgQw-.&BB4EQgRHBFEEQgRL-")."""
    return ".".join(_encoded_levels(folder))


def folder_path(maildir, folder):
    """Maildir++ directory of a folder: INBOX is the Maildir itself, others
    are "." + maildirpp_name(folder)."""
    if folder.upper() == "INBOX":
        return maildir
    return os.path.join(maildir, "." + maildirpp_name(folder))


def write_maildir(maildir, messages, uid=MAIL_UID, gid=MAIL_GID):
    """Write messages into maildir (a user's ~/Maildir) as a mail server would.

    File names start with the INTERNALDATE, so Dovecot's first scan gives
    UIDs in date order (oldest first, like a real mailbox). S= and W= carry
    the physical and the CRLF (virtual) size. Keywords get letters a-z
    through dovecot-keywords. Returns the number of files written.
    """
    keywords = sorted({k for m in messages for k in m.keywords})
    if len(keywords) > 26:
        raise ValueError("maildir supports at most 26 keywords per mailbox")
    letters = {k: chr(ord("a") + i) for i, k in enumerate(keywords)}
    folders = set()
    for n, message in enumerate(messages):
        path = folder_path(maildir, message.folder)
        if path not in folders:
            folders.add(path)
            _make_maildir(path, uid, gid, keywords)
        info = "".join(sorted(MAILDIR_FLAG_LETTERS[f] for f in message.flags) +
                       sorted(letters[k] for k in message.keywords))
        name = "%d.M%dP%d.corpus,S=%d,W=%d:2,%s" % (
            message.internaldate, n, os.getpid(), len(message.raw),
            len(message.imap_bytes()), info)
        file_path = os.path.join(path, "cur", name)
        with open(file_path, "wb") as f:
            f.write(message.raw)
        os.chown(file_path, uid, gid)
        os.utime(file_path, (message.internaldate, message.internaldate))
    # Subscriptions name folders with "/" as the tests' legacy namespace
    # does, non-ASCII levels in modified UTF-7.
    subscribed = sorted("/".join(_encoded_levels(m.folder)) for m in messages
                        if m.folder.upper() != "INBOX")
    if subscribed:
        _write_owned(os.path.join(maildir, "subscriptions"),
                     "".join(f + "\n" for f in dict.fromkeys(subscribed)), uid, gid)
    return len(messages)


def _make_maildir(path, uid, gid, keywords):
    for sub in ("", "cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
        os.chown(os.path.join(path, sub), uid, gid)
    if path.rstrip("/").rsplit("/", 1)[-1].startswith("."):
        _write_owned(os.path.join(path, "maildirfolder"), "", uid, gid)
    if keywords:
        _write_owned(os.path.join(path, "dovecot-keywords"),
                     "".join("%d %s\n" % (i, k) for i, k in enumerate(keywords)), uid, gid)


def _write_owned(path, text, uid, gid):
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, uid, gid)


def total_bytes(messages):
    """Sum of the IMAP sizes (what RFC822.SIZE reports) of messages."""
    return sum(len(m.imap_bytes()) for m in messages)
