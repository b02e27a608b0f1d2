"""A cluster (issue 13): two Dovecot backends on loopback share one mail
directory and one job table in a real redis-server (Debian's package,
started here on a free loopback port), reached through Dovecot's dict API
(mailmove_dict = redis:...; on Dovecot 2.4 mailmove { dict redis { ... } },
which lib/dovecot.py writes from the same URI).

- cluster-same-user-both-backends: one user logs in on both backends at
  the same moment: one run on one backend, every message exactly once.
- cluster-status-from-either-backend: status -A, -s and -u from either
  backend list every job of the cluster, whichever backend ran it.
- cluster-many-users-worker-limit: MAILMOVE_IT_CLUSTER_USERS users (the
  issue's 2,000 by default; 500 on Dovecot 2.4, see BULK_COUNT), their
  logins sent to both backends 8 at a time, queued over both backends:
  all done, each message once,
  both backends ran moves, the cluster-wide worker limit
  (mailmove_cluster_workers) held at every sample of the shared table,
  and the backends' scans for unowned jobs (their debug lines: dict
  lookups, ms) cost on average under a tenth of the table's jobs.
- cluster-credentials-from-other-backend: `credentials set` on backend a
  (the admin then copies a's vault key file to b, as doc/cluster.md says);
  the move run by b logs in with it (the user's userdb has no legacy
  password); the password is in neither the shared store nor a log.
- cluster-pause-from-other-backend: status -F on the backend that does
  not run the move shows its folders; pause issued there stops the run there within the lease renewal
  interval (the lease goes, no message arrives afterwards); resume from
  that backend continues it in exactly one more run, every message once.
- cluster-single-server-joins: a third server c runs alone (its own
  journal and vault: one move done, credentials set for another user),
  then restarts with mailmove_dict: its job and credentials are in the
  shared table (status on a names them), its files renamed .imported; a
  second import (the file put back) adds nothing.
- cluster-kill-9-backend-takeover (last: it leaves a backend dead): kill -9
  of the master and processes of the backend running the move (usually A,
  where the login was), mid-move: the other takes the job up once the dead
  one's lease expired and finishes it from the checkpoint, nothing lost or
  duplicated.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from lib import admin, clients, compare, corpus, mailmove, procs
from lib.dovecot import DIALECT, LegacyInstance, TargetInstance, User, stop_all
from lib.scenario import check, check_equal, note, scenario

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"
LEGACY_PASSWORD = "legacy-Cluster-13"
DOMAIN = "cluster.test"
SAME = "alice@" + DOMAIN
KILLED = "kim@" + DOMAIN
PAUSED = "paula@" + DOMAIN
PAUSED_MESSAGES = 3000
# paula's move must still run when status -F and the pause reach it: an
# unloaded machine moved her 3,000 messages in 2 s, before the other
# backend's status -F saw a renewal. At 1 MB/s her ~30 MB take ~30 s.
PAUSED_PACE = {"userdb_mailmove_max_bytes_per_second": "1000000"}
# Its legacy password only in the credential vault (not in userdb).
VAULTED = "vera@" + DOMAIN
VAULTED_PASSWORD = "legacy-Vaulted-13-only"
# Moved by a single server that then joins the cluster.
JOINER = "jo@" + DOMAIN
JOINER_VAULTED = "jv@" + DOMAIN
STATUS_USERS = ["s%d@%s" % (i, DOMAIN) for i in range(1, 7)]
# The 2,000 (MAILMOVE_IT_CLUSTER_USERS overrides). On Dovecot 2.4
# 500: CI runs ./check.sh on 2.3 and then on 2.4 within 60 minutes (55
# with 500 on both), and 2,000 add about five minutes to a run; the 2.3
# run moves the 2,000, the 2.4 run the same scenario with fewer.
BULK_COUNT = int(os.environ.get("MAILMOVE_IT_CLUSTER_USERS",
                                "500" if DIALECT == "2.4" else "2000"))
BULK_USERS = ["b%04d@%s" % (i, DOMAIN) for i in range(BULK_COUNT)]
CLUSTER_WORKERS = 3
# Logins sent to each backend at the same moment (as users log in: not
# one after the other), under the service's 16 per uid.
LOGINS_AT_ONCE = 8
LEASE_TTL = 6
KILLED_MESSAGES = 4000


def skip_reason():
    """Why the cluster scenarios do not run here, or None: they run on
    Dovecot 2.3 and 2.4 (a mailmove { dict redis { ... } } block there)."""
    return None


class Redis:
    """A private redis-server on a free 127.0.0.1 port, no persistence."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "redis")
        self.port = procs.free_port()
        self.process = None
        self.lock = threading.Lock()
        self.conn = self.reader = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        log = open(os.path.join(self.dir, "redis.log"), "wb")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT)
        procs.wait_until(lambda: procs.port_accepts(self.port), 10, what="redis-server")

    def stop(self):
        if self.conn is not None:
            self.reader.close()
            self.conn.close()
            self.conn = self.reader = None
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def cli(self, *args):
        out = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port)] + list(args),
                             capture_output=True, timeout=30, check=True)
        return out.stdout.decode("utf-8", "replace")

    def keys(self, pattern):
        return [line for line in self.cli("--scan", "--pattern", pattern).splitlines() if line]

    def command(self, *args):
        """One command on a connection kept open (the samplers ask every
        0.3 s: a redis-cli process each time was a tenth of the machine's
        CPU at 1,000 users); the reply as bytes, or a list of them."""
        with self.lock:
            if self.conn is None:
                self.conn = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                self.reader = self.conn.makefile("rb")
            parts = [b"*%d\r\n" % len(args)]
            for arg in args:
                data = arg.encode() if isinstance(arg, str) else arg
                parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
            self.conn.sendall(b"".join(parts))
            return self._reply()

    def _reply(self):
        line = self.reader.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"$":
            return None if int(rest) < 0 else self.reader.read(int(rest) + 2)[:-2]
        if kind == b"*":
            return [self._reply() for _ in range(int(rest))]
        if kind == b"-":
            raise AssertionError("redis: %s" % rest.decode("utf-8", "replace"))
        return rest

    def states(self, users):
        """The state of each of users' jobs now, "" for none (their names
        need no %-escaping in keys)."""
        keys = ["mailmove/job/" + user for user in users]
        states = []
        for i in range(0, len(keys), 1000):
            for value in self.command("MGET", *keys[i:i + 1000]):
                fields = [f for f in (value or b"").split(b"\t") if f.startswith(b"state=")]
                states.append(fields[0][len("state="):].decode() if fields else "")
        return states

    def running_jobs(self, users):
        """How many of users' jobs are in state running now."""
        return self.states(users).count("running")

    def uri(self):
        return "redis:host=127.0.0.1:port=%d" % self.port


def start_servers(world):
    """The legacy server, both backends and the inspector of a World."""
    world.legacy.start()
    for backend in world.backends:
        backend.start()
    world.inspector.start()


def stop_servers(world):
    stop_all([world.inspector] + world.backends + [world.legacy])


class World:
    def __init__(self, workdir):
        self.workdir = workdir
        self.redis = Redis(workdir)
        every = [SAME, KILLED, PAUSED, JOINER, JOINER_VAULTED] + STATUS_USERS + BULK_USERS
        self.legacy = LegacyInstance(workdir, "cluster-legacy",
                                     users=[User(u, LEGACY_PASSWORD) for u in every] +
                                     [User(VAULTED, VAULTED_PASSWORD)])
        self.backends = []
        for name in ("a", "b"):
            users = [User(u, "target-pw", userdb_mailmove_source_password=LEGACY_PASSWORD,
                          **PAUSED_PACE if u == PAUSED else {})
                     for u in every] + [User(VAULTED, "target-pw")]
            backend = TargetInstance(
                workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path,
                name="cluster-" + name, users=users,
                plugin_settings={
                    "mailmove_dict": self.redis.uri(),
                    "mailmove_backend": name,
                    "mailmove_lease_ttl": "%ds" % LEASE_TTL,
                    "mailmove_cluster_scan_interval": "2s",
                    "mailmove_cluster_workers": str(CLUSTER_WORKERS),
                    "mailmove_max_workers": "4",
                    "mailmove_retry_delay": "2s",
                    "mailmove_pass_interval": "0",
                    # Each backend its own path; the admin copies the file.
                    "mailmove_vault_key_file": os.path.join(workdir, "vault-%s.key" % name),
                })
            self.backends.append(backend)
        self.a, self.b = self.backends
        # One mail directory for both, as on shared storage.
        self.b.mail_root = self.a.mail_root
        self.inspector = self.a.inspector(workdir)

    def start(self):
        self.redis.start()
        gen = corpus.Corpus(seed=1313)
        corpus.write_maildir(self.legacy.maildir(SAME), gen.inbox(60, recipient=SAME))
        corpus.write_maildir(self.legacy.maildir(KILLED),
                             gen.inbox(KILLED_MESSAGES, recipient=KILLED, max_attachment=20_000))
        corpus.write_maildir(self.legacy.maildir(VAULTED), gen.inbox(8, recipient=VAULTED))
        corpus.write_maildir(self.legacy.maildir(JOINER), gen.inbox(6, recipient=JOINER))
        corpus.write_maildir(self.legacy.maildir(PAUSED),
                             gen.inbox(PAUSED_MESSAGES, recipient=PAUSED, max_attachment=20_000))
        for user in STATUS_USERS:
            corpus.write_maildir(self.legacy.maildir(user), gen.inbox(5, recipient=user))
        small = gen.inbox(2, recipient=BULK_USERS[0] if BULK_USERS else SAME,
                          max_attachment=2_000)
        for user in BULK_USERS:
            corpus.write_maildir(self.legacy.maildir(user), small)
        start_servers(self)

    def stop(self):
        stop_servers(self)
        self.redis.stop()

    def logs(self):
        return [("backend a log", self.a.log_tail(40, skip=r"Debug: mailmove: [CS]: ")),
                ("backend b log", self.b.log_tail(40, skip=r"Debug: mailmove: [CS]: "))]


def rows_by_user(backend, *selector):
    return {row["user"]: row for row in mailmove.status_rows(backend, *selector)}


def wait_states(world, users, states, timeout, backend=None):
    """Waits until every user's job is in one of states (read on backend,
    default a); returns the rows."""
    backend = backend or world.a
    wanted = set(users)
    rows = {}

    def settled():
        nonlocal rows
        rows = {u: r for u, r in rows_by_user(backend, "-A").items() if u in wanted}
        return len(rows) == len(wanted) and all(r["state"] in states for r in rows.values())
    try:
        # status -A of thousands of jobs is work for the service: not too often.
        procs.wait_until(settled, timeout, interval=0.5 if len(wanted) < 50 else 3,
                         what="jobs settled")
    except TimeoutError:
        pending = sorted((u, rows.get(u, {}).get("state", "none")) for u in wanted
                         if rows.get(u, {}).get("state") not in states)
        check(False, "%d jobs not in %s after %d s, e.g. %s", len(pending), states, timeout,
              pending[:5])
    return rows


def check_moved_once(world, user):
    legacy = compare.mailbox_records(world.legacy, user)
    moved = compare.mailbox_records(world.inspector, user)
    problems = compare.diff(legacy, moved)
    check(not problems, "%s: the moved mailbox differs from the legacy one (%d vs %d "
          "messages):\n%s", user, len(legacy), len(moved), compare.summarize(problems))
    return len(moved)


def started_lines(backend, user):
    return [line for line in backend.log_since().splitlines()
            if "Move handed to a worker" in line and user + ": " in line]


@scenario("cluster-same-user-both-backends")
def same_user(world):
    barrier = threading.Barrier(2)
    errors = []

    def login(backend):
        try:
            barrier.wait(5)
            with clients.imap_session(backend, SAME, "target-pw"):
                pass
        except Exception as error:  # reported below
            errors.append(error)
    threads = [threading.Thread(target=login, args=(b,)) for b in world.backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check(not errors, "IMAP logins failed: %s", errors)
    row = wait_states(world, [SAME], ("done",), 120)[SAME]
    runs = {b.name: len(started_lines(b, SAME)) for b in world.backends}
    backed_off = {b.name: sum(SAME + ": the move runs on backend" in line
                              for line in b.log_since().splitlines()) for b in world.backends}
    note("claims that found the other backend's lease: %s", backed_off)
    note("%s logged in on both backends at once: runs per backend %s, job %s attempts=%s "
         "backend=%s", SAME, runs, row["state"], row["attempts"], row.get("backend"))
    check_equal(sum(runs.values()), 1, "runs of %s over both backends" % SAME)
    check_equal(int(row["attempts"]), 1, "attempts in the shared job table")
    count = check_moved_once(world, SAME)
    note("%d messages, each exactly once", count)


@scenario("cluster-status-from-either-backend")
def status_everywhere(world):
    for i, user in enumerate(STATUS_USERS):
        backend = world.backends[i % 2]
        admin.notify_logins(backend, [(user, ["source=" + backend.source_url])])
    wait_states(world, STATUS_USERS, ("done",), 120)
    everyone = set(STATUS_USERS) | {SAME}
    views = {}
    for backend in world.backends:
        rows = rows_by_user(backend, "-A")
        views[backend.name] = rows
        missing = everyone - set(rows)
        check(not missing, "status -A on %s lacks %s", backend.name, sorted(missing))
        for user in STATUS_USERS:
            check_equal(rows[user]["state"], "done", "%s's state seen from %s" % (
                user, backend.name))
    view_a, view_b = views[world.a.name], views[world.b.name]
    ran_on = {view_a[u]["backend"] for u in STATUS_USERS}
    note("status -A from either backend: %d rows each; the moves ran on %s", len(view_a),
         sorted(ran_on))
    check_equal({u: r["state"] for u, r in view_a.items()},
                {u: r["state"] for u, r in view_b.items()}, "the two backends' status -A")
    for backend in world.backends:
        one = mailmove.status_rows(backend, "-u", STATUS_USERS[1])
        check_equal(len(one), 1, "status -u on %s" % backend.name)
        summary = admin.mailmove(backend, "status", "-A", "-s")
        check_equal(summary.code, 0, "status -s exit code on %s" % backend.name)
        total = [r for r in summary.rows if r["domain"] == "*"]
        check(total and int(total[0]["done"]) >= len(everyone),
              "status -s on %s counts %s done, expected at least %d", backend.name,
              total[0]["done"] if total else None, len(everyone))


SCAN_LINE = re.compile(r"Scan of the shared job table \(([a-z ]+)\): (\d+) lookups, (\d+) jobs "
                       r"no backend runs, (\d+) ms")


def scan_costs(backend, mark):
    """The scans logged since mark: {kind: [(lookups, ms), ...]}."""
    costs = {}
    for kind, lookups, _, ms in SCAN_LINE.findall(backend.log_since(mark)):
        costs.setdefault(kind, []).append((int(lookups), int(ms)))
    return costs


def wait_done_in_table(world, users, timeout):
    """Waits until every user's job is done, read straight from redis: a
    status -A of thousands of jobs every few seconds would be work for the
    backend it asks, and slow the run it measures."""
    states = []

    def done():
        nonlocal states
        states = world.redis.states(users)
        return all(state == "done" for state in states)
    try:
        procs.wait_until(done, timeout, interval=2, what="jobs done")
    except TimeoutError:
        pending = [(u, s) for u, s in zip(users, states) if s != "done"]
        check(False, "%d jobs not done after %d s, e.g. %s", len(pending), timeout,
              pending[:5])


# 2,000 users took 351-395 s at load 8-10 here: room for a slower machine.
@scenario("cluster-many-users-worker-limit", timeout=1500)
def many_users(world):
    if not BULK_USERS:
        note("MAILMOVE_IT_CLUSTER_USERS=0: skipped")
        return
    samples = []
    stop = threading.Event()

    def sample():
        # Straight from the shared table, not through the service: jobs
        # in state running at this moment.
        while not stop.is_set():
            samples.append(world.redis.running_jobs(BULK_USERS))
            stop.wait(0.3)
    sampler = threading.Thread(target=sample)
    marks = {b.name: len(b.log_since().encode()) for b in world.backends}
    start = time.monotonic()
    half = [BULK_USERS[0::2], BULK_USERS[1::2]]
    sampler.start()
    try:
        senders = [threading.Thread(target=admin.notify_logins, args=(
            backend, [(u, ["source=" + backend.source_url]) for u in users]),
            kwargs={"at_once": LOGINS_AT_ONCE})
            for backend, users in zip(world.backends, half)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        queued = time.monotonic() - start
        wait_done_in_table(world, BULK_USERS, 2400)
    finally:
        stop.set()
        sampler.join()
    elapsed = time.monotonic() - start
    # The rows as every admin sees them (and the time of one status -A).
    timed = time.monotonic()
    every = mailmove.status_rows(world.b, "-A")
    status_seconds = time.monotonic() - timed
    rows = {r["user"]: r for r in every if r["user"] in set(BULK_USERS)}
    check_equal(len(rows), len(BULK_USERS), "bulk users in status -A on b")
    check_equal({r["state"] for r in rows.values()}, {"done"}, "their states in status -A")
    by_backend = {}
    for row in rows.values():
        by_backend[row["backend"]] = by_backend.get(row["backend"], 0) + 1
    attempts = sum(int(r["attempts"]) for r in rows.values())
    # Users queued on one backend and run by the other: a backend's full
    # scan (every 10th) puts every queued job in its own queue, and one
    # whose list looked dead (a renewal later than the lease) had its
    # queue taken up.
    crossed = sum(rows[u]["backend"] != want for users, want in zip(half, ("a", "b"))
                  for u in users)
    # Runs at once in the whole cluster: never more than its worker slots.
    peak = max(samples) if samples else 0
    note("%d users queued over both backends in %.1f s, all done after %.1f s "
         "(%.1f moves/s); moves per backend %s (%d run by the other backend than the one "
         "logged in to); attempts %d; %d samples of the shared "
         "table, at most %d runs at once (mailmove_cluster_workers=%d, mailmove_max_workers=4 "
         "per backend)", len(BULK_USERS), queued, elapsed, len(BULK_USERS) / elapsed,
         by_backend, crossed, attempts, len(samples), peak, CLUSTER_WORKERS)
    check(peak <= CLUSTER_WORKERS, "%d runs at once, above the cluster's %d", peak,
          CLUSTER_WORKERS)
    check(peak >= 2, "never more than %d run at once: the limit was not exercised", peak)
    check_equal(set(by_backend), {"a", "b"}, "backends that ran moves")
    check_equal(attempts, len(BULK_USERS), "runs of the bulk users (one each)")
    for user in BULK_USERS[:: max(1, len(BULK_USERS) // 20)]:
        check_moved_once(world, user)
    # A slot claim that backed off (its write came late, a loaded
    # machine) leaves its write to expire: held by no run, free once its
    # expiry passes, as claims read it. None may still be live a lease
    # time after the last move.
    def live_slots():
        now = time.time()
        return [k for k in world.redis.keys("mailmove/slot/*")
                if int((world.redis.cli("GET", k).split("\t") + ["0", "0"])[1] or 0) > now]
    try:
        procs.wait_until(lambda: not live_slots(), LEASE_TTL + 5, interval=0.5,
                         what="worker slots free")
    except TimeoutError:
        check(False, "worker slots still held a lease time after the last move: %s",
              live_slots())
    note("slot keys left to expire (backed-off claims): %d",
         len(world.redis.keys("mailmove/slot/*")))
    # What the backends' scans for unowned jobs cost: the published
    # schedules (most scans) against every job (every 10th).
    table = len(rows) + 20
    cheap_means = []
    for backend in world.backends:
        costs = scan_costs(backend, marks[backend.name])
        for kind, runs in sorted(costs.items()):
            lookups = [n for n, _ in runs]
            note("backend %s, scans of %s: %d, lookups per scan mean %.1f max %d, "
                 "ms per scan mean %.0f max %d", backend.name, kind, len(runs),
                 sum(lookups) / len(runs), max(lookups), sum(ms for _, ms in runs) / len(runs),
                 max(ms for _, ms in runs))
        cheap = [n for n, _ in costs.get("published schedules", [])]
        check(cheap, "backend %s logged no scan of the published schedules", backend.name)
        cheap_means.append(sum(cheap) / max(1, len(cheap)))
    check(max(cheap_means) < table / 10, "scans cost %.1f lookups each on average, the table "
          "has ~%d jobs: not the published schedules' cost", max(cheap_means), table)
    # Figures for doc/cluster.md: what a job costs in redis, and status -A.
    job_key = "mailmove/job/" + BULK_USERS[0]
    record = world.redis.cli("GET", job_key).rstrip("\n")
    key_bytes = world.redis.cli("MEMORY", "USAGE", job_key).strip()
    used = [line for line in world.redis.cli("INFO", "memory").splitlines()
            if line.startswith("used_memory:")]
    note("status -A from backend b: %d rows in %.2f s; one job record %d bytes, its key in "
         "redis %s bytes (MEMORY USAGE); redis %s with %d keys", len(every), status_seconds,
         len(record), key_bytes, used[0] if used else "?",
         int(world.redis.cli("DBSIZE").strip() or 0))


@scenario("cluster-credentials-from-other-backend")
def credentials_elsewhere(world):
    result = admin.mailmove(world.a, "credentials", "set", "-u", VAULTED,
                            stdin=VAULTED_PASSWORD.encode())
    check_equal(result.code, admin.EX_OK, "credentials set on backend a exit code")
    key_a = os.path.join(world.workdir, "vault-a.key")
    key_b = os.path.join(world.workdir, "vault-b.key")
    check(os.path.exists(key_a) and not os.path.exists(key_b),
          "the vault key: made on a (%s), not on b (%s)", os.path.exists(key_a),
          os.path.exists(key_b))
    # The admin gives b the same key file (doc/cluster.md).
    shutil.copy2(key_a, key_b)
    check_equal(mailmove.status(world.b, VAULTED)["credentials"], "admin",
                "the credentials b's status names")
    # Only b may run it: a is stopped meanwhile (a's scan claimed the job
    # first three times in a row in one loaded check, with start and
    # reset issued on b), and started again afterwards.
    world.a.stop()
    try:
        result = admin.mailmove(world.b, "start", "-u", VAULTED)
        check_equal(result.code, admin.EX_OK, "start on b exit code")
        row = wait_states(world, [VAULTED], ("done", "failed", "auth-failed"), 120,
                          backend=world.b)[VAULTED]
    finally:
        world.a.start()
    note("%s's run (backend, outcome): %s", VAULTED, (row["backend"], row["state"]))
    check_equal((row["backend"], row["state"]), ("b", "done"),
                "the run on backend b (credentials set on a)")
    count = check_moved_once(world, VAULTED)
    note("backend b logged in with the credentials set on a: %d messages moved", count)
    stored = world.redis.cli("--scan", "--pattern", "mailmove/cred*").split()
    check(stored, "no credential keys in redis")
    for key in stored + ["mailmove/vault-check"]:
        value = world.redis.cli("GET", key)
        check(VAULTED_PASSWORD not in value, "the legacy password in clear in redis %s", key)
    for backend in world.backends:
        check(VAULTED_PASSWORD not in backend.log_since(),
              "the legacy password in backend %s's log", backend.name)
    note("redis keys of the shared vault: %s", sorted(stored))


@scenario("cluster-pause-from-other-backend")
def pause_elsewhere(world):
    admin.notify_logins(world.a, [(PAUSED, ["source=" + world.a.source_url])])
    row = mailmove.JobWatch(world.b, PAUSED).wait(
        lambda r: r["state"] == "running" and r["messages_done"] >= 200, 120, "a move under way")
    runner = world.a if row["backend"] == "a" else world.b
    other = world.b if runner is world.a else world.a
    # status -F on the other backend: the rows the runner wrote at its
    # last lease renewal (every LEASE_TTL/3 s).
    folders = {}

    def other_sees_folders():
        nonlocal folders
        folders = mailmove.folder_rows(other, PAUSED)
        return "INBOX" in folders
    procs.wait_until(other_sees_folders, LEASE_TTL, interval=0.5,
                     what="status -F of the running move on the other backend")
    note("status -F on %s of the move running on %s: %s", other.name, runner.name,
         {name: (r.get("state"), r.get("messages_done")) for name, r in folders.items()})
    marks = {b.name: b.log_mark() for b in world.backends}
    issued = time.time()
    result = admin.mailmove(other, "pause", "-u", PAUSED)
    check_equal(result.code, admin.EX_OK, "pause on backend %s exit code" % other.name)
    check_equal(result.rows[0]["state"], "paused", "the state pause on %s reports" % other.name)
    note("pause on backend %s of the move running on %s (%s of %d messages): %s",
         other.name, runner.name, row["messages_done"], PAUSED_MESSAGES,
         result.rows[0].get("reason"))
    # The bound: one lease renewal interval (LEASE_TTL/3 = 2 s), plus
    # slack for this loaded machine.
    bound = LEASE_TTL // 3 + 8
    line = runner.wait_for_log(re.escape(PAUSED) + r": .*Paused by an admin",
                               mark=marks[runner.name], timeout=bound)
    stopped_after = time.time() - issued
    note("backend %s stopped the run %.1f s after the pause (bound %d s): %s", runner.name,
         stopped_after, bound, line.strip()[-100:])
    check(stopped_after <= bound, "stopped after %.1f s, above %d s", stopped_after, bound)
    procs.wait_until(lambda: not world.redis.keys("mailmove/lease/" + PAUSED), 5,
                     what="the lease of the paused run freed")
    # The worker is gone: nothing more arrives.
    time.sleep(2)
    before = clients.imap_status(world.inspector, PAUSED)["MESSAGES"]
    time.sleep(4)
    after = clients.imap_status(world.inspector, PAUSED)["MESSAGES"]
    check_equal(after, before, "messages in %s's INBOX 4 s apart while paused" % PAUSED)
    check(before < PAUSED_MESSAGES, "the move finished before the pause took effect (%d)",
          before)
    check(not world.redis.keys("mailmove/folders/" + PAUSED),
          "the folder rows of the stopped run left in redis")
    for backend in world.backends:
        check_equal(mailmove.status(backend, PAUSED)["state"], "paused",
                    "state seen from %s while paused" % backend.name)
    marks = {b.name: b.log_mark() for b in world.backends}
    result = admin.mailmove(other, "resume", "-u", PAUSED)
    check_equal(result.code, admin.EX_OK, "resume on backend %s exit code" % other.name)
    row = wait_states(world, [PAUSED], ("done",), 300)[PAUSED]
    runs = {b.name: len([line for line in b.log_since(marks[b.name]).splitlines()
                         if "Move handed to a worker" in line and PAUSED + ": " in line])
            for b in world.backends}
    note("paused with %d of %d messages moved; resumed on %s: runs after the resume per "
         "backend %s, done on %s, attempts %s", before, PAUSED_MESSAGES, other.name, runs,
         row["backend"], row["attempts"])
    check_equal(sum(runs.values()), 1, "runs after the resume over both backends")
    check_equal(int(row["attempts"]), 2, "attempts (one before the pause, one after)")
    count = check_moved_once(world, PAUSED)
    note("%s: %d messages, each exactly once", PAUSED, count)


def find_state_file(backend, name):
    found = [os.path.join(d, f) for d, _, files in os.walk(backend.state_dir) for f in files
             if f == name]
    return found[0] if found else None


@scenario("cluster-single-server-joins")
def single_server_joins(world):
    key_c = os.path.join(world.workdir, "vault-c.key")
    key_a = os.path.join(world.workdir, "vault-a.key")
    if os.path.exists(key_a):
        # The cluster's key, as the admin copies it (doc/cluster.md).
        shutil.copy2(key_a, key_c)
    c = TargetInstance(
        world.workdir, world.legacy.url("imaps"), ca_file=world.legacy.cert_path,
        name="cluster-c", users=[
            User(JOINER, "target-pw", userdb_mailmove_source_password=LEGACY_PASSWORD),
            User(JOINER_VAULTED, "target-pw")],
        plugin_settings={"mailmove_vault_key_file": key_c, "mailmove_pass_interval": "0"})
    c.mail_root = world.a.mail_root
    try:
        c.start()
        admin.notify_logins(c, [(JOINER, ["source=" + c.source_url])])
        row = mailmove.JobWatch(c, JOINER).wait(lambda r: r["state"] == "done", 120,
                                                "the move on the single server")
        result = admin.mailmove(c, "credentials", "set", "-u", JOINER_VAULTED,
                                stdin=LEGACY_PASSWORD.encode())
        check_equal(result.code, admin.EX_OK, "credentials set on c alone")
        check(not world.redis.keys("mailmove/job/" + JOINER), "c alone wrote to redis")
        c.stop()
        settings = dict(world.a.plugin_settings)
        settings.update({"mailmove_backend": "c", "mailmove_vault_key_file": key_c})
        c.plugin_settings = settings
        mark = c.log_mark()
        c.start()
        line = c.wait_for_log(r"Imported the local job journal", mark=mark, timeout=30)
        vault_line = c.wait_for_log(r"Imported the local credential vault", mark=mark,
                                    timeout=5)
        note("c joined the cluster: %s | %s", line[line.index("Imported"):].split(";")[0],
             vault_line[vault_line.index("Imported"):].split(";")[0])
        check("1 jobs" in line, "the import line: %s", line.strip())
        check("1 records" in vault_line, "the vault import line: %s", vault_line.strip())
        journal = find_state_file(c, "jobs.journal.imported")
        check(journal and not os.path.exists(journal[:-len(".imported")]),
              "the journal renamed .imported: %s", journal)
        check(find_state_file(c, "credentials.vault.imported"), "the vault renamed .imported")
        seen = mailmove.status(world.a, JOINER)
        check_equal((seen["state"], seen.get("backend", ""), int(seen["messages_done"])),
                    ("done", "", 6), "c's job seen from a (state, backend, messages)")
        check_equal(mailmove.status(world.b, JOINER_VAULTED)["credentials"], "admin",
                    "the credentials c stored, seen from b")
        # Idempotent: the journal put back and imported again adds nothing.
        c.stop()
        os.rename(journal, journal[:-len(".imported")])
        mark = c.log_mark()
        c.start()
        line = c.wait_for_log(r"Imported the local job journal", mark=mark, timeout=30)
        note("imported again: %s", line[line.index("Imported"):].split(";")[0])
        check("0 jobs, 0 windows, 0 domains" in line,
              "the second import: %s", line.strip())
        check_equal(mailmove.status(world.a, JOINER)["attempts"], row["attempts"],
                    "attempts of c's job after the second import")
    finally:
        c.stop()


@scenario("cluster-kill-9-backend-takeover")
def kill_backend(world):
    admin.notify_logins(world.a, [(KILLED, ["source=" + world.a.source_url])])
    watch = mailmove.JobWatch(world.b, KILLED)
    row = watch.wait(lambda r: r["state"] == "running" and r["messages_done"] >= 200, 120,
                     "a move under way")
    # Usually a, where the login was; b's scan may claim a queued job
    # first on a loaded machine. Whichever runs it is the one killed.
    check(row.get("backend") in ("a", "b"), "the backend that runs the move: %r",
          row.get("backend"))
    dead, alive = (world.a, world.b) if row["backend"] == "a" else (world.b, world.a)
    dead_name, alive_name = row["backend"], "b" if row["backend"] == "a" else "a"
    done_before = row["messages_done"]
    mark = alive.log_mark()
    # The lease the running backend's last renewal wrote: owner, expiry
    # (unix seconds), user.
    lease = world.redis.cli("GET", "mailmove/lease/" + KILLED).rstrip("\n").split("\t")
    check(len(lease) == 3 and lease[0] == dead_name, "%s's lease of %s: %r", dead_name,
          KILLED, lease)
    expires = int(lease[1])
    # A dead backend: its master and every process of it, at once.
    tree = [dead.master_pid] + procs.descendants(dead.master_pid)
    os.kill(dead.master_pid, signal.SIGKILL)
    for pid in tree[1:]:
        procs.kill_quietly(pid, signal.SIGKILL)
    killed_at = time.time()
    dead.master_pid = None
    note("killed backend %s (%d processes) with %d of %d messages moved; its lease expires "
         "%.1f s later", dead_name, len(tree), done_before, KILLED_MESSAGES,
         expires - killed_at)
    # Until the lease expires nobody may take the move up.
    if expires - 1 > time.time():
        time.sleep(expires - 1 - time.time())
    early = [line for line in alive.log_since(mark).splitlines() if "Taken up" in line]
    check(not early, "backend %s took the move up before %s's lease expired: %s",
          alive_name, dead_name, early)
    line = alive.wait_for_log(r"Taken up by backend %s: the lease of backend %s expired"
                              % (alive_name, dead_name), mark=mark, timeout=LEASE_TTL + 30)
    taken_after = time.time() - killed_at
    row = wait_states(world, [KILLED], ("done",), 300, backend=alive)[KILLED]
    note("backend %s took the job up %.1f s after the kill (lease %d s, renewed every %d s, "
         "scan every 2 s): %s", alive_name, taken_after, LEASE_TTL, LEASE_TTL // 3,
         line.strip()[-110:])
    check_equal(row["backend"], alive_name, "the backend that finished the move")
    count = check_moved_once(world, KILLED)
    note("%s: done on %s, attempts %s, %d messages each exactly once", KILLED, alive_name,
         row["attempts"], count)
    check(shutil.which(REDIS_CLI) is not None, "redis-cli missing")
