"""Cyrus IMAP as a second legacy server implementation.

Debian's cyrus-imapd cannot be installed next to dovecot-imapd (both
provide imap-server), so its packages are fetched with `apt-get download`
and unpacked with `dpkg -x` into a private root kept under the build
directory (_build/cyrus, or $MAILMOVE_IT_CYRUS_CACHE); the shared
libraries it needs that are not installed are fetched the same way,
found with ldd. Nothing is installed on the system.

CyrusInstance runs that Cyrus on 127.0.0.1 from its own configuration
directory: the classic namespace (altnamespace: no, unixhierarchysep: no:
"." separator, folders below "INBOX."), plaintext LOGIN against a private
sasldb, 8-bit headers kept as they are (munge8bit: no), its processes as
"nobody". The master runs in the foreground in a session of its own, so
stop() ends it and every child with one kill of the process group.
"""

import collections
import os
import re
import signal
import subprocess
import time

from . import procs
from .dovecot import _make_traversable
from .imap_tree import ImapWire, quote

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
CACHE = os.environ.get("MAILMOVE_IT_CYRUS_CACHE", os.path.join(TOP, "_build", "cyrus"))
PACKAGES = ("cyrus-common", "cyrus-imapd", "sasl2-bin")
LIBDIR = "usr/lib/x86_64-linux-gnu"
CYRUS_BIN = "usr/lib/cyrus/bin"
# The binaries a test run executes: their libraries must all resolve.
EXECUTABLES = (CYRUS_BIN + "/master", CYRUS_BIN + "/imapd", CYRUS_BIN + "/ctl_cyrusdb",
               "usr/sbin/saslpasswd2")
RUN_AS = ("nobody", "nogroup")
ADMIN = "cyrus"


class CyrusUnavailable(RuntimeError):
    """Cyrus could not be fetched or unpacked (no package registry?)."""


def _run(argv, cwd=None, env=None, timeout=300):
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise CyrusUnavailable("%s exited %d: %s" % (" ".join(argv), proc.returncode,
                                                     proc.stderr.decode(errors="replace")[-800:]))
    return proc.stdout.decode(errors="replace")


def _download(packages, debs):
    """apt-get download into debs (once: .debs already there are kept)."""
    wanted = [p for p in packages
              if not any(f.startswith(p + "_") and f.endswith(".deb") for f in os.listdir(debs))]
    if not wanted:
        return
    try:
        _run(["apt-get", "download"] + wanted, cwd=debs)
    except CyrusUnavailable:
        # A machine whose package lists were never fetched knows nothing.
        _run(["apt-get", "update", "-q"])
        _run(["apt-get", "download"] + wanted, cwd=debs)


def _unresolved_libraries(root):
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(root, LIBDIR))
    missing = set()
    for executable in EXECUTABLES:
        output = _run(["ldd", os.path.join(root, executable)], env=env)
        missing.update(re.findall(r"^\s*(\S+) => not found", output, re.M))
    return missing


def _package_of(soname):
    """Debian's name for the package of a shared library (policy 8.1):
    libical.so.3 -> libical3, libfoo1.so.2 -> libfoo1-2."""
    match = re.match(r"^(lib.+?)\.so\.(\d+)", soname)
    if not match:
        raise CyrusUnavailable("cannot tell the package of %s" % soname)
    name, version = match.group(1), match.group(2)
    return name + ("-" if name[-1].isdigit() else "") + version


def private_root():
    """The unpacked Cyrus (fetched on first use); returns its root path."""
    debs = os.path.join(CACHE, "debs")
    root = os.path.join(CACHE, "root")
    os.makedirs(debs, exist_ok=True)
    packages = list(PACKAGES)
    for _ in range(4):
        _download(packages, debs)
        for deb in sorted(os.listdir(debs)):
            stamp = os.path.join(CACHE, "unpacked", deb)
            if deb.endswith(".deb") and not os.path.exists(stamp):
                _run(["dpkg", "-x", os.path.join(debs, deb), root])
                os.makedirs(os.path.dirname(stamp), exist_ok=True)
                open(stamp, "w").close()
        missing = _unresolved_libraries(root)
        if not missing:
            _make_traversable(os.path.join(root, CYRUS_BIN))
            return root
        packages += sorted({_package_of(soname) for soname in missing})
    raise CyrusUnavailable("libraries still missing after fetching %s: %s" % (
        ", ".join(packages), ", ".join(sorted(missing))))


class CyrusInstance:
    """A private Cyrus IMAP server on 127.0.0.1 (see the module docstring).

    Looks enough like a DovecotInstance for lib/clients.py: ports["imap"]
    and users (name -> User with .password).
    """

    def __init__(self, workdir, name="cyrus", users=()):
        self.name = name
        self.root = os.path.join(workdir, name)
        self.users = {user.name: user for user in users}
        self.ports = {"imap": procs.free_port()}
        self.admin_password = "cyrus-admin-%d" % os.getpid()
        self.master = None
        self.cyrus_root = None
        self.config_path = os.path.join(self.root, "imapd.conf")
        self.log_path = os.path.join(self.root, "master.log")

    def _path(self, *parts):
        return os.path.join(self.root, *parts)

    def _env(self):
        return dict(os.environ, LD_LIBRARY_PATH=os.path.join(self.cyrus_root, LIBDIR))

    def _write_config(self):
        with open(self.config_path, "w") as f:
            f.write("""# Written by tests/integration/lib/cyrus.py for a test run.
configdirectory: {config}
partition-default: {spool}
defaultpartition: default
servername: localhost
admins: {admin}
cyrus_user: {user}
cyrus_group: {group}
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {sasldb}
sasl_mech_list: PLAIN LOGIN
altnamespace: no
unixhierarchysep: no
virtdomains: off
munge8bit: no
lmtpsocket: {sockets}/lmtp
idlesocket: {sockets}/idle
notifysocket: {sockets}/notify
syslog_prefix: mmtest-cyrus-{pid}
""".format(config=self._path("config"), spool=self._path("spool"), admin=ADMIN,
           user=RUN_AS[0], group=RUN_AS[1], sasldb=self._path("sasldb2"),
           sockets=self._path("socket"), pid=os.getpid()))
        bin_dir = os.path.join(self.cyrus_root, CYRUS_BIN)
        with open(self._path("cyrus.conf"), "w") as f:
            f.write("""START {{
  recover cmd="{bin}/ctl_cyrusdb -C {conf} -r"
}}
SERVICES {{
  imap cmd="{bin}/imapd -C {conf}" listen="127.0.0.1:{port}" prefork=1
}}
EVENTS {{
}}
DAEMON {{
}}
""".format(bin=bin_dir, conf=self.config_path, port=self.ports["imap"]))

    def _set_password(self, name, password):
        proc = subprocess.run(
            [os.path.join(self.cyrus_root, "usr/sbin/saslpasswd2"), "-f", self._path("sasldb2"),
             "-p", "-c", "-u", "localhost", name],
            input=password.encode(), env=self._env(), capture_output=True, timeout=30)
        if proc.returncode != 0:
            raise RuntimeError("saslpasswd2 %s failed: %s" % (name, proc.stderr.decode()))

    def start(self):
        """Fetch Cyrus if needed, write the configuration and the users'
        passwords, start the master, create the users' mailboxes."""
        self.cyrus_root = private_root()
        for sub in ("config", "spool", "socket"):
            os.makedirs(self._path(sub), exist_ok=True)
        _make_traversable(self.root)
        self._write_config()
        self._set_password(ADMIN, self.admin_password)
        for user in self.users.values():
            self._set_password(user.name, user.password)
        subprocess.run(["chown", "-R", "%s:%s" % RUN_AS, self.root], check=True)
        with open(self.log_path, "wb") as log:
            self.master = subprocess.Popen(
                [os.path.join(self.cyrus_root, CYRUS_BIN, "master"), "-C", self.config_path,
                 "-M", self._path("cyrus.conf"), "-p", self._path("master.pid")],
                stdout=log, stderr=subprocess.STDOUT, env=self._env(), start_new_session=True)
        try:
            procs.wait_until(lambda: procs.port_accepts(self.ports["imap"]) or
                             self.master.poll() is not None, 20,
                             what="Cyrus listening on port %d" % self.ports["imap"])
            if self.master.poll() is not None:
                raise RuntimeError("Cyrus master exited %d: %s" % (self.master.returncode,
                                                                   self.log_tail()))
            for user in self.users.values():
                self.create_user(user.name)
        except BaseException:
            self.stop()
            raise
        return self

    def create_user(self, name):
        """The user's INBOX (user.NAME), created by the admin."""
        with ImapWire(self.ports["imap"]) as wire:
            wire.login(ADMIN, self.admin_password)
            wire.command("CREATE", quote("user." + name))

    def stop(self):
        """SIGKILL the master's whole session (instant, nothing to keep)."""
        if self.master is None:
            return
        procs.kill_session(self.master)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self._session_alive():
            time.sleep(0.05)
        self.master = None

    def _session_alive(self):
        """Whether a process of the master's session (its children) lives."""
        sid = self.master.pid
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.getsid(int(entry)) == sid and procs.pid_alive(int(entry)):
                        return True
                except (ProcessLookupError, PermissionError):
                    continue
        return False

    def log_tail(self, lines=20):
        """The end of the master's stdout and stderr (Cyrus itself logs to
        syslog, which test machines may not have)."""
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return "".join(collections.deque(f, maxlen=lines)).rstrip("\n")
