"""Users move themselves over IMAP METADATA (issue 14): the server entries
under /private/vendor/vendor.mailmove/ against a real target Dovecot with
the installed plugin and imap_metadata = yes, and a real legacy Dovecot.

  alice  legacy login differs (alice.legacy) and her userdb's legacy
         password is wrong: her first login's move is auth-failed; she
         writes source-user and source-password over IMAP and the move
         starts again and finishes
  bob    reads every entry; bad values, too frequent writes refused;
         mailmove_user_notices = no (no note in his INBOX)
  other  mail processes of another uid: its requests for alice refused
  lou    a domain whose writes the admin switched off
"""

import imaplib
import os
import socket
import time

from lib import admin, clients, corpus, mailmove
from lib.dovecot import MAIL_UID, LegacyInstance, TargetInstance, User, stop_all
from lib.scenario import check, check_equal, note, scenario

PREFIX = "/private/vendor/vendor.mailmove/"
ENTRIES = ["source-user", "source-password", "state", "progress", "started", "finished",
           "last-error", "writable"]
OTHER_UID = MAIL_UID + 1
NOBODY = 65534
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
ALICE_LEGACY = "alice.legacy@old.test"
ALICE_LEGACY_PW = 'Old "pw" \\ ä-1'
WRITE_BURST = 4


# imaplib knows no METADATA commands.
imaplib.Commands.setdefault("GETMETADATA", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))


class MetadataTarget(TargetInstance):
    """The README's METADATA setup: imap_metadata = yes, and a
    mail_attribute_dict, without which Dovecot 2.3 does not advertise
    METADATA (our entries never use the dict)."""

    def _extra_config(self):
        return super()._extra_config() + (
            "imap_metadata = yes\nmail_attribute_dict = file:%h/dovecot-attributes\n")


class World:
    def __init__(self, workdir):
        self.legacy = LegacyInstance(workdir, users=[
            User(ALICE_LEGACY, ALICE_LEGACY_PW), User("bob@meta.test", "bob-old-pw")])
        self.target = MetadataTarget(
            workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path, name="target",
            users=[User("alice@meta.test", "alice-new-pw",
                        userdb_mailmove_source_password="not-her-old-password"),
                   User("bob@meta.test", "bob-new-pw",
                        userdb_mailmove_source_password="bob-old-pw",
                        userdb_mailmove_user_notices="no"),
                   User("other@meta.test", "other-pw", userdb_uid=str(OTHER_UID)),
                   User("lou@locked.test", "lou-pw")],
            plugin_settings={"mailmove_retry_delay": "1s", "mailmove_retry_max_delay": "2s",
                             "mailmove_auth_retries": "0", "mailmove_pass_interval": "0",
                             "mailmove_user_write_burst": str(WRITE_BURST),
                             "mailmove_user_write_interval": "10min",
                             "mailmove_user_writes_disabled": "locked.test",
                             "mailmove_user_notices": "yes"})
        self.messages = corpus.Corpus(141, "old.test").inbox(12, recipient=ALICE_LEGACY,
                                                                 max_attachment=5_000)

    def start(self):
        corpus.write_maildir(self.legacy.maildir(ALICE_LEGACY), self.messages)
        corpus.write_maildir(self.legacy.maildir("bob@meta.test"),
                             corpus.Corpus(142, "old.test").inbox(5, recipient="bob@meta.test"))
        self.legacy.start()
        self.target.start()

    def stop(self):
        stop_all([self.legacy, self.target])

    def logs(self):
        return [("target log (tail)", self.target.log_tail(60)),
                ("legacy log (tail)", self.legacy.log_tail(15))]


def get_metadata(conn, entries=ENTRIES):
    """GETMETADATA "" of the entries: {entry: value or None}."""
    names = " ".join(PREFIX + e for e in entries)
    typ, data = conn._simple_command("GETMETADATA", '""', "(%s)" % names)
    check_equal(typ, "OK", "GETMETADATA %s" % entries)
    _, data = conn._untagged_response(typ, data, "METADATA")
    return parse_metadata(data)


def parse_metadata(data):
    """imaplib's METADATA lines (strings, literal tuples) to a dict."""
    text = b""
    for item in data:
        if isinstance(item, tuple):
            text += item[0] + b"\x00" + item[1]
        elif item is not None:
            text += item
    values = {}
    pos = text.index(b"(") + 1
    while True:
        while pos < len(text) and text[pos:pos + 1] in b" )":
            pos += 1
        if pos >= len(text):
            break
        end = text.index(b" ", pos)
        name = text[pos:end].decode()
        pos = end + 1
        if text[pos:pos + 3] == b"NIL":
            value, pos = None, pos + 3
        elif text[pos:pos + 1] == b'"':
            out, pos = b"", pos + 1
            while text[pos:pos + 1] != b'"':
                if text[pos:pos + 1] == b"\\":
                    pos += 1
                out += text[pos:pos + 1]
                pos += 1
            value, pos = out.decode(), pos + 1
        else:  # literal: {n}\0data
            size = int(text[pos + 1:text.index(b"}", pos)])
            start = text.index(b"\x00", pos) + 1
            value, pos = text[start:start + size].decode(), start + size
        values[name[len(PREFIX):]] = value
    return values


def set_metadata(conn, pairs):
    """SETMETADATA "" of [(entry, value)], values as LITERAL+ literals
    (UTF-8, any byte): (tag result, text)."""
    body = b""
    for entry, value in pairs:
        body += b" " if body else b""
        body += (PREFIX + entry).encode() + b" "
        if value is None:
            body += b"NIL"
        else:
            data = value.encode()
            body += b"{%d+}\r\n" % len(data) + data
    try:
        typ, data = conn._simple_command("SETMETADATA", b'""', b"(" + body + b")")
    except conn.error as e:
        return "NO", str(e)
    return typ, b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")


def wait_state(target, user, states, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        row = mailmove.status(target, user)
        if row["state"] in states:
            return row
        if time.monotonic() > deadline:
            raise AssertionError("%s: state %s, waited for %s" % (user, row["state"], states))
        time.sleep(0.2)


@scenario("a-read-every-entry-as-status-shows-it")
def read_entries(world):
    """bob's move runs at his first login and finishes; every entry reads
    what doveadm mailmove status says, source-password reads NIL."""
    target = world.target
    with clients.imap_session(target, "bob@meta.test") as conn:
        typ, caps = conn.capability()
        check(b"METADATA" in caps[0], "no METADATA capability: %r", caps)
    row = wait_state(target, "bob@meta.test", ("done", "failed", "auth-failed"))
    check_equal(row["state"], "done", "bob's move")
    with clients.imap_session(target, "bob@meta.test") as conn:
        values = get_metadata(conn)
    note("bob's entries: %r", values)
    row = mailmove.status(target, "bob@meta.test")
    check_equal(values["state"], row["state"], "state")
    check_equal(values["started"], row["started"], "started")
    check_equal(values["finished"], row["finished"], "finished")
    check_equal(values["progress"],
                "messages=%s/%s bytes=%s/%s folders=%s/%s failed=%s" % (
                    row["messages_done"], row["messages_total"], row["bytes_done"],
                    row["bytes_total"], row["folders_done"], row["folders_total"],
                    row["messages_failed"]), "progress")
    check(values["progress"].startswith("messages=5/5 "), "progress %r", values["progress"])
    check_equal(values["last-error"], None, "last-error of a done move")
    check_equal(values["source-password"], None, "source-password reads")
    check_equal(values["source-user"], None, "source-user before any write")
    check_equal(values["writable"], "yes", "writable")
    with clients.imap_session(target, "bob@meta.test") as conn:
        typ, data = conn.select("INBOX", readonly=True)
        check_equal(int(data[0]), 5, "bob's INBOX (mailmove_user_notices = no: no note)")
    # Read-only entries refuse writes.
    typ, text = set_metadata_session(target, "bob@meta.test", [("state", "done")])
    check_equal(typ, "NO", "SETMETADATA of state: %s" % text)


def set_metadata_session(target, user, pairs):
    with clients.imap_session(target, user) as conn:
        return set_metadata(conn, pairs)


@scenario("b-legacy-password-restarts-an-auth-failed-move")
def password_restarts(world):
    """alice's first login queues a move with a wrong legacy password: it
    becomes auth-failed, last-error says so over IMAP. She writes her legacy
    login and password; the move starts again and finishes with all mail;
    the password is stored with origin user and in no log. Her INBOX has
    one note that the old password was refused and one that the move is
    done (English and Chinese)."""
    target, legacy = world.target, world.legacy
    with clients.imap_session(target, "alice@meta.test") as conn:
        pass
    row = wait_state(target, "alice@meta.test", ("auth-failed", "done", "failed"))
    check_equal(row["state"], "auth-failed", "alice's first move")
    with clients.imap_session(target, "alice@meta.test") as conn:
        values = get_metadata(conn)
        note("alice before: %r", values)
        check_equal(values["state"], "auth-failed", "state over IMAP")
        check(values["last-error"], "no last-error for an auth-failed move")
        started = time.monotonic()
        typ, text = set_metadata(conn, [("source-user", ALICE_LEGACY),
                                        ("source-password", ALICE_LEGACY_PW)])
        check_equal(typ, "OK", "SETMETADATA of alice's legacy login and password: %s" % text)
        note("SETMETADATA of two entries took %.3f s", time.monotonic() - started)
        values = get_metadata(conn, ["source-user", "source-password"])
        check_equal(values, {"source-user": ALICE_LEGACY, "source-password": None},
                    "entries after the write")
    row = wait_state(target, "alice@meta.test", ("done", "failed"), TIMEOUT)
    check_equal(row["state"], "done", "alice's move after her write")
    check_equal(row["credentials"], "user", "credentials origin")
    check_equal(int(row["messages_done"]), len(world.messages), "messages moved")
    with clients.imap_session(target, "alice@meta.test") as conn:
        values = get_metadata(conn)
        check_equal(values["state"], "done", "state over IMAP when done")
        check(values["progress"].startswith("messages=12/12 "), "progress %r",
              values["progress"])
        typ, data = conn.select("INBOX", readonly=True)
        # Her mail, and one note each: the password refused, the move done.
        check_equal(int(data[0]), len(world.messages) + 2, "alice's INBOX")
        notes = {}
        for kind in ("auth-failed", "done"):
            typ, found = conn.search(None, "HEADER", "X-Mailmove-Notice", kind)
            notes[kind] = found[0].split()
        check_equal({k: len(v) for k, v in notes.items()}, {"auth-failed": 1, "done": 1},
                    "notes in alice's INBOX")
        typ, body = conn.fetch(notes["done"][0], "(BODY.PEEK[])")
        text = body[0][1].decode("utf-8")
        check("12 messages" in text and "共 12 封邮件" in text,
              "the done note does not count her mail: %r", text)
        typ, body = conn.fetch(notes["auth-failed"][0], "(BODY.PEEK[])")
        check("旧邮箱" in body[0][1].decode("utf-8"), "no Chinese text in the password note")
    for name in ("target", "legacy"):
        instance = target if name == "target" else legacy
        check(ALICE_LEGACY_PW.encode() not in open(instance.log_path, "rb").read(),
              "the legacy password is in the %s log", name)
    check(admin.files_containing(target.root, [ALICE_LEGACY_PW]) == [],
          "the legacy password in clear under the target: %r",
          admin.files_containing(target.root, [ALICE_LEGACY_PW]))


@scenario("c-bad-values-refused")
def bad_values(world):
    """Empty, control characters, too long: refused, nothing stored."""
    target = world.target
    bad = [("source-password", ""), ("source-password", "a\tb"),
           ("source-password", "x" * 1025), ("source-user", " lead"),
           ("source-user", "u" * 256), ("source-password", None)]
    with clients.imap_session(target, "bob@meta.test") as conn:
        for entry, value in bad:
            typ, text = set_metadata(conn, [(entry, value)])
            check_equal(typ, "NO", "SETMETADATA %s=%r: %s" % (entry, (value or "")[:20], text))
    check_equal(mailmove.status(target, "bob@meta.test")["credentials"], "none",
                "bob's credentials after bad values")


@scenario("d-another-users-request-refused")
def other_user(world):
    """USER-SET for alice from the mail processes of another uid (other@'s)
    and from nobody: refused with a reply, nothing stored, logged without
    the value; over IMAP a user only ever reaches their own entries."""
    target = world.target
    path = os.path.join(target.base_dir, "mailmove")
    replies = {}

    def ask(line, out_fd):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(path)
            sock.sendall(("VERSION\tmailmove-notify\t1\t0\n" + line + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        os.write(out_fd, data)

    mark = target.log_mark()
    for uid in (OTHER_UID, NOBODY):
        read_fd, write_fd = os.pipe()
        try:
            admin.as_uid(uid, lambda: ask("USER-SET\talice@meta.test\tpassword=planted-pw",
                                          write_fd))
            os.close(write_fd)
            write_fd = None
            replies[uid] = os.read(read_fd, 65536).decode()
        finally:
            os.close(read_fd)
            if write_fd is not None:
                os.close(write_fd)
    note("replies: %r", replies)
    for uid, reply in replies.items():
        check(reply.startswith("ERR\tRefused") and "sent by uid %d" % uid in reply,
              "uid %d's USER-SET for alice: %r", uid, reply)
    log = target.log_since(mark)
    check("Ignored a user request" in log, "the refusal is not logged")
    check("planted-pw" not in log, "the planted value is logged")
    with clients.imap_session(target, "other@meta.test") as conn:
        values = get_metadata(conn, ["state", "source-user"])
    check_equal(values["source-user"], None, "other@'s own source-user")
    check(values["state"] in ("queued", "running", "done", "failed", "auth-failed"),
          "other@'s own state: %r", values["state"])
    check_equal(mailmove.status(target, "alice@meta.test")["credentials"], "user",
                "alice's credentials after the refused requests")


@scenario("e-too-frequent-writes-refused")
def too_frequent(world):
    """A user's writes beyond mailmove_user_write_burst are refused until
    the interval passes; another user is not affected."""
    target = world.target
    results = []
    with clients.imap_session(target, "bob@meta.test") as conn:
        for i in range(WRITE_BURST + 2):
            results.append(set_metadata(conn, [("source-user", "bob-%d" % i)]))
    note("results: %r", results)
    typs = [typ for typ, _ in results]
    check_equal(typs, ["OK"] * WRITE_BURST + ["NO", "NO"], "bob's writes")
    check("Too many changes" in results[-1][1], "refusal text: %r", results[-1][1])
    with clients.imap_session(target, "bob@meta.test") as conn:
        check_equal(get_metadata(conn, ["source-user"])["source-user"],
                    "bob-%d" % (WRITE_BURST - 1), "bob's source-user")


@scenario("f-writes-switched-off-per-domain")
def switched_off(world):
    """mailmove_user_writes_disabled = locked.test: lou's writes are refused,
    writable reads no."""
    target = world.target
    with clients.imap_session(target, "lou@locked.test") as conn:
        typ, text = set_metadata(conn, [("source-password", "lou-old")])
        check_equal(typ, "NO", "lou's write")
        check("switched off" in text, "refusal text: %r", text)
        check_equal(get_metadata(conn, ["writable"])["writable"], "no", "lou's writable")
    check_equal(mailmove.status(target, "lou@locked.test")["credentials"], "none",
                "lou's credentials")
