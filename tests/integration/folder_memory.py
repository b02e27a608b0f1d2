#!/usr/bin/env python3
"""The peak memory of moving one large legacy IMAP folder (issue 10 item 5).

A figure, not a pass/fail test: fills a legacy Maildir INBOX with COUNT
small messages (varied flags, a few keywords, distinct INTERNALDATEs in
several zones' worth of days), starts a private legacy and target Dovecot,
runs `doveadm mailmove run -u USER` once and prints the peak RSS of that
run: the doveadm process and everything it forked, as the kernel counts it
(getrusage RUSAGE_CHILDREN of a small interpreter that only runs it, so
the figure is the run's own and not this script's). For comparison it
then prints the peak RSS of `doveadm save` of one message into the moved
folder: what Dovecot itself holds for a target folder of that size.

Run it as root, with the plugin installed, in a private namespace:

    /work/tools/iso NAME python3 tests/integration/folder_memory.py [COUNT]

COUNT defaults to 100000. MAILMOVE_MEMORY_KEEP=1 keeps the work directory.
The exit code is 0 when every message moved, else 1.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import corpus  # noqa: E402
from lib.dovecot import (DOVEADM, LegacyInstance, TargetInstance, User,  # noqa: E402
                         require_installed_plugin, stop_all)

USER = "mia@example.com"
LEGACY_PASSWORD = "legacy-mia-Pw.7"
KEYWORDS = ("$Forwarded", "$MDNSent", "Work", "Personal")

# Runs argv[2:] and writes the peak RSS (KiB) of it and its children to
# argv[1] (Linux keeps a peak across fork and exec: forked from this
# script, doveadm would report the script's size if that were larger).
PEAK_RSS_OF = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def small_messages(count, seed=10):
    """count messages of 400-1,200 bytes, oldest first, one minute apart."""
    rng = random.Random(seed)
    start = 1_500_000_000
    messages = []
    for i in range(count):
        date = start + i * 60
        when = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(date))
        body = " ".join(rng.choice(corpus.WORDS) for _ in range(rng.randint(40, 160)))
        raw = ("Date: %s\nFrom: Sender %d <s%d@sender.example>\nTo: %s\n"
               "Subject: small message %d\nMessage-ID: <small.%d@corpus.example>\n\n%s\n" % (
                   when, i % 97, i % 97, USER, i, i, body)).encode()
        flags = {f for f, odds in corpus.FLAG_ODDS.items() if rng.random() < odds}
        keywords = [k for k in KEYWORDS if rng.random() < 0.05]
        messages.append(corpus.Message(raw, flags, date, keywords))
    return messages


def measured_run(target, *args, input=None):
    """(exit code, stdout, stderr, peak RSS KiB, seconds) of
    `doveadm -c TARGET ARGS`; by default the run."""
    rss_file = os.path.join(target.root, "peak-rss")
    args = args or ("-f", "json", "mailmove", "run", "-u", USER)
    argv = [sys.executable, "-c", PEAK_RSS_OF, rss_file, DOVEADM, "-c", target.config_path] + \
        list(args)
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, timeout=3600, input=input)
    seconds = time.monotonic() - started
    with open(rss_file) as f:
        peak_kib = int(f.read())
    return proc.returncode, proc.stdout.decode(errors="replace"), \
        proc.stderr.decode(errors="replace"), peak_kib, seconds


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    require_installed_plugin()
    workdir = tempfile.mkdtemp(prefix="mm-folder-memory-")
    os.chmod(workdir, 0o755)
    legacy = LegacyInstance(workdir, users=[User(USER, LEGACY_PASSWORD)])
    target = TargetInstance(workdir, legacy.url("imaps"), ca_file=legacy.cert_path,
                            users=[User(USER, "target-mia-pw",
                                        userdb_mailmove_source_password=LEGACY_PASSWORD)])
    try:
        started = time.monotonic()
        messages = small_messages(count)
        corpus.write_maildir(legacy.maildir(USER), messages)
        print("legacy INBOX: %d messages, %.1f MB, written in %.1f s" % (
            count, corpus.total_bytes(messages) / 1e6, time.monotonic() - started))
        del messages
        legacy.start()
        target.start()
        code, out, err, peak_kib, seconds = measured_run(target)
        try:
            row = json.loads(out)[0]
        except (ValueError, IndexError):
            row = {}
        saved = int(row.get("saved", 0) or 0)
        print("doveadm mailmove run: exit %d, result %s, saved %d in %.1f s (%.0f msgs/s)" % (
            code, row.get("result"), saved, seconds, saved / seconds if seconds else 0))
        print("peak RSS of the run: %.1f MiB (%d KiB)" % (peak_kib / 1024, peak_kib))
        # What Dovecot alone needs to save one message into that folder
        # now: the part of the run's peak that is the target's own state
        # (a Maildir's dovecot-uidlist and index of every message).
        _, _, _, save_kib, _ = measured_run(
            target, "save", "-u", USER, "-m", "INBOX",
            input=b"From: a@example.com\nSubject: one more\n\nbody\n")
        print("for comparison, doveadm save of one message into it: peak RSS %.1f MiB" % (
            save_kib / 1024))
        if code != 0 or saved != count:
            print(err[-2000:] or out[-2000:], file=sys.stderr)
            return 1
        return 0
    finally:
        stop_all([target, legacy])
        if os.environ.get("MAILMOVE_MEMORY_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print("kept", workdir)


if __name__ == "__main__":
    sys.exit(main())
