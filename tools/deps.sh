#!/bin/sh
# Install the Debian packages named on the command line that are not installed
# yet. "node" and "npm" are checked as commands rather than packages, because a
# machine may carry a Node.js that did not come from Debian's nodejs package.
# Runs apt-get update once before the first install (a fresh machine has no
# package lists). Uses sudo when not root.
#
# apt-get's output goes to a log (DEPS_LOG, default build/deps.log), shown
# only when it fails (its last 50 lines and the log's path). What is said:
#   deps: installing libcmocka-dev mosquitto (apt-get log: build/deps.log)
#   deps: installed 12 packages (+45.6 MB)
# the count and the size as apt-get's own summary gave them.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
log=${DEPS_LOG:-$top/build/deps.log}

missing=""
for pkg in "$@"; do
	case "$pkg" in
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm)    command -v npm  >/dev/null 2>&1 && continue ;;
	esac
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done

[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps: need root (or sudo) to install:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi

# Run apt-get (through sudo, which keeps no environment: hence env) with
# its output appended to the log; on failure show the end of the log. An
# apt already running (unattended-upgrades on a fresh box) is waited for,
# up to 5 minutes, rather than failed on.
apt() {
	if ! $SUDO env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get \
	    -o DPkg::Lock::Timeout=300 "$@" \
	    >>"$log" 2>&1; then
		echo "deps: apt-get $1 failed; the last 50 lines of $log:" >&2
		tail -n 50 "$log" >&2
		exit 1
	fi
}

mkdir -p "$(dirname "$log")"
: >"$log"
echo "deps: installing$missing (apt-get log: ${log#"$top"/})"
apt update -q
# shellcheck disable=SC2086
apt install -y -q --no-install-recommends $missing

# "0 upgraded, 12 newly installed, 0 to remove and 3 not upgraded."
# "After this operation, 45.6 MB of additional disk space will be used."
n=$(sed -n 's/.* \([0-9][0-9]*\) newly installed.*/\1/p' "$log" | tail -n 1)
size=$(sed -n 's/^After this operation, \(.*\) of additional disk space.*/\1/p' \
    "$log" | tail -n 1)
echo "deps: installed ${n:-?} package$([ "${n:-}" = 1 ] || echo s)${size:+ (+$size)}"
