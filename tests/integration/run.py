#!/usr/bin/env python3
"""Run the integration scenarios against real Dovecot instances.

    python3 tests/integration/run.py [-k TEXT] [--keep] [--workdir DIR] [FILE ...]

FILE is a test module name (test_harness, test_skeleton); default all, in
that order. -k runs only scenarios whose label contains TEXT. --keep leaves
the work directory (configs, logs, mail) behind for a post-mortem.
--workdir names it (it must exist; default: a new directory under /tmp);
instance N of module M lives in DIR/M/N/, which check.sh relies on to
clean up after a runner that was killed.

Prints one PASS/FAIL (or SKIP, with the reason) line per scenario, the
number skipped ("integration: K skipped", when any was) and, last, exactly
"integration: N passed, M failed"; exits 1 when anything failed. Needs
root (it starts Dovecot instances and chowns their mail).
"""

import argparse
import importlib
import os
import shutil
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from lib import scenario  # noqa: E402

DEFAULT_MODULES = ["test_harness", "test_skeleton", "test_pop3", "test_imap_protocol",
                   "test_admin", "test_folders", "test_cyrus", "test_crash",
                   "test_outcomes", "test_legacy_security", "test_trust", "test_faults",
                   "test_courier", "test_providers", "test_domains", "test_daily_cap", "test_oauth2",
                   "test_metadata", "test_roundcube",
                   "test_cluster", "test_cluster_pgsql",
                   "test_dialects"]


def _terminate(signum, frame):
    """SIGTERM/SIGHUP unwind like Ctrl-C, so every World.stop() runs."""
    raise KeyboardInterrupt("signal %d" % signum)


def run_module(module_name, workdir, results, pattern):
    """Start the module's World, run its scenarios, always stop the World."""
    module = importlib.import_module(module_name)
    selected = [(name, func) for name, func in scenario.scenarios_of(module_name)
                if pattern is None or pattern in "%s/%s" % (module_name, name)]
    if not selected:
        return
    reason = module.skip_reason() if hasattr(module, "skip_reason") else None
    if reason:
        for name, _ in selected:
            results.skip("%s/%s" % (module_name, name), reason)
        return
    world = module.World(os.path.join(workdir, module_name))
    try:
        setup_ok = results.run("%s/setup" % module_name, world.start, logs=world.logs,
                               counted=False)
        for name, func in selected:
            label = "%s/%s" % (module_name, name)
            if setup_ok:
                results.run(label, func, world, logs=world.logs)
            else:
                results.fail(label, scenario.ScenarioFailed("not run: setup failed"))
    finally:
        world.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", dest="pattern")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--workdir")
    parser.add_argument("modules", nargs="*", default=DEFAULT_MODULES)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run.py must run as root (it starts Dovecot instances)")
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="mailmove-it-"))
    results = scenario.Results()
    try:
        for module_name in args.modules:
            run_module(module_name, workdir, results, args.pattern)
    except KeyboardInterrupt as interrupt:
        results.fail("interrupted", scenario.ScenarioFailed("interrupted (%s)" % interrupt))
    finally:
        if args.keep:
            print("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if results.skipped:
        print("integration: %d skipped" % len(results.skipped), flush=True)
    print("integration: %d passed, %d failed" % (len(results.passed), len(results.failed)),
          flush=True)
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
