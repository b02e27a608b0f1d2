"""A small scenario runner: named scenarios, shared worlds, PASS/FAIL lines.

No pytest on a bare Debian, and the scenarios of one file share expensive
fixtures (two Dovecot instances and a corpus of hundreds of messages), so
each test file defines:

    class World:            # started once per file, always stopped
        def __init__(self, workdir): ...
        def start(self): ...
        def stop(self): ...
        def logs(self): -> [(title, text)] shown when a scenario fails

    @scenario("a-first-login-moves-inbox")
    def first_login(world): ...      # raise (e.g. via check()) to fail

and run.py runs the files in order. A scenario passes when it returns.
A module whose scenarios cannot run here (e.g. on Dovecot 2.4 without
what they need) defines skip_reason() returning why, else None; its
scenarios then print SKIP lines with that reason, as a scenario that
calls skip(reason) does.
A scenario (or a World's start) that runs longer than
MAILMOVE_IT_SCENARIO_TIMEOUT seconds (default 600; a scenario may name a
longer one of its own) is stopped and fails,
so one hang cannot stall the whole run.
"""

import os
import signal
import sys
import time
import traceback

SCENARIO_TIMEOUT = int(os.environ.get("MAILMOVE_IT_SCENARIO_TIMEOUT", "600"))

_REGISTRY = []
# The time the running scenario has (SIGALRM's), for the timeout message.
_alarm_seconds = SCENARIO_TIMEOUT


class ScenarioFailed(AssertionError):
    """A scenario's expectation did not hold; the message says which."""


class ScenarioSkipped(Exception):
    """A scenario that cannot run here, for the reason given (raised with
    skip()); it prints a SKIP line and counts as neither passed nor failed."""


def skip(reason, *args):
    """Skip the scenario, saying why."""
    raise ScenarioSkipped(reason % args if args else reason)


class ScenarioTimeout(ScenarioFailed):
    """Raised by SIGALRM inside a scenario that ran out of time; it also
    interrupts a blocking system call (a read, an open() of a FIFO)."""


def _on_alarm(signum, frame):
    raise ScenarioTimeout("stopped after %d s (MAILMOVE_IT_SCENARIO_TIMEOUT); it was at:\n%s" % (
        _alarm_seconds, "".join(traceback.format_stack(frame)[-3:]).rstrip()))


def scenario(name, timeout=None):
    """Register a function as a scenario of the module it is defined in.
    timeout: seconds, for a scenario that needs longer than
    MAILMOVE_IT_SCENARIO_TIMEOUT (the longer of the two applies)."""
    def register(func):
        func.scenario_timeout = timeout
        _REGISTRY.append((func.__module__, name, func))
        return func
    return register


def scenarios_of(module_name):
    return [(name, func) for module, name, func in _REGISTRY if module == module_name]


def check(condition, message, *args):
    """Fail the scenario with message % args unless condition holds."""
    if not condition:
        raise ScenarioFailed(message % args if args else message)


def check_equal(actual, expected, what):
    check(actual == expected, "%s: expected %r, got %r", what, expected, actual)


def note(text, *args):
    """A detail line under the scenario's PASS/FAIL line (figures, ids)."""
    print("      " + (text % args if args else text), flush=True)


class Results:
    """Counts and prints one line per scenario."""

    def __init__(self):
        self.passed = []
        self.failed = []
        self.skipped = []

    def run(self, label, func, *args, logs=None, counted=True):
        """Run func(*args) as one scenario; counted=False for set-up steps,
        whose failure fails the scenarios that depend on them instead."""
        print("----  %s" % label, flush=True)
        started = time.monotonic()
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        global _alarm_seconds
        _alarm_seconds = max(SCENARIO_TIMEOUT, getattr(func, "scenario_timeout", None) or 0)
        signal.alarm(_alarm_seconds)
        failure = None
        try:
            func(*args)
        except ScenarioSkipped as skipped:
            failure = skipped
        except Exception as error:  # noqa: BLE001 - every failure is a FAIL line
            failure = error
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        elapsed = time.monotonic() - started
        if isinstance(failure, ScenarioSkipped):
            self.skip(label, str(failure), counted)
            return True
        if failure is not None:
            self.fail(label, failure, elapsed, logs, counted)
            return False
        print("PASS  %s  (%.1f s)" % (label, elapsed), flush=True)
        if counted:
            self.passed.append(label)
        return True

    def skip(self, label, reason, counted=True):
        print("SKIP  %s  (%s)" % (label, reason), flush=True)
        if counted:
            self.skipped.append(label)

    def fail(self, label, error, elapsed=0.0, logs=None, counted=True):
        if isinstance(error, ScenarioFailed):
            reason = str(error)
        else:
            reason = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        print("FAIL  %s  (%.1f s)" % (label, elapsed), flush=True)
        for line in reason.rstrip().splitlines():
            print("      " + line)
        for title, text in (logs() if logs else []):
            print("      --- %s ---" % title)
            for line in text.splitlines():
                print("      | " + line)
        sys.stdout.flush()
        if counted:
            self.failed.append(label)
