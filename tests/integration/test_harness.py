"""Self-tests of the harness itself, with real Dovecot but without the product.

The product scenarios are only as good as their tools: the legacy server
must serve exactly the corpus, the comparer must notice every kind of
difference, and instances must go away even when something hangs. These run
before the product is built or installed.
"""

import imaplib
import os
import signal
import socket
import time

from lib import clients, compare, corpus, procs
from lib.dovecot import DovecotInstance, LegacyInstance, User, stop_all
from lib.scenario import check, check_equal, note, scenario

USER = "alice@example.com"
PASSWORD = "legacy-alice-secret"


class World:
    """A legacy server with the main corpus for alice, and a second plain
    Dovecot ("mirror") whose copy of it has known defects."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.legacy = LegacyInstance(workdir, users=[User(USER, PASSWORD)])
        self.mirror = DovecotInstance(workdir, "mirror", users=[User(USER, PASSWORD)])
        self.messages = []
        self.defects = {}

    def start(self):
        self.messages = corpus.Corpus(seed=1).inbox(500, big=4, recipient=USER)
        corpus.write_maildir(self.legacy.maildir(USER), self.messages)
        self.legacy.start()
        self.mirror.start()
        corpus.write_maildir(self.mirror.maildir(USER), self._defective_copy())

    def _defective_copy(self):
        """The corpus with one defect of each kind, remembered in self.defects."""
        copy = list(self.messages)
        self.defects = {
            "removed": copy[10],
            "changed": copy[20],
            "duplicated": copy[30],
            "flags": copy[40],
            "date": copy[50],
        }
        changed = self.defects["changed"]
        copy[20] = corpus.Message(changed.raw.replace(b"Subject: ", b"Subject: X", 1),
                                  changed.flags, changed.internaldate)
        flagged = self.defects["flags"]
        copy[40] = corpus.Message(flagged.raw, flagged.flags ^ {"\\Flagged"}, flagged.internaldate)
        dated = self.defects["date"]
        copy[50] = corpus.Message(dated.raw, dated.flags, dated.internaldate + 3600)
        copy.append(self.defects["duplicated"])
        del copy[10]
        return copy

    def stop(self):
        stop_all([self.legacy, self.mirror])

    def logs(self):
        return [("legacy log (tail)", self.legacy.log_tail()),
                ("mirror log (tail)", self.mirror.log_tail())]


@scenario("legacy-logins-imap-imaps-pop3")
def legacy_logins(world):
    """The legacy server accepts the logins the product will make: IMAP,
    IMAPS verified against its own certificate by IP and by name, POP3;
    and refuses a wrong password at once (auth_failure_delay = 0)."""
    legacy = world.legacy
    with clients.imap_session(legacy, USER) as conn:
        check_equal(int(conn.select("INBOX", readonly=True)[1][0]), len(world.messages),
                    "IMAP INBOX size")
    with clients.imap_session(legacy, USER, use_ssl=True, ca_file=legacy.cert_path) as conn:
        check_equal(conn.state, "AUTH", "IMAPS state after LOGIN")
    context = clients.tls_context(legacy.cert_path)
    for host in ("127.0.0.1", "localhost"):
        with socket.create_connection(("127.0.0.1", legacy.ports["imaps"])) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                check(tls.getpeercert() is not None, "no peer certificate for %s", host)
    check_equal(clients.pop3_login(legacy, USER), len(world.messages), "POP3 STAT count")
    started = time.monotonic()
    try:
        with clients.imap_session(legacy, USER, password="wrong"):
            check(False, "a wrong password was accepted")
    except imaplib.IMAP4.error as error:
        check("AUTHENTICATIONFAILED" in str(error), "unexpected error for a wrong password: %s",
              error)
    elapsed = time.monotonic() - started
    note("failed login answered in %.3f s", elapsed)
    check(elapsed < 1.0, "failed login took %.2f s: the penalty delay is not off", elapsed)


@scenario("corpus-served-exactly")
def corpus_served(world):
    """The legacy server shows every corpus message with its bytes, flags,
    INTERNALDATE and size, and the corpus is as varied as promised."""
    expected = [m.record() for m in world.messages]
    served = compare.mailbox_records(world.legacy, USER)
    problems = compare.diff(expected, served, names=("corpus", "legacy"))
    check(not problems, "legacy does not serve the corpus:\n%s", compare.summarize(problems))
    sizes = sorted(r.size for r in served)
    big = [s for s in sizes if s >= 2 * 1024 * 1024]
    flag_sets = {r.flags for r in served}
    dates = [r.internaldate for r in served]
    years = {compare.format_instant(d)[:4] for d in dates}
    raw = b"".join(m.raw[:4096] for m in world.messages)
    note("%d messages, %.1f MB, smallest %d B, largest %.1f MB, %d of 2-6 MB",
         len(served), sum(sizes) / 1e6, sizes[0], sizes[-1] / 1e6, len(big))
    note("%d flag combinations, INTERNALDATEs over %d years", len(flag_sets), len(years))
    check(len(served) >= 500, "only %d messages", len(served))
    check(len(big) >= 3 and all(s <= 6.5 * 1024 * 1024 for s in big), "big messages: %r", big)
    check(sizes[0] < 1024, "no tiny message (smallest %d)", sizes[0])
    check(len(set(dates)) == len(dates), "INTERNALDATEs are not distinct")
    check(len(years) >= 10, "INTERNALDATEs span only %d years", len(years))
    check(len(flag_sets) >= 8 and frozenset() in flag_sets, "flag combinations: %r", flag_sets)
    for needle in (b"=?GBK?B?", b"=?gbk?B?", b"=?Big5?B?", b"=?big5?B?", b"=?UTF-8?Q?",
                   b"=?utf-8?B?", b"multipart/alternative", b"multipart/mixed",
                   "Subject: Привет".encode(), b"Content-Transfer-Encoding: base64"):
        check(needle in raw, "corpus lacks %r", needle)


@scenario("compare-finds-every-difference")
def compare_self_test(world):
    """compare.diff() finds nothing between a server and itself, and finds
    exactly the planted defects (removed, changed, duplicated, flags,
    INTERNALDATE) between the legacy server and the defective mirror."""
    legacy_records = compare.mailbox_records(world.legacy, USER)
    same = compare.diff(legacy_records, compare.mailbox_records(world.legacy, USER))
    check(not same, "legacy vs itself:\n%s", compare.summarize(same))
    with clients.imap_session(world.legacy, USER) as conn:
        conn.select("INBOX", readonly=True)
        small_chunks = compare.fetch_records(conn, chunk_bytes=1_000_000)
    check_equal(small_chunks, legacy_records, "records read in 1 MB chunks")

    problems = compare.diff(legacy_records, compare.mailbox_records(world.mirror, USER),
                            names=("legacy", "mirror"))
    print(compare.summarize(problems))
    kinds = sorted(p.kind for p in problems)
    # The changed message counts twice: its original is missing, the
    # changed bytes are extra.
    check_equal(kinds, ["duplicate", "extra", "flags", "internaldate", "missing", "missing"],
                "kinds of differences found")

    def mentions(kind, message):
        label = message.record().label
        return any(p.kind == kind and label in p.text for p in problems)
    defects = world.defects
    check(mentions("missing", defects["removed"]), "removed message not named")
    check(mentions("missing", defects["changed"]), "changed message's original not named")
    check(any(p.kind == "extra" and "Subject 'X" in p.text for p in problems),
          "changed message's new bytes not named")
    check(mentions("duplicate", defects["duplicated"]), "duplicated message not named")
    check(mentions("flags", defects["flags"]) and "\\Flagged" in
          next(p.text for p in problems if p.kind == "flags"), "flag change not named")
    check(mentions("internaldate", defects["date"]), "date change not named")


@scenario("stop-cleans-up-a-hung-instance")
def stop_hung_instance(world):
    """stop() leaves no process and no listener behind even when the master
    is SIGSTOPped and ignores `doveadm stop`."""
    instance = LegacyInstance(world.workdir, name="hung", users=[User(USER, PASSWORD)])
    try:
        instance.start()
        # The master forks its first children (log, config, anvil, ...)
        # right after it starts listening.
        procs.wait_until(lambda: len(procs.children(instance.master_pid)) >= 3, 5,
                         what="the master's first children")
        tree = [instance.master_pid] + procs.descendants(instance.master_pid)
        note("master %d with %d children", instance.master_pid, len(tree) - 1)
        os.kill(instance.master_pid, signal.SIGSTOP)
        started = time.monotonic()
        instance.stop(timeout=1)
        note("stopped in %.1f s", time.monotonic() - started)
    finally:
        instance.stop()
    alive = [pid for pid in tree if procs.pid_alive(pid)]
    check(not alive, "processes left behind: %r", alive)
    open_ports = [p for p in instance.ports.values() if procs.port_accepts(p)]
    check(not open_ports, "ports still accepting: %r", open_ports)
