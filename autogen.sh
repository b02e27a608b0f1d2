#!/bin/sh
# Generates ./configure from configure.ac (Dovecot's dovecot.m4 comes from dovecot-dev).
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
# Dovecot 2.4's dovecot.m4 requires this aux file of its valgrind test
# wrapper (DC_DOVECOT_TEST_WRAPPER), which the tests here do not use.
[ -e build-aux/run-test.sh.in ] || : >build-aux/run-test.sh.in
autoreconf -fi -I /usr/share/aclocal
