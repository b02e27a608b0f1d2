#!/bin/sh
# Generates ./configure from configure.ac (Dovecot's dovecot.m4 comes from dovecot-dev).
set -e
cd "$(dirname "$0")"
mkdir -p m4
autoreconf -fi -I /usr/share/aclocal
