"""Steps the whole-tree scenarios share: moving a user (a real login, a
foreground run), the job report, status details, the target's log.

The report (what the latest run did not move as the legacy server had it:
skipped and renamed folders, filtered messages, refused messages, rejected
keywords, a changed UIDVALIDITY) is read with
`doveadm -f json mailmove report -u USER`, whose rows have the columns
user, kind, folder, legacy_folder, uid, size, detail.
"""

import collections
import json
import re
import time

from . import clients, mailmove
from .scenario import check, check_equal, note
from .tree_corpus import TARGET_SPECIAL_USE

ERROR_LINE = re.compile(r"\b(Panic|Fatal|Error):")


class Entry(collections.namedtuple("Entry", "kind folder legacy_folder uid size detail")):
    """One report row; uid and size are ints (0 when the row has none)."""

    __slots__ = ()

    def __str__(self):
        parts = [self.kind, self.folder or self.legacy_folder]
        if self.uid:
            parts.append("UID %d" % self.uid)
        if self.size:
            parts.append("%d bytes" % self.size)
        return " ".join(p for p in parts if p) + ": " + self.detail


def _int(text):
    try:
        return int(text or 0)
    except ValueError:
        return 0


def report(target, user):
    """The entries of user's latest run, from `doveadm mailmove report`."""
    proc = target.doveadm("mailmove", "report", "-u", user, fmt="json", check=False,
                          timeout=60)
    check(proc.returncode == 0, "doveadm mailmove report -u %s exited %d: %s", user,
          proc.returncode, proc.stderr.decode("utf-8", "replace").strip())
    rows = json.loads(proc.stdout.decode("utf-8", "replace") or "[]")
    return [Entry(r["kind"], r["folder"], r["legacy_folder"], _int(r["uid"]),
                  _int(r["size"]), r["detail"]) for r in rows]


def run_foreground(target, user, timeout):
    """`doveadm -f json mailmove run -u USER`: its row, numbers as ints,
    plus the stderr text under "stderr"."""
    proc = target.doveadm("mailmove", "run", "-u", user, fmt="json", check=False,
                          timeout=timeout)
    try:
        rows = json.loads(proc.stdout.decode("utf-8", "replace"))
    except ValueError:
        rows = []
    stderr = proc.stderr.decode("utf-8", "replace")
    # A Panic's backtrace is one long line: show the lines that say what
    # went wrong, cut.
    problems = [line[:400] for line in stderr.splitlines() if ERROR_LINE.search(line)]
    check(len(rows) == 1, "doveadm mailmove run -u %s exited %d, printed %r:\n%s", user,
          proc.returncode, proc.stdout[:300], "\n".join(problems[:10]) or stderr[-1500:])
    row = rows[0]
    for key in ("saved", "messages_done", "messages_total", "bytes_done"):
        row[key] = _int(row.get(key))
    row["exit_code"] = proc.returncode
    row["stderr"] = stderr
    return row


def run_move(target, user, timeout, want_saved=None):
    """A foreground `doveadm mailmove run`, which must end done (and save
    want_saved messages, if given); returns its row."""
    row = run_foreground(target, user, timeout)
    note("doveadm mailmove run -u %s: result %s, saved %d, messages %d/%d%s", user,
         row["result"], row["saved"], row["messages_done"], row["messages_total"],
         ", error %r" % row["error"] if row["error"] else "")
    check(row["result"] == "done", "the run of %s ended %s: %s\n%s", user, row["result"],
          row["error"], row["stderr"][-1500:])
    if want_saved is not None:
        check_equal(row["saved"], want_saved, "messages saved by the run of %s" % user)
    return row


def login_and_move(target, user, timeout, require_done=True):
    """A real IMAP login of a user without a job queues the move; waits for
    its first run to end (done, failed, or queued again after a temporary
    failure); returns the status row and the seconds it took.
    require_done: fail the scenario unless the move is done."""
    check(mailmove.status(target, user)["state"] == "none", "%s has a job already", user)
    started = time.monotonic()
    elapsed = clients.timed_imap_login(target, user)
    note("%s: IMAP LOGIN + SELECT at the target took %.3f s", user, elapsed)
    watch = mailmove.JobWatch(target, user)
    watch.wait(lambda row: row["state"] != "none", 10, "a job for %s after its login" % user)
    row = watch.wait(lambda r: r["state"] in ("done", "failed") or (
        r["state"] == "queued" and r["last_error"]), timeout, "%s's move to end" % user)
    seconds = time.monotonic() - started
    note("%s: %s (states %s)", user, mailmove.describe(row), watch.history())
    if require_done:
        check_done(row, user)
    return row, seconds


def check_done(row, user):
    check(row["state"] == "done", "%s's move ended %s: %r", user, row["state"], row["last_error"])


def messages_failed(target, user):
    """status' messages_failed of the user (0 when the column is empty)."""
    return _int(mailmove.status(target, user).get("messages_failed"))


def show_report(target, user):
    """The user's report entries, each printed as a detail line."""
    entries = report(target, user)
    note("report of %s: %d entries", user, len(entries))
    for entry in entries:
        note("  %s", entry)
    return entries


def create_special_folders(target, user):
    """The target's special-use folders, as the user's mail client makes
    them at its first login."""
    for folder in TARGET_SPECIAL_USE.values():
        target.doveadm("mailbox", "create", "-u", user, folder)



def check_log_clean(target, mark, allowed=()):
    """No Panic/Fatal/Error in the target's log since mark, but for lines
    matching one of the allowed regexes."""
    bad = [line for line in target.log_since(mark).splitlines()
           if ERROR_LINE.search(line) and not any(re.search(a, line) for a in allowed)]
    check(not bad, "errors in the target log:\n%s", "\n".join(bad[:20]))
