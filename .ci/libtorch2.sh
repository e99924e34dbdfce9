#!/bin/sh
# A rehearsal of a GPU machine on a second libtorch: Debian 13's libtorch 2.6
# (CPU) in a chroot (.ci/trixie-chroot.sh), next to Debian 12's 1.13 that the
# rest of 'make test' uses. Like a GPU box, the chroot has no Go: bin/cofi and
# the torch-tagged test binaries are built here, once, outside; inside, the
# native library is rebuilt from the Python torch package with
# scripts/build-native.sh, the test binaries run against it, and so does
# scripts/gpu-check.sh --device cpu.
#
# Needs root (debootstrap, mount, chroot), about 2 GB and Debian's mirror.
# COFI_LIBTORCH2_TESTS=skip skips it explicitly; COFI_CHROOT (default
# /srv/trixie) is where the chroot lives and is kept for the next run.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHROOT=${COFI_CHROOT:-/srv/trixie}
GO=${GO:-go}
say() { echo "libtorch2: $*" >&2; }
die() {
	say "$*"
	exit 1
}

if [ "${COFI_LIBTORCH2_TESTS:-}" = skip ]; then
	say "skipped (COFI_LIBTORCH2_TESTS=skip): the torch-tagged tests and gpu-check did not run against libtorch 2.6"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "needs root to build and enter a Debian 13 chroot (debootstrap, mount, chroot); run as root, or set COFI_LIBTORCH2_TESTS=skip to skip it explicitly"
case $ROOT in *" "*) die "the checkout's path $ROOT has a blank; the chroot bind-mounts it at the same path" ;; esac
[ -x "$ROOT/bin/cofi" ] || die "no bin/cofi: run 'make build' first"

start=$(date +%s)
TESTS=$ROOT/build/libtorch2/tests
LIB=$ROOT/build/libtorch2/lib
rm -rf "$TESTS"
mkdir -p "$TESTS" "$LIB"

# 1. Outside, with Go: one test binary per package with torch-tagged tests.
cd "$ROOT"
pkgs=$($GO list -tags torch -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}|{{.Dir}}{{end}}' ./experiments/... ./baselines/... ./cmd/...)
for p in $pkgs; do
	imp=${p%%|*}
	name=$(echo "${imp#*/cofi/}" | tr / _)
	$GO test -c -tags torch -o "$TESTS/$name.test" "$imp" || die "go test -c $imp failed"
	echo "$name ${p#*|}" >>"$TESTS/list"
done
say "built $(wc -l <"$TESTS/list") test binaries ($(($(date +%s) - start))s)"

# 2. The chroot, with this checkout bind-mounted at the same path.
BIND="$ROOT" sh "$ROOT/.ci/trixie-chroot.sh" "$CHROOT"
cleanup() { sh "$ROOT/.ci/trixie-chroot.sh" --umount "$CHROOT" || :; }
trap cleanup EXIT INT TERM
# OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning, as the two
# lanes below share the cores.
inside() { chroot "$CHROOT" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TMPDIR=/tmp OMP_WAIT_POLICY=PASSIVE "$@"; }
inside sh -c 'command -v go' >/dev/null 2>&1 && die "go is on the chroot's PATH; the rehearsal must run without it"

# 3. Inside, without Go: the native library from the Python torch package.
inside sh "$ROOT/scripts/build-native.sh" --python python3 --out "$LIB" --work "$ROOT/build/libtorch2/work" ||
	die "scripts/build-native.sh failed against the chroot's libtorch"
say "native library: $(tr '\n' ' ' <"$LIB/libcofitorch.info")"

# 4. The torch-tagged tests against it, and 5. gpu-check on the CPU reusing
# the library built above, in two lanes so that both cores work: the longest
# test binary (experiments/cofi, the pruning evidence) in one, every other
# binary and then gpu-check in the other. The Slurm tests are not among them
# (untagged); TeX is checked outside (COFI_SKIP_TEX).
run_test() { # NAME DIR: runs one test binary, leaves NAME.log and NAME.status
	t0=$(date +%s)
	if inside sh -c 'cd "$1" && LD_LIBRARY_PATH="$2" COFI_SKIP_TEX=1 "$3" -test.timeout 30m' sh "$2" "$LIB" "$TESTS/$1.test" >"$TESTS/$1.log" 2>&1; then
		st=ok
	else
		st=FAIL
	fi
	echo "$st $1 $(($(date +%s) - t0))s" >"$TESTS/$1.status"
}
HEAVY=experiments_cofi
grep "^$HEAVY " "$TESTS/list" | while read -r name dir; do run_test "$name" "$dir"; done &
heavy=$!
grep -v "^$HEAVY " "$TESTS/list" | while read -r name dir; do run_test "$name" "$dir"; done
gpucheck=ok
inside sh "$ROOT/scripts/gpu-check.sh" --device cpu --python python3 --lib "$LIB" --out "$ROOT/build/libtorch2/gpu-check" || gpucheck=FAIL
wait "$heavy" || :

failed=""
while read -r name dir; do
	line=$(cat "$TESTS/$name.status" 2>/dev/null || echo "FAIL $name (did not finish)")
	echo "$line (libtorch 2.6)"
	case $line in
	ok*) ;;
	*)
		tail -n 40 "$TESTS/$name.log"
		failed="$failed $name"
		;;
	esac
done <"$TESTS/list"
[ $gpucheck = ok ] || failed="$failed gpu-check"
say "done in $(($(date +%s) - start))s"
[ -z "$failed" ] || die "failed against libtorch 2.6:$failed (logs in $TESTS/ and build/libtorch2/gpu-check/)"
