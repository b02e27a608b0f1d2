"""A hostile or intercepted legacy IMAP server against the installed product.

No packaged server misbehaves on purpose, so the legacy side is a small
scripted IMAP server in this file (127.0.0.1 only). It never offers
STARTTLS, as if a man in the middle had stripped it, and its INBOX holds
three messages, one of which it announces as RFC822.SIZE 100 and then
sends as a 200 MB literal.

- a: with the default mailmove_source_starttls the worker sends no
  password: the run fails naming the setting, the server sees no LOGIN.
- b: a user whose admin allowed a login in clear (= auto) is moved; the
  200 MB body is refused per message (the report names its UID), the
  others arrive, and the target's disk grows by far less than 200 MB.
- c: the legacy folder "Public/x", named like the target's public
  namespace, lands in the user's own namespace as "Public (2)/x".
"""

import os
import re
import socket
import threading
import time

from lib import admin
from lib.dovecot import (MAIL_GID, MAIL_UID, TargetInstance, User, require_installed_plugin,
                         stop_all)
from lib.scenario import check, check_equal, note, scenario

DOMAIN = "example.com"
LEGACY_PASSWORD = "legacy-Pw.7"
LIAR_UID = 2
LIAR_ANNOUNCED = 100
LIAR_SENT = 200 * 1024 * 1024
CAPABILITIES = "IMAP4rev1 ID AUTH=PLAIN"


def address(name):
    return "%s@%s" % (name, DOMAIN)


def message(uid):
    return ("From: a@legacy.example\r\nTo: b@example.com\r\nSubject: message %d\r\n"
            "Message-ID: <m%d@legacy.example>\r\nDate: Mon, 1 Jul 2019 10:00:00 +0000\r\n"
            "\r\nbody %d\r\n" % (uid, uid, uid)).encode()


# Folder -> UID -> message. A folder named like the target's public
# namespace ("Public/") must land in the user's own namespace.
FOLDERS = {
    "INBOX": {uid: message(uid) for uid in (1, 2, 3)},
    "Public/x": {1: message(11)},
}
PUBLIC_PREFIX = "Public/"


def uid_set(text, highest):
    """The UIDs of an IMAP sequence set such as 1:3,7 or 2:*."""
    uids = set()
    for part in text.split(","):
        low, _, high = part.partition(":")
        low = highest if low == "*" else int(low)
        high = low if not high else highest if high == "*" else int(high)
        uids.update(range(min(low, high), max(low, high) + 1))
    return uids


class ScriptedImapServer:
    """Plain IMAP on 127.0.0.1 with the INBOX above; records every
    command line it receives (passwords included: that is the point)."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.commands = []
        self.connections = 0
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def url(self):
        return "imap://127.0.0.1:%d" % self.port

    def received(self):
        with self.lock:
            return list(self.commands)

    def accept_loop(self):
        while not self.stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def stop(self):
        self.stopped = True
        self.listener.close()

    def session(self, conn):
        self.selected = "INBOX"
        try:
            conn.sendall(b"* OK [CAPABILITY " + CAPABILITIES.encode() + b"] scripted\r\n")
            reader = conn.makefile("rb")
            while True:
                line = reader.readline()
                if not line:
                    return
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                with self.lock:
                    self.commands.append(text)
                # A literal argument: "{n}" or "{n+}" at the end.
                literal = re.search(r"\{(\d+)(\+?)\}$", text)
                if literal:
                    if not literal.group(2):
                        conn.sendall(b"+ go on\r\n")
                    reader.read(int(literal.group(1)))
                    reader.readline()
                if not self.answer(conn, text):
                    return
        except OSError:
            pass
        finally:
            conn.close()

    def answer(self, conn, text):
        tag, _, rest = text.partition(" ")
        verb = rest.split(" ", 1)[0].upper()
        words = rest.upper()
        ok = ("%s OK done\r\n" % tag).encode()
        if verb == "CAPABILITY":
            conn.sendall(b"* CAPABILITY " + CAPABILITIES.encode() + b"\r\n" + ok)
        elif verb == "ID":
            conn.sendall(b"* ID NIL\r\n" + ok)
        elif verb in ("LOGIN", "AUTHENTICATE"):
            conn.sendall(("%s OK [CAPABILITY IMAP4rev1 ID] logged in\r\n" % tag).encode())
        elif verb in ("LIST", "LSUB"):
            listed = "".join('* %s () "/" "%s"\r\n' % (verb, name) for name in FOLDERS)
            conn.sendall(listed.encode() + ok)
        elif verb == "EXAMINE":
            self.selected = rest.split(" ", 1)[1].strip('"')
            messages = FOLDERS.get(self.selected, {})
            conn.sendall(("* %d EXISTS\r\n* OK [UIDVALIDITY 77] ok\r\n"
                          "* OK [UIDNEXT %d] ok\r\n%s OK [READ-ONLY] done\r\n" % (
                              len(messages), max(messages, default=0) + 1, tag)).encode())
        elif verb == "UID" and "BODY.PEEK[]" in words:
            messages = FOLDERS[self.selected]
            for uid in sorted(uid_set(rest.split(" ")[2], max(messages))):
                if uid in messages:
                    self.send_body(conn, uid, messages[uid])
            conn.sendall(ok)
        elif verb == "UID" and "FETCH" in words:
            for uid, body in FOLDERS[self.selected].items():
                size = len(body)
                if self.selected == "INBOX" and uid == LIAR_UID:
                    size = LIAR_ANNOUNCED
                extra = ""
                if "MESSAGE-ID" in words:
                    extra = " BODY[HEADER.FIELDS (MESSAGE-ID)] {2}\r\n\r\n"
                conn.sendall(('* %d FETCH (UID %d FLAGS () INTERNALDATE "01-Jul-2019 10:00:00 '
                              '+0000" RFC822.SIZE %d%s)\r\n' % (uid, uid, size, extra)).encode())
            conn.sendall(ok)
        elif verb == "LOGOUT":
            conn.sendall(b"* BYE bye\r\n" + ok)
            return False
        else:
            conn.sendall(("%s BAD unknown\r\n" % tag).encode())
        return True

    def send_body(self, conn, uid, body):
        if self.selected != "INBOX" or uid != LIAR_UID:
            conn.sendall(b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (uid, uid, len(body)) + body
                         + b")\r\n")
            return
        conn.sendall(b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (uid, uid, LIAR_SENT))
        chunk = b"Subject: huge\r\n" + b"x" * (1024 * 1024 - 17) + b"\r\n"
        for _ in range(LIAR_SENT // len(chunk)):
            conn.sendall(chunk)
        conn.sendall(b"y" * (LIAR_SENT % len(chunk)) + b")\r\n")


def tree_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


class PublicNamespaceTarget(TargetInstance):
    """The target with a public namespace "Public/" beside the users' own."""

    def _extra_config(self):
        self.public_dir = os.path.join(self.root, "public")
        return super()._extra_config() + """namespace inbox {{
  inbox = yes
  separator = /
  prefix =
}}
namespace public {{
  type = public
  separator = /
  prefix = {prefix}
  location = maildir:{public}:INDEX=~/public-index
  subscriptions = no
  list = children
}}
""".format(prefix=PUBLIC_PREFIX, public=self.public_dir)

    def start(self):
        os.makedirs(os.path.join(self.root, "public"), exist_ok=True)
        os.chown(os.path.join(self.root, "public"), MAIL_UID, MAIL_GID)
        return super().start()


class World:
    """The scripted legacy server and the target with the installed
    plugin: strict keeps the default TLS policy, optin allows a login in
    clear for its source (mailmove_source_starttls = auto)."""

    def __init__(self, workdir):
        self.legacy = ScriptedImapServer()
        users = [
            User(address("strict"), "target-strict-pw", userdb_mailmove_source_user="strict",
                 userdb_mailmove_source_password=LEGACY_PASSWORD),
            User(address("optin"), "target-optin-pw", userdb_mailmove_source_user="optin",
                 userdb_mailmove_source_password=LEGACY_PASSWORD,
                 userdb_mailmove_source_starttls="auto"),
        ]
        self.target = PublicNamespaceTarget(workdir, self.legacy.url(), name="target-security",
                                            users=users)

    def start(self):
        require_installed_plugin()
        self.target.start()
        note("scripted legacy IMAP on %s (no STARTTLS)", self.legacy.url())

    def stop(self):
        self.legacy.stop()
        stop_all([self.target])

    def logs(self):
        return [("target log (tail)", self.target.log_tail(60)),
                ("scripted server's commands (last 20)",
                 "\n".join(self.legacy.received()[-20:]))]


def run(world, name):
    started = time.monotonic()
    result = admin.mailmove(world.target, "run", "-u", address(name), timeout=300)
    note("run -u %s: exit %d after %.1f s, %r / %s", name, result.code,
         time.monotonic() - started, result.rows, result.stderr.strip()[-500:])
    return result


@scenario("a-stripped-starttls-sends-no-password")
def stripped_starttls(world):
    before, connections = len(world.legacy.received()), world.legacy.connections
    result = run(world, "strict")
    sent = world.legacy.received()[before:]
    note("connections: %d; commands the server received: %r",
         world.legacy.connections - connections, sent)
    # The greeting's CAPABILITY already lacks STARTTLS: the worker may
    # hang up without a command, but it must have connected.
    check(world.legacy.connections > connections, "the worker never connected to the server")
    logins = [line for line in sent if re.search(r"\b(LOGIN|AUTHENTICATE)\b", line, re.I)]
    check(not logins, "a password went out without TLS: %r", logins)
    check(LEGACY_PASSWORD not in "\n".join(sent), "the password reached the server in clear")
    check(result.code != 0, "the run exited 0 although it could not log in")
    said = result.stdout + result.stderr + world.target.log_since(0)
    check("mailmove_source_starttls" in said and "does not offer STARTTLS" in said,
          "the error does not name mailmove_source_starttls: %s", said[-1500:])


@scenario("b-opt-in-moves-and-a-200mb-liar-is-refused-per-message")
def size_liar(world):
    mail_root = world.target.mail_root
    disk_before = tree_bytes(mail_root)
    before = len(world.legacy.received())
    result = run(world, "optin")
    sent = world.legacy.received()[before:]
    check(any(re.search(r"\bLOGIN\b", line) for line in sent),
          "auto did not log in without TLS: %r", sent)
    grown = tree_bytes(mail_root) - disk_before
    note("target disk grew by %.1f kB", grown / 1024)
    check(grown < 20 * 1024 * 1024, "the target's disk grew by %d bytes" % grown)
    report = admin.mailmove(world.target, "report", "-u", address("optin"))
    failed = [row for row in report.rows if row.get("kind") == "message-failed"]
    note("report: %r", report.rows)
    check_equal([row.get("uid") for row in failed], [str(LIAR_UID)], "message-failed UIDs")
    check("RFC822.SIZE" in failed[0].get("detail", "") + str(failed[0]),
          "the report does not say why: %r", failed[0])
    status = admin.mailmove(world.target, "status", "-u", address("optin"))
    row = status.rows[0]
    note("status: %r", row)
    check_equal((int(row["messages_done"]), int(row["messages_failed"])), (3, 1),
                "(messages_done, messages_failed)")


@scenario("c-a-public-named-legacy-folder-stays-private")
def public_named_folder(world):
    user = address("optin")
    if not world.target.doveadm("mailbox", "list", "-u", user, check=False).stdout:
        run(world, "optin")
    listed = world.target.doveadm("mailbox", "list", "-u", user).stdout.decode().split("\n")
    note("optin's mailboxes: %r", listed)
    check("Public (2)/x" in listed, "Public/x was not moved to Public (2)/x: %r", listed)
    status = world.target.doveadm("-f", "flow", "mailbox", "status", "-u", user, "messages",
                                  "Public (2)/x").stdout.decode()
    check("messages=1" in status, "Public (2)/x holds: %s", status)
    public_files = [name for root, _, files in os.walk(world.target.public_dir)
                    for name in files if os.sep + "cur" in root or os.sep + "new" in root]
    check(not public_files, "mail reached the public namespace: %r", public_files)
