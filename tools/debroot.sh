#!/bin/sh
# A minimal Debian 12 root for the package's install test, cached:
#   tools/debroot.sh CACHE      → prints CACHE/bookworm.tar, made when missing
# debootstrap (variant minbase) from the mirror the host's apt uses, then
# apt-get update inside, so that a copy can install a .deb and take its
# dependencies from the mirror. The test keeps the .debs it downloads in
# CACHE/archives/ and puts them back into each copy: a second run needs no
# network.
#
# A tar, not a folder: the Makefile includes every *.d it finds under build/,
# and a Debian root is full of folders named so (rc2.d, apt.conf.d...). The
# root is made in a temporary folder outside build/ and the tar renamed into
# place, so a broken run leaves nothing half made.
set -eu

cache=$1
tarball=$cache/bookworm.tar
[ -s "$tarball" ] && { echo "$tarball"; exit 0; }

# The host's mirror: the first URIs: of a deb822 source, or the first deb line.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
	/etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1 || true)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' \
	/etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1 || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

mkdir -p "$cache/archives"
log=$cache/debootstrap.log
work=$(mktemp -d "${TMPDIR:-/var/tmp}/sitegate-debroot.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
echo "debroot: debootstrap bookworm from $mirror (log: $log)" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$log" 2>&1 || {
	tail -n 20 "$log" >&2; exit 1; }

# Keep what apt downloads (the test collects it), start no service from a
# maintainer script (policy-rc.d: this is a chroot), resolve the mirror.
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' \
	>"$root/etc/apt/apt.conf.d/90keep-debs"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
chroot "$root" apt-get update -q >>"$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
rm -f "$root"/var/cache/apt/archives/*.deb

tar --numeric-owner -C "$root" -cf "$tarball.new" .
mv "$tarball.new" "$tarball"
echo "$tarball"
