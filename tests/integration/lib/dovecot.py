"""Real Dovecot instances for the integration tests.

Each instance is a complete, private Dovecot: its own instance_name,
base_dir, state_dir, log file, passwd-file and mail root under one work
directory, listening on free ports on 127.0.0.1 only. Nothing of the system
Dovecot (/etc/dovecot, /run/dovecot, /var/lib/dovecot) is read or touched.

LegacyInstance plays the old server (IMAP and IMAPS with a self-signed
certificate, POP3 too); TargetInstance is the new server with the installed
mailmove plugin, configured exactly as an admin would: by including the
installed example config and adding a few settings.
"""

import os
import re
import signal
import subprocess
import threading

from . import procs

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"
INSTALLED_EXAMPLE_CONFIG = "/usr/share/doc/dovecot-mailmove/example-config/conf.d/90-mailmove.conf"


def _dovecot_dialect():
    """"2.4" when the Dovecot under test is 2.4 or later, else "2.3": the
    configuration syntax the instances are written in (./check.sh
    --dovecot 2.4 runs the scenarios in a Debian 13 root)."""
    try:
        version = subprocess.run([DOVECOT, "--version"], capture_output=True,
                                 text=True, timeout=30).stdout.split()[0]
        major, minor = (int(part) for part in version.split(".")[:2])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return "2.3"
    return "2.4" if (major, minor) >= (2, 4) else "2.3"


DIALECT = _dovecot_dialect()

# What a login process logs for a successful login, before "user=<...>":
# "imap-login: Info: Login: user=<...>" on 2.3, "Logged in: user=<...>"
# on 2.4 (whose failed logins say "Login aborted:").
LOGGED_IN = "Login:" if DIALECT == "2.3" else "Logged in:"


def settings_text(settings):
    """Plugin settings as config text: a plugin { } block on 2.3, plain
    global settings on 2.4 (with 2.3's %u, %n, %d and %w in their 2.4
    spelling)."""
    if DIALECT == "2.3":
        return "plugin {\n%s}\n" % "".join("  %s = %s\n" % item for item in settings.items())
    settings = dict(settings)
    uri = settings.pop("mailmove_dict", None)
    return "".join("%s = %s\n" % (name, variables_24(str(value)))
                   for name, value in settings.items()) + (dict_24(uri) if uri else "")


# 2.3's redis URI parameters and their 2.4 settings.
REDIS_SETTINGS_24 = {"host": "redis_host", "port": "redis_port", "password": "redis_password",
                     "prefix": "redis_key_prefix", "db": "redis_db_id"}


def dict_24(uri):
    """The cluster's mailmove_dict = URI of 2.3 (redis:host=H:port=P or
    proxy:[SOCKET]:NAME) as 2.4's mailmove { dict DRIVER { ... } } block
    (doc/cluster.md); anything else is refused here."""
    driver, _, args = uri.partition(":")
    if driver == "redis":
        lines = []
        for part in filter(None, args.split(":")):
            key, _, value = part.partition("=")
            lines.append("%s = %s" % (REDIS_SETTINGS_24[key], value))
    elif driver == "proxy":
        socket, _, name = args.partition(":")
        lines = ["dict_proxy_name = %s" % name]
        if socket:
            lines.append("dict_proxy_socket_path = %s" % socket)
    else:
        raise ValueError("mailmove_dict = %s: no Dovecot 2.4 form known" % uri)
    return "mailmove {\n  dict %s {\n%s  }\n}\n" % (
        driver, "".join("    %s\n" % line for line in lines))


def variables_24(text):
    """2.3's %-variables in 2.4's syntax."""
    for old, new in (("%u", "%{user}"), ("%n", "%{user | username}"),
                     ("%d", "%{user | domain}"), ("%w", "%{password}")):
        text = text.replace(old, new)
    return text


def config_24(text):
    """The 2.3 constructs the scenarios' extra config uses, in 2.4's
    syntax: mail_location (and a namespace's location) split into
    mail_driver, mail_path, mailbox_list_layout and mail_index_path;
    mail_attribute_dict = file:PATH as a mail_attribute { dict file { } }
    block; passdb blocks named (a passwd-file's scheme=
    dropped: every password in the tests' files names its scheme);
    %-variables. What it does not know stays as it is, and Dovecot 2.4
    refuses it, so a scenario that needs more fails and says why."""
    def location(match):
        indent = match.group(1)
        parts = match.group(3).split(":")
        lines = ["mail_driver = %s" % match.group(2), "mail_path = %s" % parts[0]]
        for part in parts[1:]:
            key, _, value = part.partition("=")
            lines.append({"LAYOUT": "mailbox_list_layout = %s",
                          "INDEX": "mail_index_path = %s"}.get(key, part + "%s") % value)
        return "\n".join(indent + line for line in lines)

    count = [0]

    def passdb(match):
        count[0] += 1
        body = re.sub(r"^(\s*)args = (?:scheme=\S+ )?(/\S+)$", r"\1passwd_file_path = \2",
                      match.group(1), flags=re.M)
        return "passdb extra%d {%s}" % (count[0], body)

    # mail_location, and a namespace's location.
    text = re.sub(r"^([ \t]*)(?:mail_)?location = (\w+):(.*)$", location, text, flags=re.M)
    text = re.sub(r"^mail_attribute_dict = file:(.*)$",
                  r"mail_attribute {\n  dict file {\n    path = \1\n  }\n}", text, flags=re.M)
    text = re.sub(r"^passdb \{(.*?)^\}", passdb, text, flags=re.M | re.S)
    return variables_24(text).replace("%g", "%{guid}").replace("%h", "%{home}")


# Mail users get this uid/gid. No /etc/passwd entry is needed; it only has
# to be at least first_valid_uid (500 by default).
MAIL_UID = 5000
MAIL_GID = 5000


class User:
    """A mail account on one instance.

    extra_fields are passwd-file extra fields ("userdb_mailmove_source_password"
    and the like): Dovecot turns unknown userdb fields into plugin settings.
    """

    def __init__(self, name, password, **extra_fields):
        self.name = name
        self.password = password
        self.extra_fields = extra_fields

    def passwd_line(self):
        """name:{PLAIN}password:uid:gid:gecos:home:shell:extra fields.

        uid, gid and home stay empty: the userdb's default_fields give them,
        the same way a real site with virtual users is usually set up.
        """
        extras = " ".join("%s=%s" % item for item in sorted(self.extra_fields.items()))
        if DIALECT == "2.4":
            # 2.3's mail=DRIVER:PATH is mail_driver and mail_path on 2.4.
            extras = re.sub(r"\buserdb_mail=(\w+):(\S+)",
                            r"userdb_mail_driver=\1 userdb_mail_path=\2", variables_24(extras))
        return "%s:{PLAIN}%s::::::%s\n" % (self.name, self.password, extras)


def _make_traversable(path):
    """chmod o+x every directory from path up to /, as far as we own it.

    Mail processes run as MAIL_UID and must reach their home and the
    instance's base_dir; tempfile.mkdtemp() makes 0700 directories.
    """
    path = os.path.abspath(path)
    while path != "/":
        mode = os.stat(path).st_mode
        if not mode & 0o001:
            os.chmod(path, (mode & 0o7777) | 0o055)
        path = os.path.dirname(path)


# Every inet listener an instance may have: listener name -> (service, TLS).
LISTENERS = {
    "imap": ("imap-login", False),
    "imaps": ("imap-login", True),
    "pop3": ("pop3-login", False),
    "pop3s": ("pop3-login", True),
    "lmtp": ("lmtp", False),
}


class DovecotInstance:
    """One private Dovecot master and its children; plain IMAP by default.

    Subclasses name their PROTOCOLS and LISTENERS (each listener gets a free
    port in self.ports; the others are switched off) and add settings with
    _extra_config(). The instance owns everything under `root` and stops
    its processes in stop(), which the test runner calls even when a
    scenario fails.
    """

    PROTOCOLS = ("imap",)
    LISTENERS = ("imap",)

    def __init__(self, workdir, name, users=(), mail_root=None):
        """mail_root: where the users' homes are; by default the instance's
        own, another instance's to serve that instance's mail too."""
        self.name = name
        self.root = os.path.abspath(os.path.join(workdir, name))
        self.config_path = os.path.join(self.root, "dovecot.conf")
        self.base_dir = os.path.join(self.root, "run")
        self.state_dir = os.path.join(self.root, "state")
        self.log_path = os.path.join(self.root, "dovecot.log")
        self.passwd_path = os.path.join(self.root, "passwd")
        self.mail_root = mail_root or os.path.join(self.root, "mail")
        # A unique instance_name keeps our processes apart from others in
        # `ps` and in doveadm's instance list.
        self.instance_name = "mmtest-%s-%d" % (name, os.getpid())
        self.users = {}
        self.ports = {name: procs.free_port() for name in self.LISTENERS}
        self.master_pid = None
        for user in users:
            self.users[user.name] = user

    # -- configuration -------------------------------------------------

    def _listeners(self):
        """service blocks with our inet listeners on 127.0.0.1 and the
        default ones of those services (imaps on 993, ...) switched off."""
        text = ""
        for service in dict.fromkeys(service for service, _ in LISTENERS.values()):
            blocks = ""
            for name, (owner, tls) in LISTENERS.items():
                if owner != service:
                    continue
                if name in self.ports:
                    # 2.4's listeners have no address (the global
                    # listen = 127.0.0.1 applies).
                    blocks += "  inet_listener %s {\n%s    port = %d\n%s  }\n" % (
                        name, "    address = 127.0.0.1\n" if DIALECT == "2.3" else "",
                        self.ports[name], "    ssl = yes\n" if tls else "")
                elif service != "lmtp":
                    blocks += "  inet_listener %s {\n    port = 0\n  }\n" % name
            if any(LISTENERS[name][0] == service for name in self.ports):
                text += "service %s {\n%s}\n" % (service, blocks)
        return text

    def _extra_config(self):
        return "ssl = no\n"

    def _config_text(self):
        if DIALECT == "2.4":
            return self._config_text_24()
        return """# Written by tests/integration/lib/dovecot.py for a test run.
instance_name = {inst.instance_name}
base_dir = {inst.base_dir}
state_dir = {inst.state_dir}
log_path = {inst.log_path}
protocols = {protocols}
listen = 127.0.0.1
shutdown_clients = yes

disable_plaintext_auth = no
auth_mechanisms = plain login
# Failed logins must not cost seconds each in tests.
auth_failure_delay = 0 secs
mail_location = maildir:~/Maildir
first_valid_uid = 500
mail_max_userip_connections = 100

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {inst.passwd_path}
}}
userdb {{
  driver = passwd-file
  args = {inst.passwd_path}
  default_fields = uid={uid} gid={gid} home={inst.mail_root}/%u
}}
{listeners}
{extra}
""".format(inst=self, protocols=" ".join(self.PROTOCOLS), uid=MAIL_UID, gid=MAIL_GID,
           listeners=self._listeners(), extra=self._extra_config())

    def _config_text_24(self):
        """The same instance in Dovecot 2.4's syntax."""
        return """# Written by tests/integration/lib/dovecot.py for a test run (Dovecot 2.4).
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
instance_name = {inst.instance_name}
base_dir = {inst.base_dir}
state_dir = {inst.state_dir}
log_path = {inst.log_path}
protocols = {protocols}
listen = 127.0.0.1
shutdown_clients = yes

auth_allow_cleartext = yes
auth_mechanisms = plain login
# Failed logins must not cost seconds each in tests.
auth_failure_delay = 0 secs
mail_driver = maildir
mail_path = ~/Maildir
first_valid_uid = 500
mail_max_userip_connections = 100

passdb passwd-file {{
  passwd_file_path = {inst.passwd_path}
}}
userdb passwd-file {{
  passwd_file_path = {inst.passwd_path}
  fields {{
    uid:default = {uid}
    gid:default = {gid}
    home:default = {inst.mail_root}/%{{user}}
  }}
}}
{listeners}
{extra}
""".format(inst=self, protocols=" ".join(self.PROTOCOLS), uid=MAIL_UID, gid=MAIL_GID,
           listeners=self._listeners(), extra=config_24(self._extra_config()))

    # -- users and mail ------------------------------------------------

    def add_user(self, user):
        """Add or replace a user; passwd-file is re-read when it changes."""
        self.users[user.name] = user
        if os.path.isdir(self.root):
            self._write_passwd()

    def _write_passwd(self):
        tmp = self.passwd_path + ".tmp"
        with open(tmp, "w") as f:
            for user in self.users.values():
                f.write(user.passwd_line())
        # The auth process runs as the dovecot user and must read it.
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.passwd_path)

    def home(self, username):
        return os.path.join(self.mail_root, username)

    def maildir(self, username):
        """The user's Maildir, created and owned by the mail uid."""
        path = os.path.join(self.home(username), "Maildir")
        for sub in ("", "cur", "new", "tmp"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        for dirpath in (self.home(username), path) + tuple(
                os.path.join(path, sub) for sub in ("cur", "new", "tmp")):
            os.chown(dirpath, MAIL_UID, MAIL_GID)
        return path

    # -- lifecycle -----------------------------------------------------

    def start(self):
        """Write the config and start the master; return once it listens."""
        for path in (self.root, self.mail_root, self.state_dir):
            os.makedirs(path, exist_ok=True)
        _make_traversable(self.root)
        os.chown(self.mail_root, MAIL_UID, MAIL_GID)
        self._write_passwd()
        with open(self.config_path, "w") as f:
            f.write(self._config_text())
        # The daemonized master keeps the stdout/stderr it was given, so they
        # go to a file: a pipe would never reach EOF.
        startup_log = os.path.join(self.root, "startup.log")
        with open(startup_log, "wb") as out:
            status = subprocess.run([DOVECOT, "-c", self.config_path], stdout=out,
                                    stderr=subprocess.STDOUT, timeout=60).returncode
        # A refused config writes no master.pid: say why at once.
        if status != 0:
            with open(startup_log, errors="replace") as f:
                raise RuntimeError("dovecot -c %s exited %d: %s" % (
                    self.config_path, status, f.read().strip()))
        self.master_pid = procs.wait_until(self._read_master_pid, 10,
                                           what="%s master.pid" % self.name)
        for port in self.ports.values():
            procs.wait_until(lambda: procs.port_accepts(port), 10,
                             what="%s listening on port %d" % (self.name, port))
        # Without the penalty socket the login processes cannot delay
        # clients after failed logins (see dovecot-2.3-facts.md).
        penalty = os.path.join(self.base_dir, "anvil-auth-penalty")
        if os.path.exists(penalty):
            os.unlink(penalty)
        return self

    def _read_master_pid(self):
        try:
            with open(os.path.join(self.base_dir, "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def running(self):
        return self.master_pid is not None and procs.pid_alive(self.master_pid)

    def stop(self, timeout=10):
        """Stop gracefully with `doveadm stop`, then SIGKILL what is left.

        Safe to call twice and on an instance that never started. The
        process tree is collected first, because children of a killed
        master are re-parented and would be lost.
        """
        if self.master_pid is None:
            # start() may have failed half-way, after the master came up.
            self.master_pid = self._read_master_pid()
            if self.master_pid is None:
                return
        tree = [self.master_pid] + procs.descendants(self.master_pid)
        if procs.pid_alive(self.master_pid):
            try:
                # doveadm stop itself waits for the master to exit.
                subprocess.run([DOVEADM, "-c", self.config_path, "stop"],
                               capture_output=True, timeout=timeout)

                procs.wait_until(lambda: not procs.pid_alive(self.master_pid), timeout,
                                 what="%s master to exit" % self.name)
            except (TimeoutError, subprocess.TimeoutExpired):
                pass
        tree += [pid for pid in procs.descendants(self.master_pid) if pid not in tree]
        for pid in tree:
            if procs.pid_alive(pid):
                procs.kill_quietly(pid, signal.SIGKILL)
        self.master_pid = None

    # -- tools ---------------------------------------------------------

    def doveadm(self, *args, fmt=None, check=True, timeout=120, input=None):
        """Run `doveadm -c CONFIG [-f fmt] args...` against this instance
        (input: bytes for its stdin, e.g. a message for `doveadm save`)."""
        argv = [DOVEADM, "-c", self.config_path]
        if fmt:
            argv += ["-f", fmt]
        return procs.run(argv + list(args), input=input, check=check, timeout=timeout)

    def service_pids(self, title):
        """Pids of the master's children running the service `title`.

        Their process titles are "dovecot-<instance_name>/<service> ...".
        The match is on the whole service name, so "mailmove" does not
        match "mailmove-worker".
        """
        if not self.running():
            return []
        return [pid for pid, proc_title in procs.children(self.master_pid)
                if proc_title.split(" ", 1)[0].endswith("/" + title)]

    def log_mark(self):
        """A position in the log; log_since(mark) returns what came after."""
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def log_since(self, mark=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern, mark=0, timeout=5):
        """Wait until a line after mark matches the regex; return the line."""
        regex = re.compile(pattern)

        def find():
            for line in self.log_since(mark).splitlines():
                if regex.search(line):
                    return line
            return None
        return procs.wait_until(find, timeout, what="log line matching %r in %s" % (
            pattern, self.log_path))

    def log_tail(self, lines=40, skip=None):
        """The last lines of the log, leaving out lines matching regex skip
        (e.g. protocol traces that would push the errors out of view)."""
        kept = self.log_since().splitlines()
        if skip:
            kept = [line for line in kept if not re.search(skip, line)]
        return "\n".join(kept[-lines:])


def require_installed_plugin():
    """Fail a World's start at once, saying why, when `make install` has
    not run: otherwise every product scenario fails with a config error."""
    if not os.path.exists(INSTALLED_EXAMPLE_CONFIG):
        raise RuntimeError("the product is not installed: %s is missing (run make install)"
                           % INSTALLED_EXAMPLE_CONFIG)


def failure_logs(target, legacy, legacy_lines=15):
    """What a failed product scenario shows (World.logs()): the target log's
    tail without the plugin's IMAP protocol traces, then the legacy's."""
    return [("target log (tail, without IMAP traces)",
             target.log_tail(60, skip=r"Debug: mailmove: [CS]: ")),
            ("legacy log (tail)", legacy.log_tail(legacy_lines))]


def stop_all(instances):
    """Stop instances in parallel: a graceful stop takes seconds each."""
    threads = [threading.Thread(target=instance.stop) for instance in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class LegacyInstance(DovecotInstance):
    """The legacy server: IMAP, IMAPS and POP3, POP3S with a self-signed cert.

    The certificate names IP:127.0.0.1 and DNS:localhost and is its own CA,
    so the target can verify it with mailmove_source_ssl_ca_file.
    """

    PROTOCOLS = ("imap", "pop3")
    LISTENERS = ("imap", "imaps", "pop3", "pop3s")

    def __init__(self, workdir, name="legacy", users=()):
        super().__init__(workdir, name, users)
        self.cert_path = os.path.join(self.root, "legacy-cert.pem")
        self.key_path = os.path.join(self.root, "legacy-key.pem")

    def _extra_config(self):
        if DIALECT == "2.4":
            return "ssl = yes\nssl_server_cert_file = %s\nssl_server_key_file = %s\n" % (
                self.cert_path, self.key_path)
        return "ssl = yes\nssl_cert = <%s\nssl_key = <%s\n" % (
            self.cert_path, self.key_path)

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        if not os.path.exists(self.cert_path):
            procs.run(["openssl", "req", "-x509", "-newkey", "ec",
                       "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", self.key_path, "-out", self.cert_path, "-days", "30",
                       "-subj", "/CN=localhost",
                       "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        return super().start()

    def url(self, scheme="imaps", host="127.0.0.1"):
        """The mailmove_source URL for this server, e.g. imaps://127.0.0.1:PORT."""
        return "%s://%s:%d" % (scheme, host, self.ports[scheme])


class TargetInstance(DovecotInstance):
    """The new server, with the installed mailmove plugin enabled.

    The plugin is enabled the way the README tells an admin to: include
    the installed example config and set mailmove_source and its TLS
    settings. Per-user legacy passwords come from passwd-file extra fields.
    """

    PROTOCOLS = ("imap", "pop3", "lmtp")
    LISTENERS = ("imap", "pop3", "lmtp")

    def __init__(self, workdir, source_url, ca_file=None, name="target", users=(),
                 plugin_settings=None):
        super().__init__(workdir, name, users)
        self.source_url = source_url
        self.ca_file = ca_file
        self.plugin_settings = dict(plugin_settings or {})

    def _extra_config(self):
        # source_url None: no global mailmove_source (only enabled domains move).
        settings = {} if self.source_url is None else {"mailmove_source": self.source_url}
        # The notes in the INBOX (issue 14) would count as moved mail in
        # the comparisons; test_metadata.py turns them on.
        settings["mailmove_user_notices"] = "no"
        if self.ca_file:
            settings["mailmove_source_ssl_ca_file"] = self.ca_file
        settings.update(self.plugin_settings)
        return super()._extra_config() + """postmaster_address = postmaster@example.com
# The plugin's own debug lines ("Skipped: ...") help when a scenario fails.
log_debug = category=mailmove

!include {example}

{plugin}""".format(example=INSTALLED_EXAMPLE_CONFIG, plugin=settings_text(settings))

    def inspector(self, workdir):
        """A plain Dovecot (no plugin) serving this instance's mail.

        Tests read the target's mailboxes through it: the same files and
        the same Dovecot, but reading is not an IMAP login of the target,
        which the plugin would report to the mailmove service.
        """
        return DovecotInstance(workdir, self.name + "-inspector", users=self.users.values(),
                               mail_root=self.mail_root)

    def mailmove_service_pid(self):
        """Pid of the running mailmove service process, or None."""
        pids = self.service_pids("mailmove")
        return pids[0] if pids else None

    def lda(self, username, message_bytes):
        """Deliver one message with dovecot-lda, as an MTA would."""
        return procs.run([DOVECOT_LDA, "-c", self.config_path, "-d", username],
                         input=message_bytes)
