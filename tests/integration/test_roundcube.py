"""The Roundcube plugin (contrib/roundcube/mailmove/, issue 14) against the
test Dovecot: Debian's roundcube-core with SQLite, served by php-cli's
built-in server on loopback, driven by headless Chromium through the
DevTools protocol (lib/devtools.py).

carol's legacy login differs (carol.old@old.test) and her userdb's legacy
password is wrong, so her first login's move is auth-failed. In webmail she
sees the reminder, opens Settings > Mail moving, enters her old address and
password, and watches the progress bar reach done. Screenshots of each step
go to _build/screenshots/roundcube/ (MAILMOVE_IT_SCREENSHOTS to change).
"""

import os
import subprocess
import time

from lib import clients, corpus, devtools, mailmove, procs
from lib.dovecot import DIALECT, LegacyInstance, User, stop_all
from lib.scenario import check, check_equal, note, scenario
from test_metadata import MetadataTarget

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
PLUGIN = os.path.join(TOP, "contrib", "roundcube", "mailmove")
SHOTS = os.environ.get("MAILMOVE_IT_SCREENSHOTS",
                       os.path.join(TOP, "_build", "screenshots", "roundcube"))
TIMEOUT = float(os.environ.get("MAILMOVE_IT_TIMEOUT", "300"))


def skip_reason():
    """Why the Roundcube scenarios do not run here, or None."""
    if DIALECT == "2.4":
        return ("Dovecot 2.4: Roundcube, PHP and Chromium are not in the Debian 13 root "
                "(198 packages, 224 MB); the METADATA entries Roundcube reads are tested "
                "on 2.4 by test_metadata, the webmail side by ./check.sh on 2.3")
    return None


CAROL = "carol@new.test"
CAROL_PW = "carol-new-pw"
CAROL_LEGACY = "carol.old@old.test"
CAROL_LEGACY_PW = "Carol-old-Pw.9"
MESSAGES = 300

CONFIG = """<?php
$config = [];
$config['db_dsnw'] = 'sqlite:///{db}?mode=0600';
$config['imap_host'] = '127.0.0.1:{imap_port}';
$config['smtp_host'] = '';
$config['des_key'] = 'mailmove-test-des-key-24';
$config['plugins'] = ['mailmove'];
$config['skin'] = 'elastic';
$config['language'] = 'en_US';
$config['log_dir'] = '{logs}';
$config['temp_dir'] = '{temp}';
$config['enable_installer'] = false;
$config['support_url'] = '';
$config['imap_cache'] = null;
$config['messages_cache'] = false;
"""


class World:
    def __init__(self, workdir):
        self.workdir = os.path.abspath(workdir)
        self.legacy = LegacyInstance(workdir, users=[User(CAROL_LEGACY, CAROL_LEGACY_PW)])
        self.target = MetadataTarget(
            workdir, self.legacy.url("imaps"), ca_file=self.legacy.cert_path, name="target",
            users=[User(CAROL, CAROL_PW, userdb_mailmove_source_password="not-her-old-pw")],
            plugin_settings={"mailmove_retry_delay": "1s", "mailmove_auth_retries": "0",
                             "mailmove_pass_interval": "0",
                             # slow enough to watch the bar move
                             "mailmove_max_bytes_per_second": "400k"})
        self.rc_root = os.path.join(self.workdir, "roundcube")
        self.php = None
        self.browser = None
        self.port = procs.free_port()

    def start(self):
        for binary in ("/usr/bin/php", devtools.CHROMIUM, "/var/lib/roundcube/index.php"):
            if not os.path.exists(binary):
                raise RuntimeError("%s is missing (tests/setup.sh installs Roundcube, "
                                   "php-cli and chromium)" % binary)
        corpus.write_maildir(self.legacy.maildir(CAROL_LEGACY), corpus.Corpus(
            143, "old.test").inbox(MESSAGES, recipient=CAROL_LEGACY, max_attachment=8_000))
        self.legacy.start()
        self.target.start()
        for sub in ("config", "logs", "temp", "plugins"):
            os.makedirs(os.path.join(self.rc_root, sub), exist_ok=True)
        plugins = os.path.join(self.rc_root, "plugins")
        # Debian's plugins Roundcube always loads, ours, and Debian's
        # defaults (read from the config directory first).
        links = [(os.path.join(plugins, name), path) for name, path in (
            ("mailmove", PLUGIN), ("jqueryui", "/usr/share/roundcube/plugins/jqueryui"),
            ("filesystem_attachments", "/usr/share/roundcube/plugins/filesystem_attachments"))]
        links.append((os.path.join(self.rc_root, "config", "defaults.inc.php"),
                      "/etc/roundcube/defaults.inc.php"))
        for link, path in links:
            if not os.path.lexists(link):
                os.symlink(path, link)
        with open(os.path.join(self.rc_root, "config", "config.inc.php"), "w") as f:
            f.write(CONFIG.format(db=os.path.join(self.rc_root, "roundcube.db"),
                                  imap_port=self.target.ports["imap"],
                                  logs=os.path.join(self.rc_root, "logs"),
                                  temp=os.path.join(self.rc_root, "temp")))
        env = dict(os.environ, ROUNDCUBE_CONFIG_DIR=os.path.join(self.rc_root, "config"),
                   MAILMOVE_RC_PLUGINS=plugins, MAILMOVE_RC_PLUGIN=PLUGIN)
        self.php = subprocess.Popen(
            ["php", "-S", "127.0.0.1:%d" % self.port, "-t", "/var/lib/roundcube/public_html",
             os.path.join(HERE, "roundcube", "router.php")],
            env=env, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.rc_root, "php-server.log"), "wb"))
        procs.wait_until(lambda: procs.port_accepts(self.port), 15, what="php -S")
        self.browser = devtools.Browser(self.workdir)

    def stop(self):
        if self.browser is not None:
            self.browser.close()
        if self.php is not None and self.php.poll() is None:
            self.php.kill()
            self.php.wait()
        stop_all([self.legacy, self.target])

    def logs(self):
        logs = [("target log (tail)", self.target.log_tail(40))]
        for name in ("errors.log", "php-server.log"):
            for path in (os.path.join(self.rc_root, "logs", name),
                         os.path.join(self.rc_root, name)):
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        logs.append((name, f.read()[-3000:]))
        return logs


def shot(browser, name):
    os.makedirs(SHOTS, exist_ok=True)
    path = browser.screenshot(os.path.join(SHOTS, name))
    note("screenshot %s", path)
    return path


@scenario("a-reminder-settings-password-progress-done")
def webmail_move(world):
    target, browser = world.target, world.browser
    # Her first login (a mail client) queues the move; the wrong legacy
    # password makes it auth-failed.
    with clients.imap_session(target, CAROL):
        pass
    row = mailmove.status(target, CAROL)
    deadline = time.monotonic() + 60
    while row["state"] not in ("auth-failed", "done", "failed"):
        check(time.monotonic() < deadline, "carol's first move: state %s", row["state"])
        time.sleep(0.2)
        row = mailmove.status(target, CAROL)
    check_equal(row["state"], "auth-failed", "carol's first move")

    base = "http://127.0.0.1:%d/" % world.port
    browser.navigate(base)
    browser.wait("document.querySelector('#rcmloginuser')", 30, "the login form")
    shot(browser, "1-login.png")
    browser.evaluate("document.querySelector('#rcmloginuser').value = %r;"
                     "document.querySelector('#rcmloginpwd').value = %r;"
                     "document.querySelector('#rcmloginsubmit').click(); true" % (CAROL, CAROL_PW))
    browser.wait("window.rcmail && rcmail.env.task == 'mail' && "
                 "document.querySelector('#mailmove-reminder')", 30, "the reminder after login")
    time.sleep(0.5)
    text = browser.evaluate("document.querySelector('#mailmove-reminder').innerText")
    note("reminder: %r", text)
    check("Mail moving" in text or "stopped" in text, "reminder text: %r", text)
    shot(browser, "2-reminder.png")

    browser.evaluate("document.querySelector('#mailmove-open').click(); true")
    browser.wait("document.querySelector('#mailmove-form')", 30, "Settings > Mail moving")
    state_text = browser.evaluate("document.querySelector('#mailmove-state').innerText")
    error_text = browser.evaluate("document.querySelector('#mailmove-error').innerText")
    note("settings: %r / %r", state_text, error_text)
    check_equal(browser.evaluate("document.querySelector('#mailmove-state')"
                                 ".getAttribute('data-state')"), "auth-failed", "state shown")
    check("password again" in error_text, "last error explained: %r", error_text)
    shot(browser, "3-settings-auth-failed.png")

    browser.evaluate("document.querySelector('#mailmove-user').value = %r;"
                     "document.querySelector('#mailmove-password').value = %r;"
                     "document.querySelector('#mailmove-save').click(); true"
                     % (CAROL_LEGACY, CAROL_LEGACY_PW))
    browser.wait("document.querySelector('#mailmove-form') && "
                 "document.querySelector('#mailmove-state').getAttribute('data-state') != "
                 "'auth-failed'", 30, "the saved form")
    seen, percents = set(), []
    deadline = time.monotonic() + TIMEOUT
    running_shot = False
    while True:
        check(time.monotonic() < deadline, "the move did not reach done in the page: %s",
              sorted(seen))
        state = browser.evaluate("document.querySelector('#mailmove-state')"
                                 ".getAttribute('data-state')")
        percent = browser.evaluate("parseInt(document.querySelector('#mailmove-bar')"
                                   ".style.width)")
        if state is None or percent is None:
            # The settings frame is between two loads (the page refreshes itself).
            time.sleep(0.2)
            continue
        seen.add(state)
        percents.append(percent)
        if state == "running" and 0 < percent < 100 and not running_shot:
            shot(browser, "4-settings-running.png")
            running_shot = True
        if state == "done":
            break
        time.sleep(0.5)
    note("states seen: %s; bar: %s", sorted(seen), sorted(set(percents)))
    check_equal(percent, 100, "the bar at done")
    counts = browser.evaluate("document.querySelector('#mailmove-counts').innerText")
    check("%d of %d messages" % (MESSAGES, MESSAGES) in counts, "counts: %r", counts)
    # carol's old mailbox holds INBOX only: one folder, in the singular
    check(counts.rstrip().endswith(", 1 folder"), "counts end with ', 1 folder': %r", counts)
    shot(browser, "5-settings-done.png")
    row = mailmove.status(target, CAROL)
    check_equal((row["state"], row["credentials"], int(row["messages_done"])),
                ("done", "user", MESSAGES), "carol's move")
