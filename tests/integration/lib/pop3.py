"""POP3 on both sides of a POP3 move.

- Sessions and listings with poplib: UIDL and LIST listings, whole messages
  (poplib removes the dot-stuffing), the legacy and target UIDL listings
  side by side for the scenario output.
- Pop3Inspector: a plain Dovecot with IMAP and POP3 serving another
  instance's mail, so reading the target over POP3 is not a login the
  mailmove plugin would act on.
- Pop3LegacyInstance: the legacy Dovecot with APOP offered and UIDLs that
  look like a real provider's (never like the target's own defaults).
- MailutilsPop3d: GNU Mailutils' pop3d (Debian's mailutils-pop3d) as a
  second legacy POP3 server implementation, run on 127.0.0.1 from a
  private configuration with virtual-domain users and Maildir mailboxes.
"""

import contextlib
import email
import email.policy
import email.utils
import os
import poplib
import signal
import subprocess

from . import clients, corpus, procs
from .dovecot import MAIL_GID, MAIL_UID, DovecotInstance, LegacyInstance

POP3D = "/usr/sbin/pop3d"


@contextlib.contextmanager
def session(port, username, password, use_ssl=False, ca_file=None, host="127.0.0.1"):
    """A POP3 session logged in with USER/PASS; QUIT on exit."""
    if use_ssl:
        conn = poplib.POP3_SSL(host, port, context=clients.tls_context(ca_file), timeout=60)
    else:
        conn = poplib.POP3(host, port, timeout=60)
    try:
        conn.user(username)
        conn.pass_(password)
        yield conn
    finally:
        try:
            conn.quit()
        except (poplib.error_proto, OSError):
            pass


def uidl_listing(conn):
    """[(message number, UIDL)] in message-number order."""
    _, lines, _ = conn.uidl()
    listing = []
    for line in lines:
        number, uidl = line.decode("latin-1").split(None, 1)
        listing.append((int(number), uidl.strip()))
    return listing


def list_sizes(conn):
    """[(message number, size)] as LIST reports them."""
    _, lines, _ = conn.list()
    return [tuple(int(word) for word in line.split()[:2]) for line in lines]


def retrieve_all(conn):
    """[(message number, UIDL, message bytes)]. poplib hands out the lines
    without their CRLF and with the stuffing removed; every POP3 message
    ends with a line end."""
    messages = []
    for number, uidl in uidl_listing(conn):
        _, lines, _ = conn.retr(number)
        messages.append((number, uidl, b"".join(line + b"\r\n" for line in lines)))
    return messages


def side_by_side(legacy, target, limit=None):
    """Lines showing two UIDL listings next to each other, a mark where they
    differ; limit keeps the first and last limit/2 lines."""
    width = max([len(uidl) for _, uidl in legacy + target] + [12])
    rows = max(len(legacy), len(target))
    lines = ["%5s  %-*s  %-*s" % ("msg", width, "legacy UIDL", width, "target UIDL")]
    shown = range(rows)
    if limit is not None and rows > limit:
        shown = list(range(limit // 2)) + [None] + list(range(rows - limit // 2, rows))
    for i in shown:
        if i is None:
            lines.append("  ...  (%d more, all compared)" % (rows - 2 * (limit // 2)))
            continue
        old = legacy[i] if i < len(legacy) else (None, "-")
        new = target[i] if i < len(target) else (None, "-")
        mark = "" if old == new else "   <-- differs"
        lines.append("%5s  %-*s  %-*s%s" % (old[0] or new[0], width, old[1], width, new[1], mark))
    return lines


def expected_received_date(message_bytes):
    """The date the target should give a message moved over POP3: that of
    its topmost Received: field, else of Date:; None when neither has one."""
    header = message_bytes.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    msg = email.message_from_bytes(header, policy=email.policy.compat32)
    candidates = []
    received = msg.get_all("Received") or []
    if received:
        candidates.append(str(received[0]).rsplit(";", 1)[-1])
    if msg.get("Date"):
        candidates.append(str(msg.get("Date")))
    for text in candidates:
        try:
            return int(email.utils.parsedate_to_datetime(" ".join(text.split())).timestamp())
        except (TypeError, ValueError):
            continue
    return None


class Pop3Inspector(DovecotInstance):
    """A plain Dovecot (no mailmove plugin) with IMAP and POP3, serving the
    mail of another instance. Its POP3 settings are Dovecot's defaults:
    what README.md says is enough for the moved UIDLs to be served."""

    PROTOCOLS = ("imap", "pop3")
    LISTENERS = ("imap", "pop3")


class Pop3LegacyInstance(LegacyInstance):
    """The legacy Dovecot, with APOP offered next to PLAIN and LOGIN (its
    passdb has plaintext passwords, which APOP needs), UIDLs made from
    message GUIDs, as opaque as a hosted provider's, and master users
    (AUTH PLAIN with the mailbox owner as authorization identity)."""

    def __init__(self, workdir, name="legacy", users=(), master_users=None):
        super().__init__(workdir, name, users)
        self.master_users = dict(master_users or {})
        self.master_passwd_path = os.path.join(self.root, "master-users")

    def _extra_config(self):
        return super()._extra_config() + """auth_mechanisms = plain login apop
pop3_uidl_format = %g
passdb {
  driver = passwd-file
  master = yes
  args = scheme=PLAIN """ + self.master_passwd_path + """
  # the mailbox owner must exist in the normal passdb too
  result_success = continue
}
"""

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        with open(self.master_passwd_path, "w") as f:
            f.writelines("%s:{PLAIN}%s\n" % item for item in self.master_users.items())
        os.chmod(self.master_passwd_path, 0o644)
        return super().start()


class MailutilsPop3d:
    """GNU Mailutils' pop3d as a legacy server on 127.0.0.1.

    Users are virtual-domain users (a passwd file per domain, passwords as
    SHA-512 crypt); each one's mailbox is the Maildir home/INBOX. It runs in
    the foreground as a child of the test, so stop() is a plain kill.
    Mailutils writes an X-UIDL: field into every message the first time it
    reads it (that is this server's way of keeping UIDLs): read the
    reference copy of the mail through it before moving.
    """

    def __init__(self, workdir, name="mailutils"):
        self.root = os.path.join(workdir, name)
        self.config_path = os.path.join(self.root, "pop3d.conf")
        self.log_path = os.path.join(self.root, "pop3d.log")
        self.domains_dir = os.path.join(self.root, "domains")
        self.mail_root = os.path.join(self.root, "mail")
        self.port = procs.free_port()
        self.process = None
        self.users = {}

    @staticmethod
    def available():
        return os.access(POP3D, os.X_OK)

    def add_user(self, address, password):
        self.users[address] = password

    def home(self, address):
        return os.path.join(self.mail_root, address)

    def write_mailbox(self, address, messages):
        """Write messages (corpus.Message) as the user's INBOX Maildir."""
        maildir = os.path.join(self.home(address), "INBOX")
        os.makedirs(maildir, exist_ok=True)
        os.chown(self.home(address), MAIL_UID, MAIL_GID)
        return corpus.write_maildir(maildir, messages)

    def _config_text(self):
        locks = os.path.join(self.root, "locks")
        return """# Written by tests/integration/lib/pop3.py for a test run.
mode daemon;
foreground yes;
pidfile {root}/pop3d.pid;
server 127.0.0.1:{port} {{
  transcript no;
}};
auth {{
  authorization virtdomain;
  authentication generic;
}};
virtdomain {{
  passwd-dir {domains};
}};
mandatory-locking {{
  enable yes;
  lock-directory {locks};
}};
logging {{
  syslog no;
}};
""".format(root=self.root, port=self.port, domains=self.domains_dir, locks=locks)

    def _write_passwd(self):
        by_domain = {}
        for address, password in self.users.items():
            local, domain = address.split("@", 1)
            hashed = procs.run(["openssl", "passwd", "-6", "-stdin"],
                               input=password.encode()).stdout.decode().strip()
            by_domain.setdefault(domain, []).append("%s:%s:%d:%d::%s:/bin/false\n" % (
                local, hashed, MAIL_UID, MAIL_GID, self.home(address)))
        for domain, lines in by_domain.items():
            with open(os.path.join(self.domains_dir, domain), "w") as f:
                f.writelines(lines)

    def start(self):
        if not self.available():
            raise RuntimeError("%s is missing: install mailutils-pop3d (tests/setup.sh)" % POP3D)
        for path in (self.root, self.domains_dir, self.mail_root,
                     os.path.join(self.root, "locks")):
            os.makedirs(path, exist_ok=True)
        self._write_passwd()
        with open(self.config_path, "w") as f:
            f.write(self._config_text())
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([POP3D, "--config-file=" + self.config_path],
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        procs.wait_until(lambda: procs.port_accepts(self.port) or self.process.poll() is not None,
                         10, what="mailutils pop3d on port %d" % self.port)
        if self.process.poll() is not None:
            raise RuntimeError("pop3d exited %d: %s" % (self.process.returncode, self.log_tail()))
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            # Sessions run in children of the daemon: they go too.
            for pid in procs.descendants(self.process.pid):
                procs.kill_quietly(pid, signal.SIGKILL)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def url(self):
        return "pop3://127.0.0.1:%d" % self.port

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "\n".join(f.read().splitlines()[-lines:])
        except FileNotFoundError:
            return ""
