"""Harness for the real-server integration tests of dovecot-mailmove.

Everything here uses the Python 3 standard library only, so the tests run
on a bare Debian bookworm with nothing but the packages check.sh installs.
"""
