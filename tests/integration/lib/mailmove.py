"""Reading `doveadm mailmove status` and waiting for a user's job.

The scenarios observe the product only the way an admin does: through
`doveadm -c TARGET -f json mailmove status`, whose rows have the fields
user, state, source, started, finished, folders_done, folders_total,
messages_done, messages_total, bytes_done, bytes_total, last_error.
"""

import datetime
import json
import re

from . import procs

FIELDS = ("user", "state", "source", "started", "finished", "folders_done", "folders_total",
          "messages_done", "messages_total", "bytes_done", "bytes_total", "last_error")
NUMERIC = ("folders_done", "folders_total", "messages_done", "messages_total", "bytes_done",
           "bytes_total")
STATES = ("none", "queued", "running", "done", "failed",
          # src/jobs/job.h: held by an admin, waiting for new credentials,
          # window closed, a later pass that found nothing new
          "paused", "auth-failed", "expired", "synced")
# ISO 8601 in UTC: 2024-05-01T12:00:00Z, with optional fraction, Z or +00:00.
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00|\+0000)$")


class StatusError(AssertionError):
    """doveadm mailmove status printed something that breaks its contract."""


def parse_rows(json_text):
    """Rows of `doveadm -f json mailmove status` as dicts with int progress."""
    try:
        rows = json.loads(json_text) if json_text.strip() else []
    except ValueError as error:
        raise StatusError("status output is not JSON (%s): %r" % (error, json_text[:500]))
    if not isinstance(rows, list):
        raise StatusError("status JSON is not a list: %r" % json_text[:500])
    for row in rows:
        missing = [f for f in FIELDS if f not in row]
        if missing:
            raise StatusError("status row lacks %s: %r" % (", ".join(missing), row))
        if row["state"] not in STATES:
            raise StatusError("unknown state %r in %r" % (row["state"], row))
        for field in NUMERIC:
            try:
                row[field] = int(row[field] or 0)
            except (TypeError, ValueError):
                raise StatusError("%s is not a number in %r" % (field, row))
    return rows


def status_rows(target, *selector):
    """Status rows for a selector: ("-u", "alice@...") or ("-A",)."""
    proc = target.doveadm("mailmove", "status", *selector, fmt="json", timeout=30)
    return parse_rows(proc.stdout.decode("utf-8", "replace"))


def folder_rows(target, user):
    """status -F of user: its latest run's folders, by target name."""
    proc = target.doveadm("mailmove", "status", "-F", "-u", user, fmt="json", timeout=30)
    rows = json.loads(proc.stdout.decode("utf-8", "replace") or "[]")
    return {row["name"]: row for row in rows}


def status(target, user):
    """The one status row of user (state none when it has no job)."""
    rows = status_rows(target, "-u", user)
    if len(rows) != 1 or rows[0]["user"] != user:
        raise StatusError("status -u %s gave %d rows: %r" % (user, len(rows), rows))
    return rows[0]


def parse_time(text):
    """An ISO 8601 UTC time from status -> epoch seconds (StatusError if not)."""
    if not ISO_UTC.match(text or ""):
        raise StatusError("not an ISO 8601 UTC time: %r" % text)
    text = text.replace("Z", "+00:00")
    if text.endswith("+0000"):
        text = text[:-5] + "+00:00"
    return datetime.datetime.fromisoformat(text).timestamp()


class JobWatch:
    """Polls a user's status and remembers every distinct state it saw.

    Scenarios use it both to wait for the end of a job and to act at a
    moment of it (e.g. kill the service while it is running).
    """

    def __init__(self, target, user, on_poll=None):
        """on_poll(row), if given, runs after every poll (e.g. to look at the
        target mailbox while the move is under way)."""
        self.target = target
        self.user = user
        self.on_poll = on_poll
        self.seen = []
        self.last = None

    def poll(self):
        row = status(self.target, self.user)
        if self.on_poll:
            self.on_poll(row)
        if not self.seen or self.seen[-1] != row["state"]:
            self.seen.append(row["state"])
        self.last = row
        return row

    def wait(self, predicate, timeout, what, interval=0.1):
        """Poll until predicate(row) holds; return that row."""
        def matched():
            row = self.poll()
            return row if predicate(row) else None
        try:
            return procs.wait_until(matched, timeout, interval, what)
        except TimeoutError as error:
            raise AssertionError("%s; states seen %s; last status %r" % (
                error, " -> ".join(self.seen), self.last))

    def wait_finished(self, timeout):
        """Wait for state done or failed; return the row."""
        return self.wait(lambda row: row["state"] in ("done", "failed"), timeout,
                         "%s's move to finish" % self.user)

    def history(self):
        return " -> ".join(self.seen)


def describe(row):
    """One-line summary of a status row for PASS/FAIL details."""
    return ("state=%(state)s messages %(messages_done)d/%(messages_total)d "
            "bytes %(bytes_done)d/%(bytes_total)d folders %(folders_done)d/%(folders_total)d "
            "started=%(started)s finished=%(finished)s last_error=%(last_error)r" % row)


def time_taken(row):
    try:
        return parse_time(row["finished"]) - parse_time(row["started"])
    except StatusError:
        return float("nan")
