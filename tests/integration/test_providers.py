"""Provider presets and detection (issue 11) with a real DNS server.

`doveadm mailmove provider list` shows the installed presets and the
admin's mailmove-providers.conf beside dovecot.conf applied to them.
`doveadm mailmove provider detect` runs in a private network and mount
namespace whose /etc/resolv.conf names a dnsmasq on 127.0.0.1
(lib/dns_namespace.py) serving: an MX record for every MX pattern of
every preset, SRV-only domains (RFC 6186), a self-hosted MX, a domain
without records, a domain that does not exist and one whose lookups time
out.
"""

import json
import os
import shutil
import sys

from lib import admin, corpus, dns_namespace, move_steps, procs
from lib.coremail import CoremailProxy
from lib.dovecot import DOVECOT, LegacyInstance, TargetInstance, User, stop_all
from lib.scenario import check, check_equal, note, scenario

# NetEase users behind the Coremail-like server: one with the NetEase
# preset, one without (the control: Coremail refuses it).
NETEASE_USER = "li@163.test"
PLAIN_USER = "wang@163.test"
# mailmove_source = auto: redirect.test's MX is Exmail's, which the
# target's mailmove-providers.conf points at the legacy Dovecot.
AUTO_USER = "zhao@redirect.test"
LEGACY_PASSWORD = "legacy-pw-7"
COREMAIL_MESSAGES = 40

EX_TEMPFAIL = 75
EX_CONFIG = 78

PROVIDERS = ["exmail", "qq", "netease-qiye", "netease-163", "netease-126", "netease-yeah",
             "263", "aliyun", "35cn", "gmail", "microsoft365", "yahoo", "zoho"]

# A local legacy server an admin's override points Exmail at.
OVERRIDE = """# the test's site presets
[exmail]
title = Exmail, redirected to the test's legacy server
imap = imap://127.0.0.1:10143
mx = mxbiz1.qq.com mxbiz2.qq.com
id = after-login

[corp]
imap = imaps://imap.corp.test
mx = *.mx.corp.test

[yahoo]
disabled = yes
"""

# name: (dnsmasq lines, expected exit code, expected fields or error text)
FIXED_CASES = {
    # RFC 6186 only; _imaps's "." target means "not offered".
    "srvonly.test": (["host-record=srvonly.test,127.0.0.10",
                      "srv-host=_imaps._tcp.srvonly.test,imap.srvonly.test,9993,0,10",
                      "srv-host=_imap._tcp.srvonly.test,imap.srvonly.test,143,0,10"],
                     0, {"provider": "", "source": "imaps://imap.srvonly.test:9993",
                         "via": "SRV _imaps._tcp.srvonly.test"}),
    "poponly.test": (["host-record=poponly.test,127.0.0.11",
                      "srv-host=_imaps._tcp.poponly.test",
                      "srv-host=_pop3._tcp.poponly.test,pop.poponly.test,110,0,0"],
                     0, {"provider": "", "source": "pop3://pop.poponly.test:110",
                         "via": "SRV _pop3._tcp.poponly.test"}),
    # Self-hosted: nothing is guessed.
    "self.test": (["mx-host=self.test,mail.self.test,10"],
                  0, {"provider": "", "source": "",
                      "via": "MX mail.self.test matches no preset; no SRV records"}),
    "bare.test": (["host-record=bare.test,127.0.0.12"],
                  0, {"provider": "", "source": "", "via": "no MX and no SRV records",
                      "candidates": ""}),
    # Self-hosted, and its usual names answer: imap.selfhost.test greets on
    # 143 (the test's greeter), mail.selfhost.test and the MX host exist
    # but nothing listens; only what greets is listed.
    "selfhost.test": (["mx-host=selfhost.test,mx.selfhost.test,10",
                       "host-record=imap.selfhost.test,127.0.0.1",
                       "host-record=mail.selfhost.test,127.0.0.13",
                       "host-record=mx.selfhost.test,127.0.0.14"],
                      0, {"provider": "", "source": "",
                          "via": "MX mx.selfhost.test matches no preset; no SRV records",
                          "candidates": "imap://imap.selfhost.test:143"}),
    # The lowest preference wins over a backup MX of another provider.
    "mixed.test": (["mx-host=mixed.test,alt1.aspmx.l.google.com,30",
                    "mx-host=mixed.test,mx1.qiye.aliyun.com,5"],
                   0, {"provider": "aliyun", "source": "imaps://imap.qiye.aliyun.com:993",
                       "via": "MX mx1.qiye.aliyun.com"}),
    "gone.test": ([], EX_CONFIG, "does not exist"),
    "slow.timeout.test": ([], EX_TEMPFAIL, "no answer"),
}


def concrete_host(pattern):
    """An MX host name the pattern matches."""
    return pattern.replace("*", "x1").replace("?", "1")


class World:
    def __init__(self, workdir):
        self.workdir = workdir
        self.target = TargetInstance(workdir, "imaps://127.0.0.1:1")
        self.override_dir = os.path.join(workdir, "override")
        self.presets = []
        self.cases = {}      # domain -> (code, fields or error text)
        self.results = {}    # domain -> dns_namespace result
        users = [User(name, LEGACY_PASSWORD) for name in (NETEASE_USER, PLAIN_USER, AUTO_USER)]
        self.legacy = LegacyInstance(workdir, "netease-legacy", users=users)
        self.coremail = None
        self.coremail_target = None
        self.messages = []

    def start(self):
        self.target.start()
        self.start_coremail()
        listed = admin.mailmove(self.target, "provider", "list")
        check_equal(listed.code, 0, "provider list exit code (%s)" % listed.stderr)
        self.presets = listed.rows
        # The same configuration, with the admin's presets beside it.
        os.makedirs(self.override_dir, exist_ok=True)
        self.override_config = os.path.join(self.override_dir, "dovecot.conf")
        shutil.copy(self.target.config_path, self.override_config)
        with open(os.path.join(self.override_dir, "mailmove-providers.conf"), "w") as f:
            f.write(OVERRIDE)

        lines = ["local=/test/", "server=/timeout.test/127.0.0.1#%d" %
                 dns_namespace.BLACK_HOLE_PORT]
        number = 0
        for preset in self.presets:
            for pattern in preset["mx"].split():
                number += 1
                domain = "preset%d.test" % number
                host = concrete_host(pattern)
                lines.append("mx-host=%s,%s,10" % (domain, host))
                self.cases[domain] = (0, {"provider": preset["name"], "source": preset["imap"],
                                          "via": "MX " + host})
        for domain, (records, code, expected) in FIXED_CASES.items():
            lines += records
            self.cases[domain] = (code, expected)
        lines.append("mx-host=redirect.test,mxbiz2.qq.com,10")
        lines.append("mx-host=corp.test,mx1.mx.corp.test,10")

        doveadm = [admin.DOVEADM, "-c", self.target.config_path, "-f", "json",
                   "mailmove", "provider", "detect"]
        domains = list(self.cases)
        commands = [doveadm + [domain] for domain in domains]
        override = [admin.DOVEADM, "-c", self.override_config, "-f", "json",
                    "mailmove", "provider", "detect"]
        commands += [override + ["redirect.test"], override + ["corp.test"]]
        results = dns_namespace.run(
            os.path.join(self.workdir, "dns"), lines, commands,
            greeters=[("127.0.0.1", 143, "* OK [CAPABILITY IMAP4rev1] selfhost ready\r\n")])
        self.results = dict(zip(domains + ["override:redirect.test", "override:corp.test"],
                                results))
        note("%d detections in the DNS namespace", len(results))

    def start_coremail(self):
        self.messages = corpus.Corpus(seed=11).inbox(COREMAIL_MESSAGES, recipient=NETEASE_USER)
        for user in (NETEASE_USER, PLAIN_USER, AUTO_USER):
            corpus.write_maildir(self.legacy.maildir(user), self.messages)
        self.legacy.start()
        self.coremail = CoremailProxy(self.legacy.ports["imap"]).start()
        self.coremail_target = TargetInstance(
            self.workdir, self.coremail.url(), name="netease-target",
            plugin_settings={"mailmove_source_starttls": "no"},
            users=[User(NETEASE_USER, "target-pw", userdb_mailmove_provider="netease-163",
                        userdb_mailmove_source_password=LEGACY_PASSWORD),
                   User(PLAIN_USER, "target-pw",
                        userdb_mailmove_source_password=LEGACY_PASSWORD),
                   User(AUTO_USER, "target-pw", userdb_mailmove_source="auto",
                        userdb_mailmove_source_password=LEGACY_PASSWORD)])
        self.coremail_target.start()
        with open(os.path.join(self.coremail_target.root, "mailmove-providers.conf"), "w") as f:
            f.write("[exmail]\nimap = imap://127.0.0.1:%d\nmx = mxbiz1.qq.com mxbiz2.qq.com\n"
                    % self.legacy.ports["imap"])

    def stop(self):
        if self.coremail is not None:
            self.coremail.stop()
        stop_all([i for i in (self.target, self.coremail_target, self.legacy) if i])

    def logs(self):
        log = os.path.join(self.workdir, "dns", "dnsmasq.log")
        text = open(log, errors="replace").read()[-3000:] if os.path.exists(log) else ""
        return [("dnsmasq log (tail)", text), ("target log", self.target.log_tail(20))]


def detected(world, key):
    result = world.results[key]
    check(result["code"] == 0, "detect %s exited %d: %s", key, result["code"], result["stderr"])
    rows = json.loads(result["stdout"])
    check_equal(len(rows), 1, "rows of detect %s" % key)
    return rows[0]


@scenario("provider-list-shows-every-preset")
def provider_list(world):
    by_name = {row["name"]: row for row in world.presets}
    for name in PROVIDERS:
        check(name in by_name, "preset %s missing from provider list: %s", name, sorted(by_name))
    check_equal(by_name["exmail"]["imap"], "imaps://imap.exmail.qq.com:993", "exmail imap")
    check_equal(by_name["263"]["pop3"], "pop3s://pop.263.net:995", "263 pop3")
    check_equal(by_name["netease-qiye"]["id"], "both", "NetEase ID timing")
    check_equal(by_name["35cn"]["confirmed"], "no", "35.cn marked unconfirmed")
    check_equal(by_name["microsoft365"]["oauth2_only"], "yes", "Microsoft 365 OAuth2 only")
    check_equal(int(by_name["gmail"]["daily_download"]), 2500 * 1024 * 1024, "Gmail daily cap")
    check_equal(set(world.presets[0]), {"name", "title", "imap", "pop3", "mx", "id",
                                        "max_connections", "daily_download", "oauth2_only",
                                        "confirmed", "note", "origin"}, "provider list fields")
    # The admin's file: exmail replaced, corp added, yahoo gone.
    result = procs.run([admin.DOVEADM, "-c", world.override_config, "-f", "json",
                              "mailmove", "provider", "list"], check=False)
    check_equal(result.returncode, 0, "provider list with overrides")
    rows = {row["name"]: row for row in json.loads(result.stdout.decode())}
    check_equal(rows["exmail"]["imap"], "imap://127.0.0.1:10143", "overridden exmail")
    check(rows["exmail"]["origin"].endswith("override/mailmove-providers.conf:2"),
          "origin of the override: %r", rows["exmail"]["origin"])
    check("corp" in rows and "yahoo" not in rows, "corp added, yahoo removed: %s", sorted(rows))
    # A broken admin file is refused with its file and line.
    with open(os.path.join(world.override_dir, "mailmove-providers.conf"), "a") as f:
        f.write("[broken]\nimapp = imaps://x\n")
    try:
        result = procs.run([admin.DOVEADM, "-c", world.override_config, "mailmove",
                                  "provider", "list"], check=False)
    finally:
        with open(os.path.join(world.override_dir, "mailmove-providers.conf"), "w") as f:
            f.write(OVERRIDE)
    check_equal(result.returncode, EX_CONFIG, "exit code with a broken admin file")
    check("mailmove-providers.conf:%d: unknown key 'imapp'" % (OVERRIDE.count("\n") + 2)
          in result.stderr.decode(), "error names file and line: %r", result.stderr)


@scenario("provider-detect-by-mx-for-every-preset-pattern")
def detect_every_preset(world):
    checked = set()
    for domain, (code, expected) in world.cases.items():
        if not domain.startswith("preset"):
            continue
        row = detected(world, domain)
        check_equal(row["domain"], domain, "domain field")
        for key, value in expected.items():
            check_equal(row[key], value, "%s of %s" % (key, domain))
        checked.add(row["provider"])
    check_equal(checked, set(PROVIDERS), "providers detected by MX")
    note("%d MX patterns of %d presets detected", sum(1 for d in world.cases
                                                     if d.startswith("preset")), len(checked))


@scenario("provider-detect-srv-self-hosted-no-records-nxdomain-timeout")
def detect_other_cases(world):
    for domain, (_, code, expected) in FIXED_CASES.items():
        result = world.results[domain]
        if code == 0:
            row = detected(world, domain)
            for key, value in expected.items():
                check_equal(row[key], value, "%s of %s" % (key, domain))
        else:
            check_equal(result["code"], code, "exit code of detect %s (%s)" % (
                domain, result["stderr"]))
            check(expected in result["stderr"], "detect %s: %r lacks %r", domain,
                  result["stderr"], expected)
            check(json.loads(result["stdout"] or "[]") == [],
                  "detect %s printed a row: %r", domain, result["stdout"])
    slow = world.results["slow.timeout.test"]["seconds"]
    check(slow >= 0.9, "the timed-out lookup took %.2f s: it did not wait", slow)
    note("timed-out lookup gave up after %.1f s", slow)


@scenario("provider-detect-follows-the-admins-presets")
def detect_with_override(world):
    row = detected(world, "override:redirect.test")
    check_equal(row["provider"], "exmail", "provider")
    check_equal(row["source"], "imap://127.0.0.1:10143", "redirected source")
    check_equal(row["via"], "MX mxbiz2.qq.com", "via")
    row = detected(world, "override:corp.test")
    check_equal(row["provider"], "corp", "the admin's own provider")
    check_equal(row["source"], "imaps://imap.corp.test:993", "its source")


@scenario("coremail-refuses-examine-without-id-after-login")
def coremail_control(world):
    before = world.coremail.refusals
    row = move_steps.run_foreground(world.coremail_target, PLAIN_USER, 120)
    note("without the NetEase preset: result %s, saved %d, error %r", row["result"],
         row["saved"], row["error"])
    check_equal(row["saved"], 0, "messages saved without ID after login")
    check(world.coremail.refusals > before, "the Coremail-like server refused nothing")
    check("Unsafe Login" in row["error"] + row["stderr"] + json.dumps(
        move_steps.report(world.coremail_target, PLAIN_USER)),
        "the refusal is not shown: %r", row)


@scenario("coremail-move-with-the-netease-preset")
def coremail_move(world):
    before = len(world.coremail.sessions)
    row = move_steps.run_move(world.coremail_target, NETEASE_USER, 300,
                              want_saved=COREMAIL_MESSAGES)
    check_equal(row["messages_done"], COREMAIL_MESSAGES, "messages done")
    sessions = [s for s in world.coremail.sessions[before:] if "LOGIN" in s]
    check(sessions, "no session logged in at the Coremail-like server")
    for commands in sessions:
        login = commands.index("LOGIN")
        check("ID" in commands[login:], "no ID after LOGIN: %s", commands)
        examine = [i for i, name in enumerate(commands) if name in ("EXAMINE", "SELECT")]
        if examine:
            check(commands.index("ID", login) < examine[0], "ID came after EXAMINE: %s",
                  commands)
    note("Coremail-like sessions: %s", [" ".join(s[:6]) for s in sessions])


@scenario("source-auto-detects-the-provider-and-moves")
def source_auto(world):
    """A user with mailmove_source = auto: doveadm mailmove run, in the DNS
    namespace, detects redirect.test's provider (Exmail, by MX) and moves
    from the server the admin's presets give for it. The legacy Dovecot
    runs inside the namespace too (its loopback is another one)."""
    legacy = world.legacy
    legacy.stop()
    wait_for_port = [sys.executable, "-c", (
        "import socket, time\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        socket.create_connection(('127.0.0.1', %d)).close()\n"
        "        break\n"
        "    except OSError:\n"
        "        time.sleep(0.05)\n") % legacy.ports["imap"]]
    # The daemonized master must not hold the namespace runner's pipes.
    commands = [["sh", "-c", '"$0" -c "$1" >/dev/null 2>&1', DOVECOT, legacy.config_path],
                wait_for_port,
                [admin.DOVEADM, "-c", world.coremail_target.config_path, "-f", "json",
                 "mailmove", "run", "-u", AUTO_USER],
                [admin.DOVEADM, "-c", legacy.config_path, "stop"]]
    try:
        results = dns_namespace.run(os.path.join(world.workdir, "dns-auto"),
                                    ["local=/test/", "mx-host=redirect.test,mxbiz1.qq.com,10"],
                                    commands)
    finally:
        legacy.start()  # back in the host's network for the other scenarios
    run = results[2]
    check(run["code"] == 0, "doveadm mailmove run -u %s exited %d: %s", AUTO_USER, run["code"],
          run["stderr"][-1500:])
    row = json.loads(run["stdout"])[0]
    check_equal(row["result"], "done", "result of the auto run (%s)" % row.get("error"))
    check_equal(int(row["saved"]), COREMAIL_MESSAGES, "messages saved")
    note("auto: %s saved %s from %s", AUTO_USER, row["saved"], row.get("source"))
