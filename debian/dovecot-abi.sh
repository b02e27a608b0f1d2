#!/bin/sh
# Prints the Dovecot ABI that dovecot-core provides as "dovecot-abi-<ABI>"
# for the dovecot-dev this package is built with, e.g. 2.3.abiv19.
# dovecot-dev ships it in /usr/share/dovecot/dovecot-abi; without that file
# it is derived the way Debian's dovecot derives it, from
# DOVECOT_ABI_VERSION in Dovecot's config.h ("2.3.ABIv19(2.3.19.1)"):
# lower case, without the parenthesised release.
set -e
if [ -s /usr/share/dovecot/dovecot-abi ]; then
	tr -d ' \n' </usr/share/dovecot/dovecot-abi
else
	sed -n 's/^#define DOVECOT_ABI_VERSION "\([^"(]*\).*/\1/p' \
		/usr/include/dovecot/config.h | tr 'A-Z' 'a-z'
fi
