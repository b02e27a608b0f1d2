#!/bin/bash
# Demo of dovecot-mailmove on one machine (Debian bookworm, as root):
# builds and installs the plugin like check.sh, starts a throwaway legacy
# Dovecot seeded with a few hundred messages and a target Dovecot with the
# plugin (both on 127.0.0.1 only), logs the demo user in over IMAP and
# shows `doveadm mailmove status` every second until the move is done.
# Stops everything it started. Exits 0 only when the final state is done
# and every seeded message was moved.
#   ./demo.sh [MESSAGES]      (default 300)
set -u
cd "$(dirname "$0")" || exit 1
# shellcheck source=tests/setup.sh
. tests/setup.sh

mm_require_root || exit 1
mm_install_packages || exit 1
mm_build_and_install || exit 1

demo_dir=$(mktemp -d /tmp/mailmove-demo.XXXXXX)
cleanup() {
	mm_stop_instances "$demo_dir"
	rm -rf "$demo_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$MM_PYTHON" tests/integration/demo.py "$demo_dir" "${1:-300}"
