"""OAuth2 logins at the legacy server (issue 11 item 5): providers such as
Microsoft 365 refuse passwords; the move logs in with SASL OAUTHBEARER or
XOAUTH2 and an access token from the admin's setting.

The legacy Dovecot here checks tokens with its oauth2 passdb, which asks a
small introspection endpoint the test runs (RFC 7662, POST) whether a token
is active and whose it is. Target users have no legacy password at all:
- bearer@: mailmove_source_oauth2_token_command, a script that prints the
  user's token (it gets MAILMOVE_USER and MAILMOVE_LOGIN); the server
  offers OAUTHBEARER, which the move prefers;
- filetoken@: mailmove_source_oauth2_token_file, and mailmove_source_auth
  = xoauth2;
- revoked@: a command printing a token the endpoint calls inactive: the
  move ends as an auth failure, never done, with the server's refusal.
- popbearer@, popxoauth2@: POP3 sources (pop3s://), RFC 5034 AUTH with
  the same token settings: Dovecot's pop3-login lists OAUTHBEARER and
  XOAUTH2 in CAPA's SASL line; the first uses the command and
  OAUTHBEARER, the second a token file and mailmove_pop3_auth = xoauth2.
- m365pop@: a POP3 source with the Microsoft 365 preset (OAuth2 only)
  and a password but no token: the move fails permanently, naming the
  preset and OAuth2, before connecting (the legacy server never hears of
  the user), as an IMAP one does.
Each move that logs in is exactly the legacy INBOX (for POP3: the same
messages byte for byte); the legacy log shows the mechanism used, and
the endpoint saw the tokens.
"""

import http.server
import json
import os
import threading
import urllib.parse

from lib import compare, corpus, mailmove
from lib.admin import mailmove as doveadm_mailmove
from lib.dovecot import DIALECT, LOGGED_IN, LegacyInstance, TargetInstance, User, _make_traversable, \
    failure_logs, require_installed_plugin, stop_all
from lib.move_steps import login_and_move
from lib.scenario import check, check_equal, note, scenario

DOMAIN = "example.com"
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))
BEARER = "bearer@" + DOMAIN
FILE_USER = "filetoken@" + DOMAIN
REVOKED = "revoked@" + DOMAIN
POP_BEARER = "popbearer@" + DOMAIN
POP_XOAUTH2 = "popxoauth2@" + DOMAIN
M365_POP = "m365pop@" + DOMAIN
M365_PASSWORD = "legacy-pw-m365-5be1"
# token -> the user it belongs to; the revoked one is not active
TOKENS = {"tok-bearer-7f3a9c": BEARER, "tok-file-51e2d0": FILE_USER,
          "tok-pop-b-93c1": POP_BEARER, "tok-pop-x-48aa": POP_XOAUTH2}
REVOKED_TOKEN = "tok-revoked-000000"
INBOX = dict(seed=71, count=25)


class Introspection(http.server.BaseHTTPRequestHandler):
    """RFC 7662 token introspection: POST token=... -> {"active": ...}."""
    seen = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        token = (form.get("token") or [""])[0]
        Introspection.seen.append(token)
        user = TOKENS.get(token)
        body = json.dumps({"active": True, "username": user} if user else
                          {"active": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class OAuth2Legacy(LegacyInstance):
    """A legacy Dovecot whose passdb also takes OAuth2 bearer tokens."""

    def __init__(self, workdir, users, introspection_port):
        super().__init__(workdir, users=users)
        self.oauth2_conf = os.path.join(self.root, "dovecot-oauth2.conf.ext")
        self.introspection_port = introspection_port

    def _extra_config(self):
        if DIALECT == "2.4":
            # 2.4's mechanisms check tokens themselves, with the global
            # oauth2 settings (no oauth2 passdb, no args file).
            with open(self.oauth2_conf) as f:
                settings = f.read()
            return super()._extra_config() + (
                "auth_mechanisms = plain login oauthbearer xoauth2\noauth2 {\n%s}\n"
                % "".join("  " + line for line in settings.splitlines(True)))
        return super()._extra_config() + """auth_mechanisms = plain login oauthbearer xoauth2
passdb {
  driver = oauth2
  mechanisms = oauthbearer xoauth2
  args = %s
}
""" % self.oauth2_conf

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        with open(self.oauth2_conf, "w") as f:
            f.write("introspection_mode = post\n"
                    "introspection_url = http://127.0.0.1:%d/introspect\n"
                    "username_attribute = username\n"
                    "active_attribute = active\n"
                    "active_value = true\n"
                    "force_introspection = yes\n" % self.introspection_port)
        return super().start()


class World:
    def __init__(self, workdir):
        self.workdir = workdir
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Introspection)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.messages = corpus.inbox_from_spec(INBOX, BEARER, DOMAIN)
        users = [BEARER, FILE_USER, REVOKED, POP_BEARER, POP_XOAUTH2]
        self.legacy = OAuth2Legacy(workdir, [User(u, "no-password-works-" + u) for u in users] +
                                   [User(M365_POP, M365_PASSWORD)],
                                   self.http.server_address[1])
        os.makedirs(workdir, exist_ok=True)
        self.tools = os.path.join(workdir, "oauth2-tools")
        os.makedirs(self.tools, exist_ok=True)
        # The worker runs the command as the mail user.
        _make_traversable(self.tools)
        bearer_command = self._script("bearer-token", "tok-bearer-7f3a9c")
        revoked_command = self._script("revoked-token", REVOKED_TOKEN)
        pop_command = self._script("pop-bearer-token", "tok-pop-b-93c1")
        token_file = self._token_file("filetoken.token", "tok-file-51e2d0")
        pop_token_file = self._token_file("popxoauth2.token", "tok-pop-x-48aa")
        self.target = TargetInstance(
            workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path,
            users=[User(BEARER, "target-pw-b",
                        userdb_mailmove_source_oauth2_token_command=bearer_command),
                   User(FILE_USER, "target-pw-f",
                        userdb_mailmove_source_oauth2_token_file=token_file,
                        userdb_mailmove_source_auth="xoauth2"),
                   User(REVOKED, "target-pw-r",
                        userdb_mailmove_source_oauth2_token_command=revoked_command),
                   User(POP_BEARER, "target-pw-pb",
                        userdb_mailmove_source=self.legacy.url("pop3s"),
                        userdb_mailmove_source_oauth2_token_command=pop_command),
                   User(POP_XOAUTH2, "target-pw-px",
                        userdb_mailmove_source=self.legacy.url("pop3s"),
                        userdb_mailmove_source_oauth2_token_file=pop_token_file,
                        userdb_mailmove_pop3_auth="xoauth2"),
                   User(M365_POP, "target-pw-m",
                        userdb_mailmove_source=self.legacy.url("pop3s"),
                        userdb_mailmove_provider="microsoft365",
                        userdb_mailmove_source_password=M365_PASSWORD)])
        self.inspector = self.target.inspector(workdir)

    def _token_file(self, name, token):
        path = os.path.join(self.tools, name)
        with open(path, "w") as f:
            f.write(token + "\n")
        os.chmod(path, 0o644)
        return path

    def _script(self, name, token):
        """A token command: prints token and notes who asked for it."""
        path = os.path.join(self.tools, name)
        log = os.path.join(self.tools, name + ".calls")
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho \"$MAILMOVE_USER $MAILMOVE_LOGIN\" >> %s\n"
                    "echo %s\n" % (log, token))
        os.chmod(path, 0o755)
        open(log, "w").close()
        os.chmod(log, 0o666)
        return path

    def calls(self, name):
        with open(os.path.join(self.tools, name + ".calls")) as f:
            return f.read().split("\n")[:-1]

    def start(self):
        require_installed_plugin()
        for user in (BEARER, FILE_USER, REVOKED, POP_BEARER, POP_XOAUTH2, M365_POP):
            corpus.write_maildir(self.legacy.maildir(user), self.messages)
        self.legacy.start()
        self.target.start()
        self.inspector.start()

    def stop(self):
        stop_all([self.target, self.legacy, self.inspector])
        self.http.shutdown()

    def logs(self):
        return failure_logs(self.target, self.legacy)


def check_moved_by(world, user, mechanism, protocol="imap"):
    mark = world.legacy.log_mark()
    row, _ = login_and_move(world.target, user, TIMEOUT)
    # Before the comparison below logs in (with the legacy password).
    logins = [line for line in world.legacy.log_since(mark).splitlines()
              if "%s user=<%s>" % (LOGGED_IN, user) in line]
    note("%s: legacy logins of the move: %s", user, logins)
    check(logins and all("method=%s" % mechanism in line and "%s-login" % protocol in line
                         for line in logins),
          "%s did not log in with %s over %s: %s", user, mechanism, protocol, logins)
    legacy = compare.mailbox_records(world.legacy, user)
    target = compare.mailbox_records(world.inspector, user)
    if protocol == "pop3":
        # POP3 carries no flags; the bytes must be the same.
        legacy, target = ([r._replace(flags=frozenset(), internaldate=0) for r in records]
                          for records in (legacy, target))
    problems = compare.diff(legacy, target)
    check(not problems, "%s:\n%s", user, compare.summarize(problems))
    check_equal(len(target), INBOX["count"], "messages of %s at the target" % user)
    return row


@scenario("oauth2-oauthbearer-token-from-a-command")
def bearer_command(world):
    check_moved_by(world, BEARER, "OAUTHBEARER")
    calls = world.calls("bearer-token")
    check(calls and all(call == "%s %s" % (BEARER, BEARER) for call in calls),
          "the token command's MAILMOVE_USER/MAILMOVE_LOGIN: %r", calls)
    check("tok-bearer-7f3a9c" in Introspection.seen, "the endpoint never saw the token")


@scenario("oauth2-xoauth2-token-from-a-file")
def file_token(world):
    check_moved_by(world, FILE_USER, "XOAUTH2")
    check("tok-file-51e2d0" in Introspection.seen, "the endpoint never saw the token")


@scenario("oauth2-revoked-token-is-an-auth-failure-never-done")
def revoked(world):
    row, _ = login_and_move(world.target, REVOKED, TIMEOUT, require_done=False)
    note("revoked: %s", mailmove.describe(row))
    check(row["state"] in ("queued", "auth-failed"), "state %s", row["state"])
    check("AUTHENTICATE OAUTHBEARER refused" in row["last_error"], "last_error: %r",
          row["last_error"])
    # A second refusal is past mailmove_auth_retries (1): auth-failed,
    # which waits for new credentials rather than retrying.
    result = doveadm_mailmove(world.target, "run", "-u", REVOKED, timeout=TIMEOUT)
    note("run -u: exit %d, %r", result.code, result.rows)
    check_equal(result.rows[0]["result"], "failed", "the foreground run's result")
    check_equal(mailmove.status(world.target, REVOKED)["state"], "auth-failed",
                "state after a second refusal")
    check(REVOKED_TOKEN not in row["last_error"], "the token is in last_error")
    check(REVOKED_TOKEN in Introspection.seen, "the endpoint never saw the token")
    target_log = world.target.log_since(0)
    check(REVOKED_TOKEN not in target_log and "tok-bearer-7f3a9c" not in target_log,
          "a token is in the target's log")


@scenario("oauth2-pop3-oauthbearer-token-from-a-command")
def pop3_bearer(world):
    check_moved_by(world, POP_BEARER, "OAUTHBEARER", "pop3")
    check("tok-pop-b-93c1" in Introspection.seen, "the endpoint never saw the token")


@scenario("oauth2-pop3-xoauth2-token-from-a-file")
def pop3_xoauth2(world):
    check_moved_by(world, POP_XOAUTH2, "XOAUTH2", "pop3")
    check("tok-pop-x-48aa" in Introspection.seen, "the endpoint never saw the token")


@scenario("oauth2-only-preset-refuses-a-pop3-password-login")
def pop3_oauth2_only(world):
    mark = world.legacy.log_mark()
    row, _ = login_and_move(world.target, M365_POP, TIMEOUT, require_done=False)
    note("m365pop: %s", mailmove.describe(row))
    # failed, not queued again (temporary) or auth-failed: a permanent failure
    check_equal(row["state"], "failed", "state of a password login to an OAuth2-only preset")
    check("Microsoft 365" in row["last_error"] and "accepts only OAuth2" in row["last_error"]
          and "no password was sent" in row["last_error"], "last_error: %r", row["last_error"])
    legacy_log = world.legacy.log_since(mark)
    check(M365_POP not in legacy_log, "the legacy server heard of %s: %s", M365_POP,
          [line for line in legacy_log.splitlines() if M365_POP in line])
    check(M365_PASSWORD not in row["last_error"], "the password is in last_error")
    check_equal(len(compare.mailbox_records(world.inspector, M365_POP)), 0,
                "messages moved for %s" % M365_POP)
