#!/bin/sh
# Run the README's two commands on a fresh Debian 12 root, as a newcomer's
# machine would be: debootstrap's minbase (make only added, as the README
# assumes), Debian's default /etc/hosts (localhost is also ::1), no package
# lists, no compiler, no node, no broker. The checkout goes in as
# `git archive HEAD` (what a clone has), then:
#
#   make run     until the gateway logs "gateway: ready", then SIGINT: it
#                must stop with status 0;
#   make check   to the end: its last line must say "0 failed".
#
# Printed: the time each took and the packages each installed (from the
# root's dpkg status before and after), plus the disk the root grew by. Not
# part of make check (it takes a long while); run by hand as root:
#
#   tools/fresh-root.sh [WORKDIR]      (default build/fresh-root)
#
# The bare root (before make) is cached as WORKDIR/bookworm-minbase.tar, so
# a second run skips debootstrap. Needs debootstrap and the Debian mirror of
# the host's apt sources.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$top/build/fresh-root}
mirror=${MIRROR:-http://deb.debian.org/debian}
cache=$work/bookworm-minbase.tar
root=$work/root
log=$work/log

[ "$(id -u)" -eq 0 ] || { echo "fresh-root: run as root (chroot, mounts)" >&2; exit 2; }
command -v debootstrap >/dev/null 2>&1 || "$top/tools/deps.sh" debootstrap
mkdir -p "$work" "$log"

cleanup() {
	for m in dev/pts dev proc sys; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
	done
	mountpoint -q "$root" 2>/dev/null && umount -l "$root"
	return 0
}
trap cleanup EXIT INT TERM

if [ ! -f "$cache" ]; then
	echo "fresh-root: debootstrap bookworm (minbase) from $mirror"
	rm -rf "$root.boot"
	debootstrap --variant=minbase --include=make bookworm "$root.boot" \
	    "$mirror" >"$log/debootstrap.log" 2>&1 ||
	    { tail -n 30 "$log/debootstrap.log"; exit 1; }
	# A fresh machine has no package lists: the README's commands must
	# fetch them themselves.
	rm -rf "$root.boot"/var/lib/apt/lists/* "$root.boot"/var/cache/apt/*.bin
	tar -C "$root.boot" -cf "$cache" .
	rm -rf "$root.boot"
fi

cleanup
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$cache"
# Debian's default hosts file, localhost on both families.
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$root/etc/hosts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The network's own trust comes along, as a newcomer's machine has its
# network's: where this machine reaches the registries through a proxy
# with its own CA, the root gets this machine's CA bundle for node/npm.
env="CI_ROOT=1"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	mkdir -p "$root/etc/ssl"
	cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/host-ca.crt"
	env="NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt npm_config_cafile=/etc/ssl/host-ca.crt"
fi
mkdir -p "$root/root/sitegate"
git -C "$top" archive HEAD | tar -C "$root/root/sitegate" -xf -
# The root is a mount point of its own, as a machine's / is: the package
# test's own chroot (unshare --propagation) needs that.
mount --bind "$root" "$root"
mount --make-private "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

pkgs() { chroot "$root" dpkg-query -W -f '${Package}\n' | sort; }
size() { du -smx --exclude=root/sitegate "$root" 2>/dev/null | cut -f1; }

pkgs >"$log/pkgs.0"
mb0=$(size)

echo "fresh-root: make run"
t0=$(date +%s)
chroot "$root" env $env sh -c 'cd /root/sitegate && exec make run' >"$log/run.log" 2>&1 &
pid=$!
until grep -q 'gateway: ready' "$log/run.log" 2>/dev/null; do
	kill -0 "$pid" 2>/dev/null || { tail -n 40 "$log/run.log"; echo "fresh-root: make run ended before ready" >&2; exit 1; }
	sleep 1
done
t1=$(date +%s)
# The gateway of this root (pgrep is not in minbase: looked up from here).
gw=
for p in $(pgrep -x sitegate); do
	[ "$(readlink "/proc/$p/root")" = "$root" ] && gw=$p
done
[ -n "$gw" ] || { echo "fresh-root: no gateway process in the root" >&2; exit 1; }
kill -INT "$gw"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { tail -n 40 "$log/run.log"; echo "fresh-root: make run exited $rc after SIGINT" >&2; exit 1; }
pkgs >"$log/pkgs.1"
mb1=$(size)
echo "fresh-root: make run ready after $((t1 - t0)) s, stopped cleanly;" \
    "$(comm -13 "$log/pkgs.0" "$log/pkgs.1" | wc -l) packages installed," \
    "root +$((mb1 - mb0)) MB"

echo "fresh-root: make check"
t0=$(date +%s)
rc=0
chroot "$root" env $env sh -c 'cd /root/sitegate && CI=true exec make check' >"$log/check.log" 2>&1 || rc=$?
t1=$(date +%s)
pkgs >"$log/pkgs.2"
mb2=$(size)
tail -n 1 "$log/check.log"
echo "fresh-root: make check exit $rc after $((t1 - t0)) s;" \
    "$(comm -13 "$log/pkgs.1" "$log/pkgs.2" | wc -l) more packages installed," \
    "root +$((mb2 - mb1)) MB more; logs in $log"
[ "$rc" -eq 0 ] && tail -n 1 "$log/check.log" | grep -q ' 0 failed'
