#!/usr/bin/env bash
# Build the root filesystem of the offline harness image into DIR.
#
#   docker/offline/build-rootfs.sh DIR
#
# Needs root and debootstrap, and reaches only a Debian mirror
# (env DEBIAN_MIRROR, default http://deb.debian.org/debian): no Docker Hub, no PyPI.
# scripts/lib/image.ts runs it, then imports DIR with `tar -C DIR -c . | docker import`
# and the settings of image.conf. Packages come from packages.txt beside this script.
# DIR must not exist or be empty; on failure it is left for the caller to delete.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

log() { printf 'build-rootfs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -eq 1 ] || die "usage: build-rootfs.sh DIR"
dir=$1
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap creates device nodes and chroots)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"
if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
  die "$dir exists and is not empty"
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ "$dir" != / ] || die "refusing to build into /"

# Anything debootstrap left mounted inside DIR (it mounts /proc and /sys in the
# target while configuring) must go before anybody deletes DIR.
unmount_inside() {
  local m
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}
trap unmount_inside EXIT

packages=$(sed -e 's/#.*//' "$here/packages.txt" | tr -s ' \t\n' '\n' | grep -v '^$' | paste -sd, -)
[ -n "$packages" ] || die "no packages in $here/packages.txt"

log "debootstrap --variant=minbase $suite $dir $mirror"
log "packages: $packages"
debootstrap --variant=minbase --include="$packages" "$suite" "$dir" "$mirror"

in_root() { chroot "$dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 "$@"; }

log "configuring git, /workspace, python"
# Repositories belong to other uids than root's: trust them all. A committer
# identity lets `git apply --3way`, `git commit` and `git stash` work.
in_root git config --system safe.directory '*'
in_root git config --system user.name 'swe-harness'
in_root git config --system user.email 'swe-harness@localhost'
in_root git config --system init.defaultBranch main
in_root git config --system advice.detachedHead false
mkdir -p "$dir/workspace"
# python-is-python3 provides the symlink; make sure of it whatever the package does.
[ -e "$dir/usr/bin/python" ] || ln -s python3 "$dir/usr/bin/python"

log "removing apt caches, docs and logs"
in_root apt-get clean
rm -rf "${dir:?}"/var/lib/apt/lists/* "${dir:?}"/var/cache/apt/*.bin \
  "${dir:?}"/usr/share/doc/* "${dir:?}"/usr/share/man/* "${dir:?}"/usr/share/info/* \
  "${dir:?}"/usr/share/lintian/* "${dir:?}"/var/cache/debconf/*-old \
  "${dir:?}"/var/log/*.log "${dir:?}"/var/log/apt/* "${dir:?}"/tmp/* "${dir:?}"/root/.cache
# Docker provides these at run time; the build host's must not leak into the image.
rm -f "$dir/etc/hostname" "$dir/etc/resolv.conf"
: > "$dir/etc/hostname"

log "checking the tools"
for tool in python python3 pip git patch ps kill timeout bash; do
  in_root which "$tool" >/dev/null || die "$tool is missing from the rootfs"
done
in_root python3 -c 'import pytest, numpy, pandas, setuptools, wheel, django, sympy' || die "a Python package does not import"
in_root python3 -c 'import sys, pytest, numpy, pandas, django, sympy; print("python %d.%d.%d, pytest %s, numpy %s, pandas %s, django %s, sympy %s" % (sys.version_info[:3] + (pytest.__version__, numpy.__version__, pandas.__version__, django.__version__, sympy.__version__)))' >&2
log "done: $dir"
