"""Mail clients the scenarios use: real IMAP, POP3 and LMTP sessions.

The plugin under test acts on what a real client login looks like inside
Dovecot, so the scenarios log in over the network exactly as a mail client
would instead of calling doveadm.
"""

import contextlib
import imaplib
import poplib
import smtplib
import ssl
import time


def tls_context(ca_file):
    """A client TLS context that trusts only ca_file and checks the name."""
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = True
    return context


@contextlib.contextmanager
def imap_connection(instance, use_ssl=False, ca_file=None):
    """A connected, not yet logged-in IMAP client; logs out on exit."""
    if use_ssl:
        conn = imaplib.IMAP4_SSL("127.0.0.1", instance.ports["imaps"],
                                 ssl_context=tls_context(ca_file), timeout=30)
    else:
        conn = imaplib.IMAP4("127.0.0.1", instance.ports["imap"], timeout=30)
    try:
        yield conn
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


@contextlib.contextmanager
def imap_session(instance, username, password=None, use_ssl=False, ca_file=None):
    """An IMAP connection logged in as username; logs out on exit."""
    password = password if password is not None else instance.users[username].password
    with imap_connection(instance, use_ssl, ca_file) as conn:
        conn.login(username, password)
        yield conn


def timed_imap_login(instance, username):
    """Log in over IMAP, SELECT INBOX, log out; return seconds for LOGIN+SELECT.

    The time runs from the connection's greeting to the SELECT's OK: the
    LOGIN reply comes from the imap process after the mail user (and so the
    plugin's login hook) was created, and SELECT proves the session works.
    """
    with imap_connection(instance) as conn:
        started = time.monotonic()
        conn.login(username, instance.users[username].password)
        typ, _ = conn.select("INBOX", readonly=True)
        elapsed = time.monotonic() - started
    if typ != "OK":
        raise AssertionError("SELECT INBOX failed for %s" % username)
    return elapsed


def imap_status(instance, username, mailbox="INBOX"):
    """{'MESSAGES': n, 'UIDNEXT': n, 'UIDVALIDITY': n} over a real session."""
    with imap_session(instance, username) as conn:
        typ, data = conn.status(_quote(mailbox), "(MESSAGES UIDNEXT UIDVALIDITY)")
        if typ != "OK":
            raise AssertionError("STATUS %s failed: %r" % (mailbox, data))
    items = data[0].decode().rsplit("(", 1)[1].rstrip(")").split()
    return {items[i]: int(items[i + 1]) for i in range(0, len(items), 2)}


def pop3_login(instance, username):
    """A real POP3 login: USER, PASS, STAT, QUIT; return STAT's message count."""
    conn = poplib.POP3("127.0.0.1", instance.ports["pop3"], timeout=30)
    try:
        conn.user(username)
        conn.pass_(instance.users[username].password)
        count, _ = conn.stat()
        return count
    finally:
        conn.quit()


def lmtp_deliver(instance, recipient, message_bytes, sender="sender@example.net"):
    """Deliver one message over LMTP (TCP) to the instance's lmtp listener."""
    with smtplib.LMTP("127.0.0.1", instance.ports["lmtp"], timeout=30) as conn:
        refused = conn.sendmail(sender, [recipient], message_bytes)
    if refused:
        raise AssertionError("LMTP refused %r" % refused)


def _quote(mailbox):
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
