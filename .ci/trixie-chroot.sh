#!/bin/sh
# A Debian 13 (trixie) chroot with libtorch 2.6, to run the libtorch-tagged
# tests against a second libtorch version (Debian 12 ships 1.13).
#
# Usage (as root):
#   .ci/trixie-chroot.sh DIR            create DIR (debootstrap) or update it,
#                                       install the packages, mount /proc /sys
#                                       /dev /dev/pts into it
#   .ci/trixie-chroot.sh --umount DIR   unmount everything mounted under DIR
#
# Re-runnable: an existing chroot is only updated (apt-get install is a no-op
# when nothing changed), mounts already in place are kept, stale ones from an
# interrupted run are replaced. Environment:
#   MIRROR         Debian mirror (default http://deb.debian.org/debian)
#   EXTRA_PACKAGES more packages to install in the chroot (space separated)
#   BIND           more host directories to bind-mount at the same path
#                  (space separated), e.g. "/usr/local/go $(go env GOMODCACHE)
#                  /work/checkout"; --umount removes them too
#
# Running the Go tests inside (a separate checkout: build/ and go.work must not
# be shared with a Debian 12 build):
#   BIND="/usr/local/go $(go env GOMODCACHE) /work/wt-trixie" .ci/trixie-chroot.sh /srv/trixie
#   chroot /srv/trixie /usr/bin/env -i HOME=/root PATH=/usr/local/go/bin:/usr/bin:/bin \
#     GOMODCACHE=$(go env GOMODCACHE) GOFLAGS=-mod=mod GOPROXY=off \
#     sh -c 'cd /work/wt-trixie && make build && go test -tags torch ./experiments/...'
#   .ci/trixie-chroot.sh --umount /srv/trixie
set -eu

PACKAGES="libtorch-dev python3-torch libopenblas0-pthread g++ make git ca-certificates"
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=trixie

die() { echo "trixie-chroot: $*" >&2; exit 1; }
log() { echo "trixie-chroot: $*" >&2; }

usage() {
	echo "usage: $0 DIR | $0 --umount DIR" >&2
	exit 2
}

# mounted DIR: whether DIR is a mount point (from /proc/self/mounts, which
# escapes blanks as \040; DIR here never contains any, checked below).
mounted() {
	awk -v d="$1" '$2 == d { f = 1 } END { exit !f }' /proc/self/mounts
}

# umount_all DIR: unmount every mount point at or below DIR, deepest first
# (binds of /dev carry /dev/pts etc.; lazy unmount as a last resort so that
# a busy mount cannot leave the chroot half mounted).
umount_all() {
	root=$1
	points=$(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
	[ -n "$points" ] || return 0
	for p in $points; do
		if ! umount "$p" 2>/dev/null; then
			log "umount $p failed (busy?), detaching it lazily"
			umount -l "$p" || die "cannot unmount $p"
		fi
	done
	# A recursive bind can leave submounts that appear only once the parent
	# is gone; go again until nothing is left.
	if awk -v r="$root" '$2 == r || index($2, r "/") == 1 { f = 1 } END { exit !f }' /proc/self/mounts; then
		umount_all "$root"
	fi
}

# bind SRC DST: bind-mount SRC at DST unless already mounted there.
bind() {
	src=$1 dst=$2
	[ -e "$src" ] || die "$src does not exist on the host"
	if mounted "$dst"; then
		return 0
	fi
	if [ -d "$src" ]; then
		mkdir -p "$dst"
	else
		mkdir -p "$(dirname "$dst")"
		[ -e "$dst" ] || : >"$dst"
	fi
	mount --bind "$src" "$dst" || die "mount --bind $src $dst failed"
}

mount_all() {
	root=$1
	mkdir -p "$root/proc" "$root/sys" "$root/dev"
	if ! mounted "$root/proc"; then
		mount -t proc proc "$root/proc" || die "cannot mount proc on $root/proc"
	fi
	if ! mounted "$root/sys"; then
		mount --rbind /sys "$root/sys" || die "cannot bind /sys"
		mount --make-rslave "$root/sys" 2>/dev/null || :
	fi
	if ! mounted "$root/dev"; then
		mount --rbind /dev "$root/dev" || die "cannot bind /dev"
		mount --make-rslave "$root/dev" 2>/dev/null || :
	fi
	# Host name resolution for apt (a copy, not a bind: the chroot may outlive it).
	if [ -f /etc/resolv.conf ]; then
		cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || :
	fi
	for d in ${BIND:-}; do
		case $d in
		/*) ;;
		*) die "BIND entries must be absolute paths: $d" ;;
		esac
		bind "$d" "$root$d"
	done
}

[ $# -ge 1 ] || usage
UMOUNT=0
if [ "$1" = "--umount" ]; then
	UMOUNT=1
	shift
fi
[ $# -eq 1 ] || usage
DIR=$1
case $DIR in
"" | / | *" "* | *"	"*) die "DIR must be a non-root path without blanks: '$DIR'" ;;
esac
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, mount, chroot)"
# Absolute, without a trailing slash, so that it matches /proc/self/mounts.
case $DIR in
/*) ;;
*) DIR=$(pwd)/$DIR ;;
esac
DIR=${DIR%/}

if [ $UMOUNT -eq 1 ]; then
	[ -d "$DIR" ] || die "$DIR does not exist"
	umount_all "$DIR"
	log "unmounted everything under $DIR"
	exit 0
fi

command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found (apt-get install debootstrap)"

# A chroot is complete once the marker below exists. A directory without it
# is either a finished debootstrap made by hand (adopted), an interrupted
# debootstrap (its debootstrap/ work directory is still there: removed and
# started again) or something else (refused: never delete what is not ours).
MARK=$DIR/var/lib/trixie-chroot.bootstrapped
if [ ! -f "$MARK" ]; then
	if [ -d "$DIR/debootstrap" ]; then
		log "$DIR holds an interrupted debootstrap: removing it and starting again"
		umount_all "$DIR"
		rm -rf --one-file-system "$DIR"
	elif [ -x "$DIR/usr/bin/apt-get" ] && grep -qs '^VERSION_CODENAME=trixie' "$DIR/etc/os-release"; then
		log "adopting the existing trixie system in $DIR"
		: >"$MARK"
	elif [ -d "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
		die "$DIR is neither empty nor a trixie chroot; refusing to touch it"
	fi
fi
if [ ! -f "$MARK" ]; then
	mkdir -p "$DIR"
	log "debootstrap $SUITE into $DIR (from $MIRROR)"
	debootstrap --variant=minbase "$SUITE" "$DIR" "$MIRROR" || die "debootstrap failed (see $DIR/debootstrap/debootstrap.log)"
	: >"$MARK"
fi

# Never let the chroot start services (postinst scripts of some packages try).
if [ ! -f "$DIR/usr/sbin/policy-rc.d" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$DIR/usr/sbin/policy-rc.d"
	chmod 755 "$DIR/usr/sbin/policy-rc.d"
fi

mount_all "$DIR"

# shellcheck disable=SC2086 # word splitting of the package lists is intended
if ! chroot "$DIR" dpkg -s $PACKAGES ${EXTRA_PACKAGES:-} >/dev/null 2>&1; then
	log "installing $PACKAGES ${EXTRA_PACKAGES:-}"
	chroot "$DIR" /usr/bin/env -i DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		sh -c 'apt-get update -q && apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "$@"' \
		sh $PACKAGES ${EXTRA_PACKAGES:-} || die "apt-get install in the chroot failed"
fi
v=$(chroot "$DIR" dpkg-query -W -f '${Version}' libtorch-dev 2>/dev/null) || die "libtorch-dev missing in the chroot"
log "ready: $DIR (libtorch-dev $v), mounted; '$0 --umount $DIR' to unmount"
