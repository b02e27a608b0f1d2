"""IMAP folder trees: modified UTF-7 names, LIST with special-use and
subscriptions, and a pipelined APPEND client to seed legacy servers.

The whole-tree tests talk to several IMAP server implementations (legacy
Dovecot, Cyrus, the target read through a plain Dovecot), so this module
speaks only what RFC 3501, 5258 (LIST-EXTENDED), 6154 (SPECIAL-USE) and
7888 (LITERAL+) define, without anything server-specific.

Seeding goes through IMAP on purpose: it exercises the legacy server's own
APPEND path with flags, keywords and INTERNALDATE, works for any server,
and, pipelined with LITERAL+, is fast enough (a few thousand messages per
second on loopback).
"""

import base64
import collections
import re
import socket

# -- modified UTF-7 (RFC 3501, 5.1.3) --------------------------------------


def _b64_utf16(chars):
    data = "".join(chars).encode("utf-16-be")
    return base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ",")


def mutf7_encode(text):
    """A UTF-8 folder level or name (str) in modified UTF-7."""
    out, pending = [], []
    for char in text:
        if 0x20 <= ord(char) <= 0x7E:
            if pending:
                out.append("&" + _b64_utf16(pending) + "-")
                pending = []
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    if pending:
        out.append("&" + _b64_utf16(pending) + "-")
    return "".join(out)


def mutf7_decode(raw):
    """Modified UTF-7 (str or bytes) -> str. Raises ValueError if invalid."""
    if isinstance(raw, bytes):
        raw = raw.decode("ascii")
    out, i = [], 0
    while i < len(raw):
        if raw[i] != "&":
            out.append(raw[i])
            i += 1
            continue
        end = raw.index("-", i)
        chunk = raw[i + 1:end]
        if not chunk:
            out.append("&")
        else:
            data = chunk.replace(",", "/")
            data += "=" * (-len(data) % 4)
            out.append(base64.b64decode(data, validate=True).decode("utf-16-be"))
        i = end + 1
    return "".join(out)


def quote(text):
    """An IMAP quoted string (text must be 7-bit, as mUTF-7 names are)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- LIST ------------------------------------------------------------------

class ListedFolder(collections.namedtuple("ListedFolder",
                                          "raw name separator attributes subscribed")):
    """One LIST answer: raw (modified UTF-7) and decoded name, separator
    (None for NIL), attributes lower-cased, subscribed from \\Subscribed or
    LSUB."""

    __slots__ = ()

    @property
    def selectable(self):
        return not self.attributes & {"\\noselect", "\\nonexistent"}

    @property
    def special_use(self):
        """The RFC 6154 attributes (lower-cased) of the folder."""
        return self.attributes & SPECIAL_USE


SPECIAL_USE = frozenset({"\\all", "\\archive", "\\drafts", "\\flagged", "\\junk", "\\sent",
                         "\\trash", "\\important"})

_LIST_LINE = re.compile(rb'^\(([^)]*)\) (NIL|"(?:\\.|[^"\\])?") (.*)$', re.S)


def _unquote(text):
    if text.startswith(b'"') and text.endswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", text[1:-1])
    return text


def _response_items(data):
    """imaplib's untagged data: lines, or (line, literal) tuples when the
    name came as a literal; as (line without literal, literal or None)."""
    items = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            items.append((item[0], item[1]))
        elif items and items[-1][1] is not None and item in (b"", b")"):
            continue
        else:
            items.append((item, None))
    return items


def _parse_list(data):
    """[(attributes, separator, raw name)] of LIST/LSUB untagged data."""
    parsed = []
    for line, literal in _response_items(data):
        if literal is not None:
            line = line.rsplit(b"{", 1)[0] + b'"' + literal.replace(b"\\", b"\\\\").replace(
                b'"', b'\\"') + b'"'
        match = _LIST_LINE.match(line)
        if not match:
            raise AssertionError("unparsable LIST response: %r" % line)
        attributes = frozenset(a.lower() for a in match.group(1).decode().split())
        sep = match.group(2)
        separator = None if sep == b"NIL" else _unquote(sep).decode()
        parsed.append((attributes, separator, _unquote(match.group(3).strip()).decode("ascii")))
    return parsed


def _command_untagged(conn, name, *args):
    """Run an IMAP command through imaplib and return its untagged `name`
    responses (imaplib has no public call for LIST's RETURN options)."""
    typ, data = conn._simple_command(name, *args)
    if typ != "OK":
        raise AssertionError("%s %s failed: %r" % (name, " ".join(args), data))
    return conn._untagged_response(typ, data, name)[1]


def capabilities(conn):
    """The capabilities of a logged-in imaplib connection (imaplib keeps
    only the ones from before the login, which lack LIST-EXTENDED etc.)."""
    typ, data = conn.capability()
    if typ != "OK":
        raise AssertionError("CAPABILITY failed: %r" % data)
    return {c.upper() for c in data[0].decode().split()}


def list_folders(conn):
    """Every folder of the logged-in user as ListedFolder objects, in LIST
    order. Uses LIST-EXTENDED's RETURN (SUBSCRIBED SPECIAL-USE) where the
    server has it, LIST plus LSUB otherwise."""
    caps = capabilities(conn)
    if "LIST-EXTENDED" in caps:
        options = "(SUBSCRIBED SPECIAL-USE)" if "SPECIAL-USE" in caps else "(SUBSCRIBED)"
        rows = _parse_list(_command_untagged(conn, "LIST", '""', '"*"', "RETURN", options))
        subscribed = {raw for attributes, _, raw in rows if "\\subscribed" in attributes}
    else:
        rows = _parse_list(_command_untagged(conn, "LIST", '""', '"*"'))
        subscribed = {raw for _, _, raw in _parse_list(_command_untagged(conn, "LSUB", '""',
                                                                         '"*"'))}
    folders = []
    for attributes, separator, raw in rows:
        if "\\nonexistent" in attributes:
            continue  # only listed because it is subscribed
        folders.append(ListedFolder(raw, mutf7_decode(raw), separator,
                                    attributes - {"\\subscribed"}, raw in subscribed))
    return folders


def examine(conn, raw_name):
    """EXAMINE a folder by its raw name; returns (UIDVALIDITY, EXISTS)."""
    typ, data = conn.select(quote(raw_name), readonly=True)
    if typ != "OK":
        raise AssertionError("EXAMINE %s failed: %r" % (raw_name, data))
    uidvalidity = conn.untagged_responses.get("UIDVALIDITY", [b"0"])[-1]
    return int(uidvalidity), int(data[0])


# -- a pipelined client for seeding ----------------------------------------

class ImapError(AssertionError):
    """A server answered NO or BAD to a seeding command."""


class ImapWire:
    """A minimal IMAP client over a plain socket that pipelines APPENDs with
    LITERAL+ (RFC 7888): the servers used here all offer it.

    Only what seeding needs: LOGIN, simple commands, APPEND. Untagged data
    is read and dropped, literals in it included.
    """

    WINDOW = 16  # commands in flight
    BATCH = 50  # messages per MULTIAPPEND

    def __init__(self, port, host="127.0.0.1", timeout=120):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        self.tag_counter = 0
        greeting = self._read_line()
        if not greeting.startswith(b"* OK"):
            raise ImapError("unexpected greeting: %r" % greeting)
        self.capabilities = self._capability()

    def close(self):
        try:
            self.command("LOGOUT")
        except (OSError, ImapError):
            pass
        self.reader.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _next_tag(self):
        self.tag_counter += 1
        return "s%d" % self.tag_counter

    def _read_line(self):
        """One response line with any literals it carries inlined."""
        line = self.reader.readline()
        if not line:
            raise ImapError("the server closed the connection")
        while True:
            match = re.search(rb"\{(\d+)\}\r\n$", line)
            if not match:
                return line
            literal = self.reader.read(int(match.group(1)))
            line += literal + self.reader.readline()

    def _read_tagged(self, tag):
        untagged = []
        while True:
            line = self._read_line()
            if line.startswith(tag.encode() + b" "):
                status = line.split(b" ", 2)[1].decode()
                return status, line, untagged
            untagged.append(line)

    def _capability(self):
        _, _, untagged = self._checked("CAPABILITY")
        caps = set()
        for line in untagged:
            if line.upper().startswith(b"* CAPABILITY"):
                caps.update(line.decode().split()[2:])
        return {c.upper() for c in caps}

    def _checked(self, *parts):
        tag = self._next_tag()
        self.sock.sendall(("%s %s\r\n" % (tag, " ".join(parts))).encode())
        status, line, untagged = self._read_tagged(tag)
        if status != "OK":
            raise ImapError("%s: %s" % (" ".join(parts), line.decode(errors="replace").strip()))
        return status, line, untagged

    def command(self, *parts):
        """Run one command; return its untagged lines; ImapError on NO/BAD."""
        return self._checked(*parts)[2]

    def login(self, user, password):
        """LOGIN, with a literal for a password that needs one."""
        tag = self._next_tag()
        secret = password.encode("utf-8")
        if re.search(rb'[\x00-\x1f\x7f-\xff"\\]', secret):
            self.sock.sendall(("%s LOGIN %s {%d+}\r\n" % (tag, quote(user), len(secret))).encode()
                              + secret + b"\r\n")
        else:
            self.sock.sendall(("%s LOGIN %s %s\r\n" % (tag, quote(user), quote(password)))
                              .encode())
        status, line, _ = self._read_tagged(tag)
        if status != "OK":
            raise ImapError("LOGIN %s: %s" % (user, line.decode(errors="replace").strip()))
        self.capabilities = self._capability()

    def append_many(self, raw_mailbox, messages):
        """APPEND every (flags, internaldate text, bytes) to the folder.

        With MULTIAPPEND (RFC 3502) up to BATCH messages go into one
        command (servers that sync every APPEND to disk, like Cyrus, save
        a batch with one sync); up to WINDOW commands are in flight.
        Returns the number appended."""
        if "LITERAL+" not in self.capabilities:
            raise ImapError("the server lacks LITERAL+, which seeding needs")
        batch = self.BATCH if "MULTIAPPEND" in self.capabilities else 1
        pending = collections.deque()
        mailbox = quote(raw_mailbox)

        def finish_one():
            tag = pending.popleft()
            status, line, _ = self._read_tagged(tag)
            if status != "OK":
                raise ImapError("APPEND to %s: %s" % (raw_mailbox,
                                                      line.decode(errors="replace").strip()))

        for start in range(0, len(messages), batch):
            tag = self._next_tag()
            command = [("%s APPEND %s" % (tag, mailbox)).encode()]
            for flags, date_text, data in messages[start:start + batch]:
                command.append((" (%s) %s {%d+}\r\n" % (" ".join(flags), quote(date_text),
                                                         len(data))).encode() + data)
            self.sock.sendall(b"".join(command) + b"\r\n")
            pending.append(tag)
            if len(pending) >= self.WINDOW:
                finish_one()
        while pending:
            finish_one()
        return len(messages)
