"""Compare the mail in a mailbox on two servers, message by message.

A move is right when the target holds exactly the legacy messages: the same
bytes, the same flags and the same INTERNALDATE, each exactly once. Both
sides are read over IMAP (what users see), reduced to one Record per
message, and compared as multisets of (SHA-256 of the bytes, flags without
\\Recent, INTERNALDATE as an instant). UIDs and sizes are carried along only
to make the report precise.

Memory stays flat: messages are fetched in chunks of a bounded total size and
only their digests are kept.
"""

import collections
import datetime
import hashlib
import re

from . import clients

# Flags a server sets by itself; they say nothing about the moved message.
IGNORED_FLAGS = frozenset({"\\Recent"})
CHUNK_BYTES = 16 * 1024 * 1024


class Record(collections.namedtuple(
        "Record", "sha256 flags internaldate size uid label server_size")):
    """One message: what is compared (sha256, flags, internaldate) and what
    helps a reader find it (size, uid, label = start of the Subject).
    server_size is the RFC822.SIZE the server announced (None if unknown);
    it must equal size, the number of bytes it sent."""

    __slots__ = ()

    @property
    def key(self):
        return (self.sha256, self.flags, self.internaldate)

    def describe(self, side):
        uid = "UID %s" % self.uid if self.uid is not None else "message"
        return "%s %s (%d bytes, %s, flags %s, %s)" % (
            side, uid, self.size, self.label, format_flags(self.flags),
            format_instant(self.internaldate))


def make_record(message_bytes, flags, internaldate, uid=None, server_size=None):
    """Build a Record from the message bytes as IMAP serves them (CRLF)."""
    return Record(hashlib.sha256(message_bytes).hexdigest(),
                  frozenset(flags) - IGNORED_FLAGS, internaldate, len(message_bytes), uid,
                  _label(message_bytes), server_size)


def format_flags(flags):
    return "(" + " ".join(sorted(flags)) + ")"


def format_instant(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _label(message_bytes):
    """The start of the Subject header (raw), to name a message in reports."""
    header = message_bytes.split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"^Subject:[ \t]*(.*)$", header, re.MULTILINE | re.IGNORECASE)
    subject = match.group(1).strip() if match else b""
    text = subject.decode("utf-8", "replace")
    return "Subject %r" % (text[:50] + ("..." if len(text) > 50 else ""))


# -- reading a mailbox over IMAP ------------------------------------------

_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_DATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


def parse_internaldate(text):
    """IMAP date-time ("17-Jul-1996 02:44:25 -0700") -> epoch seconds."""
    return int(datetime.datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z").timestamp())


def _uid_ranges(uids):
    """Compact IMAP sequence set for sorted uids: 1:5,9,11:12."""
    parts = []
    start = prev = uids[0]
    for uid in uids[1:] + [None]:
        if uid is not None and uid == prev + 1:
            prev = uid
            continue
        parts.append(str(start) if start == prev else "%d:%d" % (start, prev))
        start = prev = uid
    return ",".join(parts)


def _chunks(sizes, limit):
    """Split [(uid, size)] into lists of uids whose sizes add up to <= limit
    (a single bigger message gets a chunk of its own)."""
    chunk, total = [], 0
    for uid, size in sizes:
        if chunk and total + size > limit:
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += size
    if chunk:
        yield chunk


def _fetch(conn, uid_set, items):
    typ, data = conn.uid("FETCH", uid_set, items)
    if typ != "OK":
        raise AssertionError("UID FETCH %s %s failed: %r" % (uid_set, items, data))
    return [item for item in data if item is not None]


def fetch_records(conn, chunk_bytes=CHUNK_BYTES):
    """Records for every message of the selected mailbox, in UID order."""
    sizes = []
    for item in _fetch(conn, "1:*", "(UID RFC822.SIZE)"):
        line = item[0] if isinstance(item, tuple) else item
        uid, size = _UID.search(line), _SIZE.search(line)
        if uid and size:
            sizes.append((int(uid.group(1)), int(size.group(1))))
    sizes.sort()
    records = []
    for chunk in _chunks(sizes, chunk_bytes):
        data = _fetch(conn, _uid_ranges(chunk), "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
        for i, item in enumerate(data):
            if not isinstance(item, tuple):
                continue
            # imaplib splits a response at its literal: (prefix, literal),
            # then the rest (")" or more items) as the next element.
            meta = item[0]
            if i + 1 < len(data) and isinstance(data[i + 1], bytes):
                meta += data[i + 1]
            uid, flags, date, size = (_UID.search(meta), _FLAGS.search(meta),
                                      _DATE.search(meta), _SIZE.search(meta))
            if not (uid and flags and date and size):
                raise AssertionError("unparsable FETCH response: %r" % meta[:300])
            records.append(make_record(item[1], flags.group(1).decode().split(),
                                       parse_internaldate(date.group(1).decode()),
                                       int(uid.group(1)), int(size.group(1))))
    if len(records) != len(sizes):
        raise AssertionError("fetched %d messages, the mailbox lists %d" % (len(records), len(sizes)))
    return records


def mailbox_records(instance, username, mailbox="INBOX"):
    """Log in to instance as username and read every message of mailbox.

    The mailbox is opened read-only (EXAMINE) and bodies are fetched with
    BODY.PEEK, so reading never changes \\Seen or \\Recent.
    """
    with clients.imap_session(instance, username) as conn:
        typ, data = conn.select('"%s"' % mailbox, readonly=True)
        if typ != "OK":
            raise AssertionError("EXAMINE %s failed for %s: %r" % (mailbox, username, data))
        return fetch_records(conn)


# -- comparing -------------------------------------------------------------

class Difference(collections.namedtuple("Difference", "kind text")):
    """kind is one of missing, extra, duplicate, flags, internaldate, size."""

    __slots__ = ()

    def __str__(self):
        return "%s: %s" % (self.kind, self.text)


def _size_problems(records, side):
    return [Difference("size", "%s: RFC822.SIZE %d, but %d bytes were sent" % (
        record.describe(side), record.server_size, record.size))
        for record in records if record.server_size not in (None, record.size)]


def _mismatch(old, new, names):
    """Describe how two copies of the same bytes differ."""
    parts = []
    kind = None
    if old.flags != new.flags:
        kind = "flags"
        parts.append("flags %s vs %s" % (format_flags(old.flags), format_flags(new.flags)))
    if old.internaldate != new.internaldate:
        kind = kind or "internaldate"
        parts.append("INTERNALDATE %s vs %s" % (format_instant(old.internaldate),
                                                format_instant(new.internaldate)))
    return Difference(kind, "%s; %s vs %s" % (
        ", ".join(parts), old.describe(names[0]), new.describe(names[1])))


def diff(expected, actual, names=("legacy", "target")):
    """Every difference between two lists of Records, as Difference objects.

    Messages are matched by their bytes' digest. Copies whose flags and
    INTERNALDATE also match cancel out; what is left is reported as a flag
    or date mismatch when both sides still have a copy, as missing when only
    `expected` has it, and as extra (or duplicate, when `expected` has the
    same bytes fewer times) when only `actual` has it.
    """
    problems = _size_problems(expected, names[0]) + _size_problems(actual, names[1])
    by_digest = collections.defaultdict(lambda: ([], []))
    for record in expected:
        by_digest[record.sha256][0].append(record)
    for record in actual:
        by_digest[record.sha256][1].append(record)
    for digest in sorted(by_digest, key=lambda d: _first_uid(by_digest[d])):
        old, new = by_digest[digest]
        old_left = list(old)
        new_left = []
        for record in new:
            match = next((o for o in old_left if o.key == record.key), None)
            if match is None:
                new_left.append(record)
            else:
                old_left.remove(match)
        for old_record, new_record in zip(old_left, new_left):
            problems.append(_mismatch(old_record, new_record, names))
        for record in old_left[len(new_left):]:
            problems.append(Difference("missing", "%s has no copy in %s" % (
                record.describe(names[0]), names[1])))
        for record in new_left[len(old_left):]:
            if old:
                problems.append(Difference("duplicate", "%s: %s has %d copies (%s), %s has %d" % (
                    record.describe(names[1]), names[1], len(new), _uids(new), names[0],
                    len(old))))
            else:
                problems.append(Difference("extra", "%s is not in %s" % (
                    record.describe(names[1]), names[0])))
    return problems


def _uids(records):
    return "UIDs " + ", ".join(str(r.uid) for r in records)


def _first_uid(pair):
    """Sort key: report differences in the order of the legacy mailbox."""
    for records in pair:
        for record in records:
            if record.uid is not None:
                return record.uid
    return 0


def summarize(problems, limit=30):
    """Counts per kind, then the first `limit` differences, one per line."""
    if not problems:
        return "no differences"
    counts = collections.Counter(problem.kind for problem in problems)
    lines = ["%d differences (%s)" % (len(problems), ", ".join(
        "%s %d" % item for item in sorted(counts.items())))]
    lines += ["  " + str(problem) for problem in problems[:limit]]
    if len(problems) > limit:
        lines.append("  ... and %d more" % (len(problems) - limit))
    return "\n".join(lines)
