"""The cluster's shared job table in PostgreSQL (issue 13): the same two
backends on one mail directory as test_cluster.py, but the table is
PostgreSQL (Debian's postgresql, a private cluster started here on a unix
socket in the work directory) reached through Dovecot's dict process and
its SQL driver (dovecot-pgsql): mailmove_dict = proxy::mailmove, the
schema applied with doc/cluster-sql/mailmove-cluster.sql (twice: it is the
migration script too) and the map of doc/cluster-sql/dict-sql.conf.ext.

- cluster-pgsql-same-user-both-backends: scenario (a) on PostgreSQL.
- cluster-pgsql-status-from-either-backend: scenario (c) on PostgreSQL;
  then `credentials set` on a: b's status names the stored credentials
  (the shared vault's row and index through the SQL map), the row holds
  no password in clear.
"""

import glob
import os
import subprocess

from lib import admin, corpus, mailmove, procs
from lib.dovecot import LegacyInstance, TargetInstance, User
from lib.scenario import check, check_equal, note, scenario

import test_cluster
from test_cluster import LEGACY_PASSWORD, SAME, STATUS_USERS

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMA = os.path.join(TOP, "doc", "cluster-sql", "mailmove-cluster.sql")
DICT_MAP = os.path.join(TOP, "doc", "cluster-sql", "dict-sql.conf.ext")


def pg_bin(name):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    if not found:
        raise RuntimeError("PostgreSQL's %s is missing (apt-get install postgresql)" % name)
    return found[-1]


def skip_reason():
    """Why these scenarios do not run here, or None."""
    if test_cluster.DIALECT == "2.4":
        return ("Dovecot 2.4: PostgreSQL and dovecot-pgsql are not in the Debian 13 root, and the "
                "harness does not write 2.4's dict_server { dict mailmove { driver = sql } } form "
                "(doc/cluster.md has it); the redis table runs on 2.4 (test_cluster), "
                "./check.sh runs these on 2.3")
    return test_cluster.skip_reason()


class Postgres:
    """A private PostgreSQL cluster owned by the postgres user, listening
    only on a unix socket in its directory."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pg")
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = os.path.join(self.dir, "run")
        self.port = procs.free_port()

    def as_postgres(self, argv, input=None):
        return subprocess.run(["runuser", "-u", "postgres", "--"] + argv, input=input,
                              capture_output=True, timeout=120, check=True)

    def start(self):
        os.makedirs(self.socket_dir, exist_ok=True)
        subprocess.run(["chown", "-R", "postgres:postgres", self.dir], check=True)
        os.chmod(self.socket_dir, 0o755)
        self.as_postgres([pg_bin("initdb"), "-D", self.data, "--auth=trust", "-U", "postgres",
                          "--no-sync"])
        self.as_postgres([pg_bin("pg_ctl"), "-D", self.data, "-w", "-l",
                          os.path.join(self.dir, "postgres.log"), "-o",
                          "-c listen_addresses='' -c unix_socket_directories=%s -p %d "
                          "-c fsync=off" % (self.socket_dir, self.port), "start"])
        self.psql("postgres", "CREATE DATABASE mailmove")

    def psql(self, database, sql=None, file=None):
        argv = [pg_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir,
                "-p", str(self.port), "-U", "postgres", "-d", database, "-At"]
        argv += ["-f", file] if file else ["-c", sql]
        return self.as_postgres(argv).stdout.decode()

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(["runuser", "-u", "postgres", "--", pg_bin("pg_ctl"), "-D",
                            self.data, "-m", "immediate", "stop"], capture_output=True,
                           timeout=60)

    def connect_string(self):
        return "host=%s port=%d dbname=mailmove user=postgres" % (self.socket_dir, self.port)


class SqlDictBackend(TargetInstance):
    """A backend whose dict process serves the mailmove dict from SQL."""

    def __init__(self, *args, dict_map=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.dict_map = dict_map

    def _extra_config(self):
        return super()._extra_config() + "dict {\n  mailmove = pgsql:%s\n}\n" % self.dict_map


class World:
    def __init__(self, workdir):
        self.workdir = workdir
        self.pg = Postgres(workdir)
        every = [SAME] + STATUS_USERS
        self.legacy = LegacyInstance(workdir, "pgcluster-legacy",
                                     users=[User(u, LEGACY_PASSWORD) for u in every])
        self.dict_map = os.path.join(workdir, "dict-mailmove-sql.conf.ext")
        self.backends = []
        for name in ("a", "b"):
            users = [User(u, "target-pw", userdb_mailmove_source_password=LEGACY_PASSWORD)
                     for u in every]
            self.backends.append(SqlDictBackend(
                workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path,
                name="pgcluster-" + name, users=users, dict_map=self.dict_map,
                plugin_settings={
                    "mailmove_dict": "proxy::mailmove",
                    "mailmove_backend": name,
                    "mailmove_lease_ttl": "6s",
                    "mailmove_cluster_scan_interval": "2s",
                    "mailmove_retry_delay": "2s",
                    "mailmove_pass_interval": "0",
                }))
        self.a, self.b = self.backends
        self.b.mail_root = self.a.mail_root
        self.inspector = self.a.inspector(workdir)

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self.pg.start()
        # The schema twice: the second run is the migration of an
        # up-to-date database, which must change nothing and not fail.
        for _ in range(2):
            self.pg.psql("mailmove", file=SCHEMA)
        check_equal(self.pg.psql("mailmove", "SELECT version FROM mailmove_schema").strip(),
                    "2", "schema version")
        with open(DICT_MAP) as f:
            text = f.read()
        text = "\n".join("connect = " + self.pg.connect_string()
                         if line.startswith("connect =") else line
                         for line in text.splitlines()) + "\n"
        with open(self.dict_map, "w") as f:
            f.write(text)
        os.chmod(self.dict_map, 0o644)
        gen = corpus.Corpus(seed=1414)
        corpus.write_maildir(self.legacy.maildir(SAME), gen.inbox(40, recipient=SAME))
        for user in STATUS_USERS:
            corpus.write_maildir(self.legacy.maildir(user), gen.inbox(5, recipient=user))
        test_cluster.start_servers(self)

    def stop(self):
        test_cluster.stop_servers(self)
        self.pg.stop()

    def logs(self):
        return test_cluster.World.logs(self)


@scenario("cluster-pgsql-same-user-both-backends")
def same_user(world):
    test_cluster.same_user(world)
    rows = world.pg.psql("mailmove", "SELECT count(*) FROM mailmove_job").strip()
    leases = world.pg.psql("mailmove", "SELECT count(*) FROM mailmove_lease").strip()
    note("PostgreSQL: %s job rows, %s leases left", rows, leases)
    check_equal(leases, "0", "leases left after the move")


@scenario("cluster-pgsql-status-from-either-backend")
def status_everywhere(world):
    test_cluster.status_everywhere(world)
    rows = int(world.pg.psql("mailmove", "SELECT count(*) FROM mailmove_job").strip())
    check_equal(rows, len(STATUS_USERS) + 1, "job rows in PostgreSQL")
    user = STATUS_USERS[0]
    result = admin.mailmove(world.a, "credentials", "set", "-u", user,
                            stdin=LEGACY_PASSWORD.encode())
    check_equal(result.code, admin.EX_OK, "credentials set on a exit code")
    check_equal(mailmove.status(world.b, user)["credentials"], "admin",
                "the credentials b's status names")
    stored = world.pg.psql("mailmove", "SELECT scope || ' ' || record FROM mailmove_credential")
    check(stored.startswith(user + " ") and LEGACY_PASSWORD not in stored,
          "the mailmove_credential rows: %r", stored[:200])
    index = world.pg.psql("mailmove", "SELECT count(*) FROM mailmove_credential_index").strip()
    note("PostgreSQL: the credentials set on a are one sealed row, %s index rows; b's status "
         "names them", index)
