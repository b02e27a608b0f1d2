"""The engine's IMAP client against real Dovecot, through tests/imap-probe.

What the unit tests check against scripted servers, checked once more
against a real one: STARTTLS on the plain port, AUTHENTICATE PLAIN with a
Dovecot master user ("user*master" and as authorization identity),
AUTHENTICATE LOGIN, LIST with the SPECIAL-USE roles configured in the
legacy server's namespace, subscriptions and nested folders, NAMESPACE
(also with a Courier-style "INBOX." prefix), content identities
(Message-ID, size, INTERNALDATE) and body fetches in growing batches.

The probe is built by `make check` (tests/Makefile.am), and by the setup
here if it is missing or stale; these scenarios need no installed product.
"""

import hashlib
import json
import os
import subprocess

from lib import corpus, procs
from lib.dovecot import MAIL_GID, MAIL_UID, LegacyInstance, User
from lib.scenario import check, check_equal, note, scenario

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = os.path.join(TESTS_DIR, "imap-probe")

USER = "alice@example.com"
# Quotes, a backslash, a space and 8-bit: LOGIN must quote or use a literal.
PASSWORD = 'P\u00e4ss "w\\rd" 7'
MASTER = "migrator"
MASTER_PASSWORD = "master-Secret-9"
INBOX_MESSAGES = 300

# (folder, messages); folders are created with their messages.
FOLDERS = [("Sent", 5), ("Drafts", 1), ("Junk", 2), ("Trash", 1),
           ("Archive/2019/Q1", 4), ("Sp&AOQ-m", 1)]
SUBSCRIBED = ["Sent", "Archive/2019/Q1"]
ROLES = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Junk": "\\Junk", "Trash": "\\Trash"}


class ProtocolLegacy(LegacyInstance):
    """The legacy server with special-use roles, a master user and a
    namespace separator of "/" (or a Courier-style prefix)."""

    def __init__(self, workdir, name, prefix="", separator="/"):
        super().__init__(workdir, name, users=[User(USER, PASSWORD)])
        self.prefix = prefix
        self.separator = separator
        self.master_path = os.path.join(self.root, "master-users")

    def _extra_config(self):
        roles = "".join("  mailbox %s {\n    special_use = %s\n  }\n" % item
                        for item in ROLES.items())
        return super()._extra_config() + """auth_master_user_separator = *
passdb {{
  driver = passwd-file
  master = yes
  args = scheme=PLAIN {master}
  result_success = continue
}}
namespace inbox {{
  inbox = yes
  prefix = {prefix}
  separator = {separator}
{roles}}}
""".format(master=self.master_path, prefix=self.prefix, separator=self.separator, roles=roles)

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        with open(self.master_path, "w") as f:
            f.write("%s:{PLAIN}%s\n" % (MASTER, MASTER_PASSWORD))
        os.chmod(self.master_path, 0o644)
        return super().start()


class World:
    """One legacy server with alice's folders, and a second one that shows
    the same kind of account under a Courier-style INBOX. prefix."""

    def __init__(self, workdir):
        self.legacy = ProtocolLegacy(workdir, "legacy")
        self.courier = ProtocolLegacy(workdir, "courier", prefix="INBOX.", separator=".")
        self.inbox = []

    def start(self):
        # Up to date already after make check; built here when a failing
        # unit test stopped make check before it got to the probe.
        procs.run(["make", "-C", TESTS_DIR, "imap-probe"], timeout=600)
        generator = corpus.Corpus(seed=21)
        self.inbox = generator.inbox(INBOX_MESSAGES, big=2, recipient=USER)
        messages = list(self.inbox)
        for folder, count in FOLDERS:
            for message in generator.inbox(count, recipient=USER):
                message.folder = folder
                messages.append(message)
        for instance in (self.legacy, self.courier):
            maildir = instance.maildir(USER)
            corpus.write_maildir(maildir, messages)
            # Only some folders are subscribed (write_maildir subscribes
            # all). Dovecot's format 2 separates levels with a TAB.
            subscriptions = os.path.join(maildir, "subscriptions")
            with open(subscriptions, "w") as f:
                f.write("V\t2\n\n" + "".join(name.replace("/", "\t") + "\n"
                                              for name in SUBSCRIBED))
            os.chown(subscriptions, MAIL_UID, MAIL_GID)
            instance.start()
        note("legacy imap %d / imaps %d, courier-style imap %d",
             self.legacy.ports["imap"], self.legacy.ports["imaps"], self.courier.ports["imap"])

    def stop(self):
        self.legacy.stop()
        self.courier.stop()

    def logs(self):
        return [("legacy log (tail)", self.legacy.log_tail(20)),
                ("courier-style log (tail)", self.courier.log_tail(10))]


class ProbeRun:
    """One run of imap-probe: its JSON lines by kind, and its trace."""

    def __init__(self, args, password):
        env = dict(os.environ, IMAP_PROBE_PASSWORD=password)
        proc = subprocess.run([PROBE, "--trace"] + args, capture_output=True, env=env,
                              timeout=120)
        self.status = proc.returncode
        self.trace = proc.stderr.decode("utf-8", "replace")
        self.lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        self.args = args

    def all(self, kind):
        return [line[kind] for line in self.lines if kind in line]

    def one(self, kind):
        found = self.all(kind)
        check(len(found) == 1, "probe %s: expected one %r line, got %r", self.args, kind,
              self.lines)
        return found[0]

    def failure(self):
        found = self.all("failure")
        return found[0] if found else None

    def check_ok(self):
        check(self.status == 0 and not self.failure(), "probe %s failed: %r\n%s", self.args,
              self.failure(), self.trace[-2000:])
        return self


def probe(instance, *args, password=PASSWORD, port="imap"):
    extra = ["--tls"] if port == "imaps" else []
    return ProbeRun(["--port", str(instance.ports[port]), "--ca-file", instance.cert_path]
                    + extra + list(args), password)


def check_trace_hides(run, *secrets):
    for secret in secrets:
        check(secret not in run.trace, "the protocol trace shows a secret: %r", secret)


@scenario("starttls-then-login-with-any-password")
def starttls_login(world):
    run = probe(world.legacy, "--starttls", "--auth", "login", "--user", USER).check_ok()
    before, after = run.all("capabilities")
    check("STARTTLS" not in before and "AUTH=PLAIN" in before,
          "capabilities after STARTTLS should be those over TLS: %r", before)
    check("LIST-EXTENDED" in after and "SPECIAL-USE" in after, "after login: %r", after)
    check("C: a1 STARTTLS" in run.trace, "no STARTTLS in the trace:\n%s", run.trace)
    check_trace_hides(run, PASSWORD, "w\\rd")

    # Over implicit TLS there is no STARTTLS to use: a clear permanent error.
    refused = probe(world.legacy, "--starttls", port="imaps")
    failure = refused.failure()
    check(failure and failure["kind"] == "permanent" and
          "does not offer STARTTLS" in failure["message"], "over TLS: %r", refused.lines)


@scenario("authenticate-plain-master-user")
def plain_master_user(world):
    for args in (["--user", "%s*%s" % (USER, MASTER)],
                 ["--user", MASTER, "--authzid", USER]):
        run = probe(world.legacy, "--starttls", "--auth", "plain", "--list", *args,
                    password=MASTER_PASSWORD).check_ok()
        check("AUTHENTICATE PLAIN <hidden>" in run.trace, "trace:\n%s", run.trace)
        check_trace_hides(run, MASTER_PASSWORD)
        # Logged in as alice: her folders are listed.
        names = [m["name"] for m in run.all("mailbox")]
        check("Archive/2019/Q1" in names, "%s: alice's folders not listed: %r", args, names)

    wrong = probe(world.legacy, "--starttls", "--auth", "plain", "--user", MASTER,
                  "--authzid", USER, password="wrong")
    check(wrong.failure() and wrong.failure()["kind"] == "auth", "wrong master password: %r",
          wrong.lines)
    nobody = probe(world.legacy, "--starttls", "--auth", "plain", "--user", MASTER,
                   "--authzid", "nobody@example.com", password=MASTER_PASSWORD)
    check(nobody.failure() and nobody.failure()["kind"] == "auth", "unknown user: %r",
          nobody.lines)


@scenario("authenticate-plain-and-login-as-the-user")
def plain_and_login(world):
    for mechanism in ("plain", "sasl-login"):
        run = probe(world.legacy, "--auth", mechanism, "--user", USER, port="imaps").check_ok()
        check_trace_hides(run, PASSWORD)
        after = run.all("capabilities")[-1]
        check("IDLE" in after, "%s: no post-login capabilities: %r", mechanism, after)
    wrong = probe(world.legacy, "--auth", "sasl-login", "--user", USER, password="nope",
                  port="imaps")
    check(wrong.failure() and wrong.failure()["kind"] == "auth", "wrong password: %r",
          wrong.lines)


@scenario("list-special-use-subscriptions-namespace")
def list_folders(world):
    run = probe(world.legacy, "--starttls", "--auth", "login", "--user", USER, "--list",
                "--namespaces").check_ok()
    check("LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE)" in run.trace,
          "not LIST-EXTENDED:\n%s", run.trace)
    mailboxes = {m["name"]: m for m in run.all("mailbox")}
    note("listed: %s", ", ".join("%s%s" % (name, m["attributes"]) for name, m in
                                   mailboxes.items()))
    expected = {"INBOX", "Archive", "Archive/2019"} | {folder for folder, _ in FOLDERS}
    check_equal(set(mailboxes), expected, "listed mailboxes")
    for name, mailbox in mailboxes.items():
        check_equal(mailbox["separator"], "/", "separator of %s" % name)
        check_equal(mailbox["subscribed"], name in SUBSCRIBED, "%s subscribed" % name)
    for name, role in ROLES.items():
        check(role in mailboxes[name]["attributes"], "%s lacks %s: %r", name, role,
              mailboxes[name]["attributes"])
    check(not any(a in ("\\Sent", "\\Junk") for a in mailboxes["INBOX"]["attributes"]),
          "INBOX has a role: %r", mailboxes["INBOX"])
    check_equal(run.one("namespaces"), [{"prefix": "", "separator": "/"}], "namespaces")


@scenario("courier-style-inbox-prefix")
def courier_prefix(world):
    run = probe(world.courier, "--auth", "login", "--user", USER, "--list", "--namespaces",
                port="imaps").check_ok()
    check_equal(run.one("namespaces"), [{"prefix": "INBOX.", "separator": "."}], "namespaces")
    mailboxes = {m["name"]: m for m in run.all("mailbox")}
    note("listed: %s", ", ".join(sorted(mailboxes)))
    check("INBOX" in mailboxes and "INBOX.Sent" in mailboxes and
          "INBOX.Archive.2019.Q1" in mailboxes, "names as sent, prefix kept: %r",
          sorted(mailboxes))
    check("\\Sent" in mailboxes["INBOX.Sent"]["attributes"], "INBOX.Sent: %r",
          mailboxes["INBOX.Sent"])


@scenario("message-ids-for-content-identity")
def message_ids(world):
    run = probe(world.legacy, "--auth", "login", "--user", USER, "--message-ids", "INBOX",
                port="imaps").check_ok()
    identities = run.all("identity")
    check_equal(len(identities), len(world.inbox), "identities")
    by_id = {}
    for message in world.inbox:
        header = message.raw.split(b"\n\n", 1)[0].decode("utf-8", "replace")
        message_id = next(line.split(":", 1)[1].strip() for line in header.split("\n")
                          if line.lower().startswith("message-id:"))
        by_id[message_id] = message
    for identity in identities:
        message = by_id.get(identity["message_id"])
        check(message is not None, "unknown Message-ID %r", identity)
        check_equal(identity["size"], len(message.imap_bytes()), "size of %s" %
                    identity["message_id"])


@scenario("bodies-in-growing-batches")
def growing_batches(world):
    run = probe(world.legacy, "--auth", "login", "--user", USER, "--fetch", "INBOX",
                "--batch-start", "10", "--batch-max", "200", port="imaps").check_ok()
    fetched = run.one("fetched")
    note("%d messages, %.1f MB in %.2f s (%.0f msgs/s, %.1f MB/s), batches %s",
         fetched["messages"], fetched["bytes"] / 1e6, fetched["seconds"],
         fetched["messages"] / max(fetched["seconds"], 1e-6),
         fetched["bytes"] / 1e6 / max(fetched["seconds"], 1e-6), fetched["batches"])
    # Each batch settled once, with the UIDs it asked for; against Dovecot
    # none is fetched again, so each settles what it asked for.
    check_equal(fetched["batch_errors"], [], "batch accounting")
    batches = fetched["batches"]
    check_equal(batches, fetched["sent"], "messages settled per batch")
    # Dovecot runs pipelined FETCHes at once and a batch is settled when
    # its last body comes: a later batch may be done before an earlier
    # one. Sizes are by batch number (the order the UID FETCHes went out).
    if fetched["done_order"] != sorted(fetched["done_order"]):
        note("batches done in the order %s", fetched["done_order"])
    # Batch n holds at most 10 * 2^n messages (fewer where the byte limit,
    # 1 MiB doubling, cuts it: the corpus has multi-megabyte messages).
    check_equal(batches[:2], [10, 20], "first batch sizes")
    for n, size in enumerate(batches):
        check(size <= min(10 * 2 ** n, 200), "batch %d holds %d messages: %r", n, size, batches)
    check(max(batches) >= 80, "batches did not grow: %r", batches)
    check_equal(sum(batches), len(world.inbox), "messages in batches")
    expected = sorted(hashlib.sha256(m.imap_bytes()).hexdigest() for m in world.inbox)
    actual = sorted(m["sha256"] for m in run.all("message"))
    check(actual == expected, "bodies differ from the corpus (%d of %d match)",
          len(set(actual) & set(expected)), len(expected))
