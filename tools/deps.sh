#!/bin/sh
# Install the Debian packages named on the command line that are not installed
# yet. "node" and "npm" are checked as commands rather than packages, because a
# machine may carry a Node.js that did not come from Debian's nodejs package.
# Runs apt-get update once before the first install (a fresh machine has no
# package lists). Uses sudo when not root.
set -eu

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

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
