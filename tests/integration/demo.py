#!/usr/bin/env python3
"""The demo behind ./demo.sh: a throwaway legacy Dovecot with a few hundred
messages, a target Dovecot with the installed plugin, one IMAP login, and
the live `doveadm mailmove status` until the move is done.

    python3 tests/integration/demo.py WORKDIR [MESSAGES]

Exits 0 only when the final state is done and messages_done equals the
number of messages seeded. Stops both instances before exiting (demo.sh
also stops whatever is left under WORKDIR, should this be killed).
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import clients, corpus, mailmove  # noqa: E402
from lib.dovecot import LegacyInstance, TargetInstance, User, stop_all  # noqa: E402

USER = "demo@example.com"
TIMEOUT = 600


def show(title, text):
    print("\n--- %s ---\n%s" % (title, text.rstrip()), flush=True)


def admin_settings(target):
    """The lines an admin adds to enable the plugin: the !include of the
    installed example, the plugin block and the userdb extra field (with
    the legacy password masked)."""
    lines = open(target.config_path).read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("!include"))
    passwd = open(target.passwd_path).read().strip()
    masked = passwd.split(":", 1)[0] + ":{PLAIN}...::::::userdb_mailmove_source_password=..."
    return "\n".join(lines[start:]) + "\n\npasswd-file line:\n" + masked


def status_table(target):
    return target.doveadm("mailmove", "status", "-u", USER, fmt="table").stdout.decode()


def main():
    workdir = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    legacy = LegacyInstance(workdir, users=[User(USER, "legacy-password")])
    target = TargetInstance(workdir, legacy.url("imaps"), ca_file=legacy.cert_path, users=[
        User(USER, "new-password", userdb_mailmove_source_password="legacy-password")])
    try:
        messages = corpus.Corpus(seed=7).inbox(count, big=2, recipient=USER)
        corpus.write_maildir(legacy.maildir(USER), messages)
        legacy.start()
        print("legacy Dovecot: %s, %d messages (%.1f MB) for %s" % (
            legacy.url("imaps"), count, corpus.total_bytes(messages) / 1e6, USER))
        target.start()
        print("target Dovecot: imap://127.0.0.1:%d, config %s" % (
            target.ports["imap"], target.config_path))
        show("what the admin added to the target's dovecot.conf", admin_settings(target))

        show("status before the first login", status_table(target))
        elapsed = clients.timed_imap_login(target, USER)
        print("\n%s logged in over IMAP at the target in %.3f s" % (USER, elapsed))

        deadline = time.monotonic() + TIMEOUT
        row = mailmove.status(target, USER)
        while row["state"] not in ("done", "failed") and time.monotonic() < deadline:
            show(time.strftime("%H:%M:%S") + " doveadm mailmove status -u " + USER,
                 status_table(target))
            time.sleep(1)
            row = mailmove.status(target, USER)
        show("final status (doveadm -f flow mailmove status -u %s)" % USER, target.doveadm(
            "mailmove", "status", "-u", USER, fmt="flow").stdout.decode())
        ok = row["state"] == "done" and row["messages_done"] == count
        print("\n%s: state %s, %d of %d seeded messages moved" % (
            "OK" if ok else "FAILED", row["state"], row["messages_done"], count))
        if not ok:
            show("target log (tail)", target.log_tail(30))
        return 0 if ok else 1
    finally:
        stop_all([target, legacy])


if __name__ == "__main__":
    sys.exit(main())
