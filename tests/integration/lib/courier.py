"""Courier-IMAP and Courier's POP3 server as a legacy server implementation.

Debian's courier-imap and courier-pop cannot be installed next to
dovecot-imapd/pop3d (they provide imap-server/pop3-server), so, as for
Cyrus (lib/cyrus.py), their packages and courier-authlib's are fetched with
`apt-get download` and unpacked with `dpkg -x` into a private root under
the build directory (_build/courier, or $MAILMOVE_IT_COURIER_CACHE).
The plain libraries they link (libcourier-unicode4, libgamin0, ...) are
Debian packages without conflicts: tests/setup.sh installs them.

Courier has compiled-in paths: /etc/courier (authdaemonrc, the userdb),
/run/courier/authdaemon (the socket between the login programs and
authdaemond) and /usr/lib/courier, /usr/lib/courier-authlib (programs and
auth modules). CourierInstance therefore runs it in a mount namespace of
its own (`unshare -m`): there an overlay puts the instance's configuration
over /etc, the unpacked usr/lib under /usr/lib, and a tmpfs on /run. The
host never sees these mounts; they vanish with the namespace's last
process. authdaemond (module authuserdb) and one couriertcpd each for
IMAP and POP3 listen on 127.0.0.1; every process is in one session, so
stop() ends them all with one kill of the process group.

Mail lives in Maildirs owned by "nobody", written by the tests directly
(write_messages()): Courier takes INTERNALDATE from the file's mtime and
flags from the name (":2,FS"), and keeps folder names in UTF-8 on disk.
"""

import collections
import grp
import os
import pwd
import signal
import subprocess
import time

from . import procs
from .cyrus import CyrusUnavailable, _download, _run
from .dovecot import _make_traversable

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
CACHE = os.environ.get("MAILMOVE_IT_COURIER_CACHE", os.path.join(TOP, "_build", "courier"))
PACKAGES = ("courier-base", "courier-imap", "courier-pop", "courier-authlib",
            "courier-authlib-userdb", "courier-authdaemon")
RUN_AS = ("nobody", "nogroup")
# Maildir info letters of the IMAP system flags (Courier's, as Dovecot's).
FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
                "\\Deleted": "T"}

# Runs inside the new mount namespace: $1 the unpacked root, $2 the
# instance directory, $3 the IMAP port, $4 the POP3 port.
NAMESPACE_SCRIPT = r"""
set -e
root=$1 dir=$2 imap_port=$3 pop3_port=$4
mount --make-rprivate /
mount -t overlay overlay -o lowerdir=/etc,upperdir=$dir/etc-upper,workdir=$dir/etc-work /etc
mount -t overlay overlay -o lowerdir=$root/usr/lib:/usr/lib /usr/lib
mount -t tmpfs tmpfs /run
mkdir -p /run/courier/authdaemon
PATH=$root/usr/sbin:$PATH $root/usr/sbin/makeuserdb
/usr/lib/courier/courier-authlib/authdaemond >$dir/authdaemond.log 2>&1 &
for i in $(seq 100); do [ -S /run/courier/authdaemon/socket ] && break; sleep 0.1; done
# Courier 1.4 (Debian 13) does no ident lookups and lost -noidentlookup.
noident=
grep -qa noidentlookup $root/usr/sbin/couriertcpd && noident=-noidentlookup
tcpd="$root/usr/sbin/couriertcpd -address=127.0.0.1 -nodnslookup $noident -maxprocs=20 -maxperip=20"
(set -a; . /etc/courier/imapd; exec $tcpd $imap_port /usr/lib/courier/courier/imaplogin \
    $root/usr/bin/imapd Maildir) >$dir/imapd.log 2>&1 &
(set -a; . /etc/courier/pop3d; exec $tcpd $pop3_port /usr/lib/courier/courier/courierpop3login \
    /usr/lib/courier/courier/courierpop3d Maildir) >$dir/pop3d.log 2>&1 &
wait
"""


def private_root():
    """The unpacked Courier (fetched on first use); returns its root path."""
    debs = os.path.join(CACHE, "debs")
    root = os.path.join(CACHE, "root")
    os.makedirs(debs, exist_ok=True)
    _download(PACKAGES, debs)
    for deb in sorted(os.listdir(debs)):
        stamp = os.path.join(CACHE, "unpacked", deb)
        if deb.endswith(".deb") and not os.path.exists(stamp):
            _run(["dpkg", "-x", os.path.join(debs, deb), root])
            os.makedirs(os.path.dirname(stamp), exist_ok=True)
            open(stamp, "w").close()
    return root


def maildir_name(message, serial):
    """A Maildir file name for a message of (flags, internaldate)."""
    letters = "".join(sorted(FLAG_LETTERS[f] for f in message.flags if f in FLAG_LETTERS))
    return "%d.M%dP%d.courier-test:2,%s" % (message.internaldate, serial, os.getpid(), letters)


class CourierInstance:
    """A private Courier-IMAP + Courier POP3 on 127.0.0.1 (see the module
    docstring). Looks enough like a DovecotInstance for lib/clients.py:
    ports["imap"] and users (name -> User with .password)."""

    def __init__(self, workdir, name="courier", users=()):
        self.name = name
        self.root = os.path.join(workdir, name)
        self.users = {user.name: user for user in users}
        self.ports = {"imap": procs.free_port(), "pop3": procs.free_port()}
        self.courier_root = None
        self.process = None

    def _path(self, *parts):
        return os.path.join(self.root, *parts)

    def home(self, name):
        return self._path("home", name)

    def maildir(self, name, folder=()):
        """The Maildir of a folder: () for INBOX, else its levels below
        INBOX. (".Tief.Ebene 2")."""
        base = os.path.join(self.home(name), "Maildir")
        return os.path.join(base, "." + ".".join(folder)) if folder else base

    def url(self, protocol):
        return "%s://127.0.0.1:%d" % (protocol, self.ports[protocol])

    def _write_config(self):
        etc = self._path("etc-upper", "courier")
        os.makedirs(etc, exist_ok=True)
        os.makedirs(self._path("etc-work"), exist_ok=True)
        for settings in ("imapd", "pop3d"):
            with open(os.path.join(self.courier_root, "etc/courier", settings)) as src, \
                    open(os.path.join(etc, settings), "w") as dst:
                dst.write(src.read())
        with open(os.path.join(etc, "authdaemonrc"), "w") as f:
            f.write('authmodulelist="authuserdb"\ndaemons=2\n'
                    'authdaemonvar=/run/courier/authdaemon\nDEBUG_LOGIN=0\n'
                    'DEFAULTOPTIONS=""\nLOGGEROPTS=""\n')
        uid, gid = _ids()
        lines = []
        for user in self.users.values():
            hashed = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                                    input=user.password.encode(), capture_output=True,
                                    check=True).stdout.decode().strip()
            lines.append("%s\tuid=%d|gid=%d|home=%s|mail=%s|systempw=%s\n" % (
                user.name, uid, gid, self.home(user.name), self.maildir(user.name), hashed))
        userdb = os.path.join(etc, "userdb")
        with open(userdb, "w") as f:
            f.writelines(lines)
        os.chmod(userdb, 0o600)

    def _make_maildirs(self):
        for name in self.users:
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(self.maildir(name), sub), exist_ok=True)

    def make_folder(self, name, folder):
        """A folder's Maildir++ directory (levels below INBOX.)."""
        path = self.maildir(name, folder)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        open(os.path.join(path, "maildirfolder"), "a").close()
        self.fix_owner()
        return path

    def write_messages(self, name, messages, folder=(), unread_in_new=False):
        """Writes messages (corpus.Message: raw, flags, internaldate) into a
        folder with LF line ends, as Courier keeps them; unread ones go to
        new/ when unread_in_new. Returns the paths written."""
        path = self.make_folder(name, folder) if folder else self.maildir(name)
        written = []
        for serial, message in enumerate(messages):
            data = message.raw.replace(b"\r\n", b"\n")
            file_name = maildir_name(message, serial)
            if unread_in_new and "\\Seen" not in message.flags:
                file_name = file_name.split(":")[0]
                target = os.path.join(path, "new", file_name)
            else:
                target = os.path.join(path, "cur", file_name)
            with open(target, "wb") as f:
                f.write(data)
            os.utime(target, (message.internaldate, message.internaldate))
            written.append(target)
        self.fix_owner()
        return written

    def fix_owner(self):
        subprocess.run(["chown", "-R", "%s:%s" % RUN_AS, self._path("home")], check=True)

    def start(self):
        """Fetch Courier if needed, write its configuration and the users'
        Maildirs, start it in its own mount namespace."""
        self.courier_root = private_root()
        os.makedirs(self.root, exist_ok=True)
        self._write_config()
        self._make_maildirs()
        self.fix_owner()
        for name in self.users:
            _make_traversable(self.maildir(name))
        with open(self._path("namespace.log"), "wb") as log:
            self.process = subprocess.Popen(
                ["unshare", "-m", "bash", "-c", NAMESPACE_SCRIPT, "courier", self.courier_root,
                 self.root, str(self.ports["imap"]), str(self.ports["pop3"])],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            for protocol in ("imap", "pop3"):
                procs.wait_until(lambda: procs.port_accepts(self.ports[protocol]) or
                                 self.process.poll() is not None, 30,
                                 what="Courier %s on port %d" % (protocol, self.ports[protocol]))
                if self.process.poll() is not None:
                    raise CyrusUnavailable("Courier's namespace ended (%d): %s" % (
                        self.process.returncode, self.log_tail()))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """SIGKILL the whole session (instant, nothing to keep); the mounts
        go with the namespace."""
        if self.process is None:
            return
        procs.kill_session(self.process)
        self.process = None

    def log_tail(self, lines=20):
        """The end of the namespace script's, authdaemond's and the two
        servers' output (Courier logs there, not to syslog, here)."""
        parts = []
        for log in ("namespace.log", "authdaemond.log", "imapd.log", "pop3d.log"):
            path = self._path(log)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    tail = "".join(collections.deque(f, maxlen=lines)).rstrip("\n")
                if tail:
                    parts.append("%s:\n%s" % (log, tail))
        return "\n".join(parts)


def _ids():
    return pwd.getpwnam(RUN_AS[0]).pw_uid, grp.getgrnam(RUN_AS[1]).gr_gid


def wait_quiet(seconds=0.5):
    """Courier's POP3 server writes its changes when a session ends, after
    the client saw the connection close: give it a moment."""
    time.sleep(seconds)
