"""Domains (issue 11): `doveadm mailmove domain enable|disable|list` end to
end, on a target without a global mailmove_source.

corp.test's MX (dnsmasq in a private namespace, lib/dns_namespace.py) is
Tencent Exmail's, and the target's mailmove-providers.conf points the
Exmail preset at a local legacy Dovecot. `domain enable corp.test` (with
--source auto by default) detects that, the service keeps it, and a login
of a corp.test user moves that user's mail exactly; a user of a domain
that is not enabled is not moved; the domain table survives kill -9 of
the service; disabling stops new logins from queueing moves; bad input is
refused with usage exit codes.
"""

import json
import os
import signal
import socket
import time

from lib import admin, clients, compare, corpus, dns_namespace, mailmove, move_steps, procs
from lib.dovecot import LegacyInstance, TargetInstance, User, stop_all
from lib.scenario import check, check_equal, note, scenario

DOMAIN = "corp.test"
MOVED = "ann@corp.test"
OTHER = "bob@other.test"      # a domain never enabled
LATE = "cy@corp.test"         # logs in after the domain is disabled
LEGACY_PASSWORD = "legacy-Pw-11"
MESSAGES = 30
MX_HOST = "mxbiz1.qq.com"

EX_USAGE = 64
EX_DATAERR = 65
EX_CONFIG = 78

DNSMASQ_LINES = ["local=/test/",
                 "mx-host=%s,%s,10" % (DOMAIN, MX_HOST),
                 "mx-host=self.test,mail.self.test,10"]


class World:
    def __init__(self, workdir):
        self.workdir = workdir
        users = [User(name, LEGACY_PASSWORD) for name in (MOVED, OTHER, LATE)]
        self.legacy = LegacyInstance(workdir, "domains-legacy", users=users)
        target_users = [User(name, "target-pw", userdb_mailmove_source_password=LEGACY_PASSWORD)
                        for name in (MOVED, OTHER, LATE)]
        self.target = TargetInstance(workdir, None, ca_file=self.legacy.cert_path,
                                     name="domains-target", users=target_users)
        self.inspector = self.target.inspector(workdir)
        self.in_namespace = []  # the DNS namespace's results

    def start(self):
        messages = corpus.Corpus(seed=1111).inbox(MESSAGES, recipient=MOVED)
        for user in (MOVED, OTHER, LATE):
            corpus.write_maildir(self.legacy.maildir(user), messages)
        self.legacy.start()
        self.target.start()
        self.inspector.start()
        with open(os.path.join(self.target.root, "mailmove-providers.conf"), "w") as f:
            f.write("[exmail]\nimap = %s\nmx = %s mxbiz2.qq.com\n" % (
                self.legacy.url("imaps"), MX_HOST))
        doveadm = [admin.DOVEADM, "-c", self.target.config_path, "-f", "json", "mailmove"]
        self.in_namespace = dns_namespace.run(
            os.path.join(self.workdir, "dns-domains"), DNSMASQ_LINES,
            [doveadm + ["provider", "detect", DOMAIN],
             doveadm + ["domain", "enable", DOMAIN],
             doveadm + ["domain", "enable", "self.test"],
             [admin.DOVEADM, "-c", self.target.config_path, "mailmove", "provider",
              "detect", DOMAIN]])

    def stop(self):
        stop_all([self.target, self.inspector, self.legacy])

    def logs(self):
        return [("target log", self.target.log_tail(40)),
                ("legacy log", self.legacy.log_tail(15))]


def namespace_result(world, index, what):
    result = world.in_namespace[index]
    note("%s: exit %d, stdout %s, stderr %s", what, result["code"], result["stdout"].strip(),
         result["stderr"].strip()[-300:])
    return result


def domain_rows(world):
    result = admin.mailmove(world.target, "domain", "list")
    check_equal(result.code, 0, "domain list exit code (%s)" % result.stderr)
    return {row["domain"]: row for row in result.rows}


def wait_for_job(world, user, seconds):
    """The user's status row once it has a job, or the last row seen."""
    deadline = time.monotonic() + seconds
    row = mailmove.status(world.target, user)
    while row["state"] == "none" and time.monotonic() < deadline:
        time.sleep(0.2)
        row = mailmove.status(world.target, user)
    return row


@scenario("domain-enable-auto-detects-by-mx")
def enable_auto(world):
    detect = namespace_result(world, 0, "provider detect %s" % DOMAIN)
    check_equal(detect["code"], 0, "provider detect exit code")
    row = json.loads(detect["stdout"])[0]
    check_equal(row["provider"], "exmail", "detected provider")
    check_equal(row["via"], "MX " + MX_HOST, "via")
    table = namespace_result(world, 3, "provider detect (table)")
    note("provider detect %s:\n%s", DOMAIN, table["stdout"].rstrip())

    enable = namespace_result(world, 1, "domain enable %s" % DOMAIN)
    check_equal(enable["code"], 0, "domain enable exit code")
    enabled = json.loads(enable["stdout"])[0]
    check_equal(enabled["source"], world.legacy.url("imaps"), "the source enable chose")

    rows = domain_rows(world)
    check(DOMAIN in rows, "domain list lacks %s: %s", DOMAIN, rows)
    row = rows[DOMAIN]
    for key, value in (("state", "enabled"), ("provider", "exmail"),
                       ("source", world.legacy.url("imaps")), ("via", "MX " + MX_HOST),
                       ("requested", "auto"), ("users", 0), ("window", "not-opened")):
        check_equal(row[key], value, "domain list %s" % key)
    check_equal(set(row), {"domain", "state", "source", "provider", "via", "requested",
                           "updated", "window", "window_closes", "users", "queued",
                           "running", "done", "failed", "auth_failed", "paused", "expired",
                           "synced"}, "domain list fields")

    # Nothing detected for a self-hosted domain: refused, nothing stored.
    self_hosted = namespace_result(world, 2, "domain enable self.test")
    check_equal(self_hosted["code"], EX_CONFIG, "exit code for a self-hosted domain")
    check("no provider detected for self.test" in self_hosted["stderr"],
          "the refusal says why: %r", self_hosted["stderr"])
    check("self.test" not in rows, "self.test was stored: %s", rows)


@scenario("login-in-an-enabled-domain-moves-exactly")
def login_moves(world):
    row, seconds = move_steps.login_and_move(world.target, MOVED, 300)
    check_equal(row["source"], world.legacy.url("imaps"), "the job's source")
    check_equal(int(row["messages_done"]), MESSAGES, "messages done")
    legacy = compare.mailbox_records(world.legacy, MOVED)
    moved = compare.mailbox_records(world.inspector, MOVED)
    problems = compare.diff(legacy, moved)
    check(not problems, "the target differs from the legacy server:\n%s",
          compare.summarize(problems))
    note("%s: %d messages moved exactly in %.1f s", MOVED, len(moved), seconds)
    listed = domain_rows(world)[DOMAIN]
    check_equal((listed["users"], listed["done"]), (1, 1), "domain list counts")
    check_equal(listed["window"], "open", "window after the first job")
    text = admin.mailmove(world.target, "domain", "list", fmt=None)
    note("doveadm mailmove domain list:\n%s", text.stdout.rstrip())


@scenario("login-in-a-domain-not-enabled-queues-nothing")
def other_domain(world):
    mark = world.target.log_mark()
    clients.timed_imap_login(world.target, OTHER)
    row = wait_for_job(world, OTHER, 3)
    check_equal(row["state"], "none", "state of %s" % OTHER)
    check("other.test" not in domain_rows(world), "other.test listed")
    check("Login reported to the mailmove service" in world.target.log_since(mark),
          "the plugin did not report the login: the test proves nothing")


@scenario("domain-table-survives-kill-9")
def survives_kill(world):
    old_pid = world.target.mailmove_service_pid()
    os.kill(old_pid, signal.SIGKILL)
    new_pid = procs.wait_until(
        lambda: (world.target.mailmove_service_pid() or old_pid) != old_pid and
        world.target.mailmove_service_pid(), 10, what="a new mailmove service process")
    note("killed the service (pid %d); new pid %d", old_pid, new_pid)
    row = domain_rows(world).get(DOMAIN)
    check(row is not None, "%s gone after kill -9", DOMAIN)
    check_equal((row["state"], row["provider"], row["via"]),
                ("enabled", "exmail", "MX " + MX_HOST), "domain after kill -9")


@scenario("domain-disable-stops-new-queuing")
def disable(world):
    result = admin.mailmove(world.target, "domain", "disable", DOMAIN)
    check_equal(result.code, 0, "domain disable exit code (%s)" % result.stderr)
    clients.timed_imap_login(world.target, LATE)
    row = wait_for_job(world, LATE, 3)
    check_equal(row["state"], "none", "state of %s after disable" % LATE)
    listed = domain_rows(world)[DOMAIN]
    check_equal(listed["state"], "disabled", "domain list state")
    check_equal(listed["done"], 1, "the moved user is still counted")
    again = admin.mailmove(world.target, "domain", "disable", DOMAIN)
    check_equal(again.code, EX_DATAERR, "disabling it again (%s)" % again.stderr)
    check("is not enabled" in again.stderr, "why: %r", again.stderr)
    # Enabled again by hand: the next login queues.
    result = admin.mailmove(world.target, "domain", "enable", "--source",
                            world.legacy.url("imaps"), DOMAIN)
    check_equal(result.code, 0, "enable --source (%s)" % result.stderr)
    check_equal(result.rows[0]["provider"], "exmail", "the preset of that server")
    check_equal(result.rows[0]["via"], "--source", "via")
    clients.timed_imap_login(world.target, LATE)
    check(wait_for_job(world, LATE, 10)["state"] != "none", "%s not queued after enable", LATE)


@scenario("domain-enable-refuses-bad-input")
def bad_input(world):
    for args, code, text in (
            (["bad domain"], EX_USAGE, "invalid domain name"),
            (["--provider", "nosuch", "x.test"], EX_USAGE, "unknown provider 'nosuch'"),
            (["--source", "ftp://x.test", "x.test"], EX_USAGE, "invalid --source"),
            (["--source", "imaps://", "x.test"], EX_USAGE, "invalid --source")):
        result = admin.mailmove(world.target, "domain", "enable", *args)
        check_equal(result.code, code, "exit code of domain enable %s (%s)" % (
            " ".join(args), result.stderr))
        check(text in result.stderr, "domain enable %s: %r lacks %r", " ".join(args),
              result.stderr, text)
    check("x.test" not in domain_rows(world), "a refused domain was stored")


def worker_exchange(path, job_line):
    """One connection to the worker socket as the service makes it: the
    handshake, one JOB line; returns all the worker said until it closed."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(path)
        sock.sendall(b"VERSION\tmailmove-worker\t1\t0\n" + job_line.encode() + b"\n")
        reply = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return reply.decode(errors="replace")
            reply += chunk


@scenario("worker-refuses-a-malformed-legacy-source")
def worker_refuses_malformed_source(world):
    """The worker reads the service's legacy source value with the same
    check as doveadm (source/service-source.h): a malformed one fails the
    job permanently with what is wrong, and nothing starts."""
    path = os.path.join(world.target.base_dir, "mailmove-worker")
    for fields, why in ((["source=imaps://x.example"], "source= without source_from="),
                        (["source=gopher://x", "source_from=vault"], "invalid source= ("),
                        (["source=imaps://x.example", "source_from=vault", "provider=exmail"],
                         "provider= without a domain's source")):
        reply = worker_exchange(path, "\t".join(["JOB", OTHER] + fields))
        note("JOB %s: %r", fields, reply)
        check("FAILED\tkind=permanent" in reply and why in reply,
              "the worker's answer to %s: %r", fields, reply)
        check("STARTED" not in reply, "a move started for %s: %r", fields, reply)
    # A good value still runs (the legacy server is the Exmail preset's).
    reply = worker_exchange(path, "\t".join(
        ["JOB", OTHER, "source=" + world.legacy.url("imaps"), "source_from=vault"]))
    note("a good JOB: %r", reply[:300])
    check("STARTED\tsource=" + world.legacy.url("imaps") in reply, "no STARTED: %r", reply)
