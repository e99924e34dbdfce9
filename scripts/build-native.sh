#!/bin/sh
# build-native.sh: build lib/libcofitorch.so, the native half of the harness,
# against one libtorch, with only a C++ compiler and that libtorch (no Go).
#
# bin/cofi is linked against this library's C symbols only (gotch's C API and
# native/cofi_native.h), so one binary built on any machine runs against a
# library rebuilt here for libtorch 1.13-2.x, CPU or CUDA. REPRODUCE.md,
# "GPU machines", explains the two-step build. Run with -h for the options.
set -eu

API_VERSION=1 # bump when cofi_native.h's meaning changes without a declaration change

usage() {
	cat <<'EOF'
usage: scripts/build-native.sh [options] [LIBTORCH]

Builds lib/libcofitorch.so (gotch's C wrapper of libtorch plus the harness's
own C functions) against one libtorch. Needs a C++ compiler ($CXX, default
g++), sh, awk, sed and sha256sum; no Go. Rebuilds only when an input changed.

LIBTORCH (default: $LIBTORCH, else Debian's libtorch-dev) is one of
  - an unpacked libtorch (pytorch.org zip: include/, lib/)
  - a Python torch package directory (.../site-packages/torch) or the
    site-packages directory above it

options:
  --python PY   build against the torch package that interpreter imports
                (e.g. --python python3); overrides LIBTORCH
  --src DIR     gotch's unpatched C++ sources (default build/native/gotch,
                which 'make build' fills; carry it to a machine without Go)
  --out DIR     where the library goes (default lib/; bin/cofi looks in
                ../lib next to itself, or where LD_LIBRARY_PATH says)
  --work DIR    scratch directory (default build/native/work)
  --jobs N      parallel compiler processes (default: the number of cores)
  --install     install Debian's libtorch-dev, libopenblas0-pthread and g++
                with apt-get when they are missing and no LIBTORCH is given
                (as root)
  --force       rebuild even when nothing changed
  --print       only detect the libtorch and print what was found
  -q            print nothing when the library is up to date
  -h, --help    this help

Functions of gotch's wrapper that do not compile against the given libtorch
(operators it lacks) are replaced by ones that return a clear error; their
names are listed in lib/libcofitorch.guarded.
EOF
}

die() {
	echo "build-native: $*" >&2
	exit 1
}
say() { echo "build-native: $*" >&2; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LT=${LIBTORCH:-}
PY=""
SRC=$ROOT/build/native/gotch
OUT=$ROOT/lib
WORK=$ROOT/build/native/work
JOBS=""
INSTALL=0
FORCE=0
PRINT=0
QUIET=0
CXX=${CXX:-g++}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--python) [ $# -ge 2 ] || die "--python needs an interpreter"; PY=$2; shift ;;
	--python=*) PY=${1#*=} ;;
	--src) [ $# -ge 2 ] || die "--src needs a directory"; SRC=$2; shift ;;
	--src=*) SRC=${1#*=} ;;
	--out) [ $# -ge 2 ] || die "--out needs a directory"; OUT=$2; shift ;;
	--out=*) OUT=${1#*=} ;;
	--work) [ $# -ge 2 ] || die "--work needs a directory"; WORK=$2; shift ;;
	--work=*) WORK=${1#*=} ;;
	--jobs) [ $# -ge 2 ] || die "--jobs needs a number"; JOBS=$2; shift ;;
	--jobs=*) JOBS=${1#*=} ;;
	--libtorch) [ $# -ge 2 ] || die "--libtorch needs a directory"; LT=$2; shift ;;
	--libtorch=*) LT=${1#*=} ;;
	--install) INSTALL=1 ;;
	--force) FORCE=1 ;;
	--print) PRINT=1 ;;
	-q) QUIET=1 ;;
	-*) echo "build-native: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) LT=$1 ;;
	esac
	shift
done

case $JOBS in
"") JOBS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 2) ;;
*[!0-9]* | 0) echo "build-native: --jobs $JOBS: want a positive number" >&2; exit 2 ;;
esac
[ "$JOBS" -gt 16 ] && JOBS=16

# ---- find libtorch ----------------------------------------------------------

if [ -n "$PY" ]; then
	command -v "$PY" >/dev/null 2>&1 || die "--python $PY: no such interpreter"
	LT=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) ||
		die "--python $PY: 'import torch' failed; install torch for that interpreter or give a libtorch directory"
fi

MULTIARCH=$( (gcc -print-multiarch || $CXX -print-multiarch) 2>/dev/null || true)
[ -n "$MULTIARCH" ] || MULTIARCH=x86_64-linux-gnu

debian_ready() {
	[ -f /usr/include/torch/csrc/api/include/torch/version.h ] &&
		[ -f "/usr/lib/$MULTIARCH/libtorch.so" ] &&
		command -v "$CXX" >/dev/null 2>&1
}

if [ -z "$LT" ]; then
	if ! debian_ready; then
		pkgs="libtorch-dev libopenblas0-pthread g++"
		cmd="apt-get update && apt-get install -y $pkgs"
		if [ "$INSTALL" = 1 ] && [ "$(id -u)" = 0 ]; then
			say "installing $pkgs with apt-get"
			DEBIAN_FRONTEND=noninteractive sh -c "$cmd" >&2 || die "$cmd failed"
		else
			die "libtorch is missing; install Debian's with: sudo sh -c '$cmd' (or give a libtorch directory or --python python3)"
		fi
	fi
	LT_SOURCE=debian
	LT_ROOT=/usr
	LT_INCS="/usr/include /usr/include/torch/csrc/api/include"
	LT_LIBDIR=/usr/lib/$MULTIARCH
	VERSION_H=/usr/include/torch/csrc/api/include/torch/version.h
else
	[ -d "$LT" ] || die "libtorch $LT: no such directory (want an unpacked libtorch with include/ and lib/, or a Python torch package directory)"
	LT=$(cd "$LT" && pwd)
	[ -d "$LT/torch/lib" ] && LT=$LT/torch # site-packages given
	LT_SOURCE=libtorch
	[ -f "$LT/__init__.py" ] && LT_SOURCE=python
	LT_ROOT=$LT
	LT_INCS="$LT/include $LT/include/torch/csrc/api/include"
	LT_LIBDIR=$LT/lib
	VERSION_H=$LT/include/torch/csrc/api/include/torch/version.h
fi
[ -f "$VERSION_H" ] || die "libtorch not found: no $VERSION_H (want an unpacked libtorch with include/ and lib/, or a Python torch package directory)"
v() { sed -n "s/^#define TORCH_VERSION_$1 \([0-9][0-9]*\).*/\1/p" "$VERSION_H" | head -n 1; }
LT_VERSION="$(v MAJOR).$(v MINOR).$(v PATCH)"
case $LT_VERSION in [0-9]*.[0-9]*.*) ;; *) die "$VERSION_H: no TORCH_VERSION_MAJOR/MINOR defines" ;; esac
for l in libtorch.so libtorch_cpu.so libc10.so; do
	[ -e "$LT_LIBDIR/$l" ] || die "libtorch not found: $l missing in $LT_LIBDIR"
done
LT_CUDA=0
[ -e "$LT_LIBDIR/libtorch_cuda.so" ] && LT_CUDA=1

# The C++ ABI libc10 was built with: std::string in its exported names is
# std::__cxx11::basic_string under the new ABI.
if command -v nm >/dev/null 2>&1; then
	syms=$(nm -D --defined-only "$LT_LIBDIR/libc10.so" 2>/dev/null | awk '{print $NF}') || syms=""
else
	syms=$(tr -c 'A-Za-z0-9_' '\n' <"$LT_LIBDIR/libc10.so" | grep '^_Z' || true)
fi
if printf '%s\n' "$syms" | grep -q '__cxx1112basic_string'; then
	LT_ABI=1
elif printf '%s\n' "$syms" | grep -q 'basic_string\|Ss'; then
	LT_ABI=0
else
	die "cannot tell the C++ ABI of $LT_LIBDIR/libc10.so: no exported symbol mentions std::string"
fi
LT_DEV=CPU
[ "$LT_CUDA" = 1 ] && LT_DEV=CUDA
DESC="libtorch $LT_VERSION ($LT_SOURCE, $LT_DEV, C++11 ABI=$LT_ABI) at $LT_ROOT"

if [ "$PRINT" = 1 ]; then
	printf 'source=%s\nroot=%s\nversion=%s\nlibdir=%s\ncuda=%s\nabi=%s\nincludes=%s\n' \
		"$LT_SOURCE" "$LT_ROOT" "$LT_VERSION" "$LT_LIBDIR" "$LT_CUDA" "$LT_ABI" "$LT_INCS"
	exit 0
fi

# ---- inputs and the up-to-date check ----------------------------------------

NATIVE=$ROOT/native
for f in torch_api.cpp torch_api.h torch_api_generated.cpp.h torch_api_generated.h; do
	[ -f "$SRC/$f" ] || die "gotch's sources not found: no $SRC/$f ('make build' copies them there from the Go module cache; on a machine without Go, carry build/native from one that ran it)"
done
for f in cofi_native.h cofi_native.cpp guard.awk; do
	[ -f "$NATIVE/$f" ] || die "missing $NATIVE/$f"
done
command -v "$CXX" >/dev/null 2>&1 || die "C++ compiler $CXX not found (apt-get install -y g++, or set CXX)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found (coreutils)"

# The C API stamp: the binary compares it with its own at start. Go's side
# (internal/torchsetup) hashes the same three files in the same order.
API="cofi-native-$API_VERSION:$(cat "$SRC/torch_api.h" "$SRC/torch_api_generated.h" "$NATIVE/cofi_native.h" | sha256sum | cut -c1-16)"
CXXV=$($CXX --version 2>/dev/null | head -n 1)
STAMP=$(
	{
		echo "$API $DESC $LT_LIBDIR $LT_INCS $CXXV ${CXXFLAGS:-}"
		cat "$0" "$NATIVE/guard.awk" "$NATIVE/cofi_native.h" "$NATIVE/cofi_native.cpp" "$VERSION_H"
		for f in "$SRC"/*; do cat "$f"; done
	} | sha256sum | cut -c1-64
)
LIB=$OUT/libcofitorch.so
if [ "$FORCE" = 0 ] && [ -f "$LIB" ] && [ -f "$OUT/.libcofitorch.stamp" ] && [ "$(cat "$OUT/.libcofitorch.stamp")" = "$STAMP" ]; then
	[ "$QUIET" = 1 ] || say "$LIB is up to date for $DESC"
	exit 0
fi

# ---- compile, guarding what does not compile ----------------------------------

start=$(date +%s)
say "building $LIB for $DESC with $JOBS jobs"
rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"
cp "$SRC"/*.h "$SRC"/*.cpp "$WORK"/
chmod u+w "$WORK"/*

# gotch compiles its wrapper as one translation unit (torch_api.cpp includes
# the generated 2,500 functions). Split it so the compiler runs in parallel:
# api.cpp (the hand-written part, which defines torch_last_err) and gen_K.cpp
# (the generated functions), which see torch_last_err as extern.
grep -v '^#include "torch_api_generated.cpp.h"' "$WORK/torch_api.cpp" >"$WORK/api.cpp"
sed 's/^thread_local char \*torch_last_err = nullptr;/extern thread_local char *torch_last_err;/' "$WORK/torch_api.h" >"$WORK/torch_api_extern.h"
UNITS="api"
if grep -q '^extern thread_local char \*torch_last_err;' "$WORK/torch_api_extern.h" && [ "$JOBS" -gt 1 ]; then
	{
		echo '#include "torch_api_extern.h"'
		grep '^#include' "$WORK/torch_api.cpp" | grep -v 'stb_image\|"torch_api.h"\|torch_api_generated'
	} >"$WORK/gen_prologue.h"
	total=$(wc -l <"$WORK/torch_api_generated.cpp.h")
	LC_ALL=C awk -v n="$JOBS" -v total="$total" -v dir="$WORK" '
		BEGIN { k = 0; out = sprintf("%s/gen_%02d.cpp", dir, k); print "#include \"gen_prologue.h\"" > out }
		{ print > out }
		/^}/ && NR >= (k + 1) * total / n && k < n - 1 {
			close(out); k++; out = sprintf("%s/gen_%02d.cpp", dir, k)
			print "#include \"gen_prologue.h\"" > out
		}' "$WORK/torch_api_generated.cpp.h"
	for f in "$WORK"/gen_*.cpp; do UNITS="$UNITS $(basename "$f" .cpp)"; done
else
	# One translation unit, as gotch builds it.
	cp "$WORK/torch_api.cpp" "$WORK/api.cpp"
fi

CXXF="-std=c++17 -g0 -O1 -w -fPIC -D_GLIBCXX_USE_CXX11_ABI=$LT_ABI -I$WORK -I$NATIVE ${CXXFLAGS:-}"
for i in $LT_INCS; do CXXF="$CXXF -I$i"; done

compile() { # unit: writes unit.o, or unit.diag and unit.failed
	rm -f "$WORK/$1.failed"
	# shellcheck disable=SC2086 # CXXF is a list of flags
	LC_ALL=C $CXX $CXXF -c "$WORK/$1.cpp" -o "$WORK/$1.o" >"$WORK/$1.diag" 2>&1 || touch "$WORK/$1.failed"
}

: >"$WORK/guarded"
todo=$UNITS
round=1
while [ -n "$todo" ]; do
	t0=$(date +%s)
	for u in $todo; do compile "$u" & done
	wait
	failed=""
	for u in $todo; do [ -f "$WORK/$u.failed" ] && failed="$failed $u"; done
	[ -z "$failed" ] && break
	[ "$round" -ge 6 ] && die "gotch's wrapper still does not compile after 6 rounds of guarding; see $WORK/*.diag"
	before=$(wc -l <"$WORK/guarded")
	for u in $failed; do
		# An error in a generated unit can point into api.cpp's templates
		# only through api.cpp itself, so each unit guards its own file.
		f=$u.cpp
		LC_ALL=C awk -v file="$f" -v why="libtorch $LT_VERSION" -v list="$WORK/guarded" \
			-f "$NATIVE/guard.awk" "$WORK/$u.diag" "$WORK/$f" >"$WORK/$f.new"
		mv "$WORK/$f.new" "$WORK/$f"
	done
	after=$(wc -l <"$WORK/guarded")
	if [ "$after" -eq "$before" ]; then
		u=${failed# }
		u=${u%% *}
		echo "build-native: gotch's wrapper does not compile against $DESC and the errors are outside functions that can be guarded; the first of $WORK/$u.diag:" >&2
		grep -m 30 '' "$WORK/$u.diag" >&2
		exit 1
	fi
	say "round $round: $(echo $failed | wc -w) of $(echo $todo | wc -w) units failed ($(($(date +%s) - t0))s); $((after - before)) functions the libtorch lacks replaced by errors"
	todo=$failed
	round=$((round + 1))
done
sort -u "$WORK/guarded" >"$WORK/guarded.sorted"
NGUARDED=$(wc -l <"$WORK/guarded.sorted" | tr -d ' ')

# The harness's own functions, with what the library was built for.
printf 'source=%s\ncuda=%s\nabi=%s\nguarded=%s\nroot=%s\nbuilt=%s\ncompiler=%s\n' \
	"$LT_SOURCE" "$LT_CUDA" "$LT_ABI" "$NGUARDED" "$LT_ROOT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$CXXV" >"$WORK/info.txt"
{
	echo "#define COFI_NATIVE_API \"$API\""
	printf '#define COFI_NATIVE_INFO'
	# one C string literal per line, each ending in \n; adjacent literals concatenate
	sed 's/\\/\\\\/g; s/"/\\"/g; s/^/ "/; s/$/\\n"/' "$WORK/info.txt" | tr '\n' ' '
	echo
} >"$WORK/cofi_native_build.h"
{
	echo '#include "cofi_native_build.h"'
	cat "$NATIVE/cofi_native.cpp"
} >"$WORK/cofi_native.cpp"
compile cofi_native
[ -f "$WORK/cofi_native.failed" ] && { cat "$WORK/cofi_native.diag" >&2; die "native/cofi_native.cpp does not compile against $DESC"; }

# ---- link ---------------------------------------------------------------------

LIBS="-ltorch -ltorch_cpu -lc10"
# Nothing references libtorch_cuda directly; without --no-as-needed a linker
# that defaults to --as-needed drops it and CUDA reports "not available".
[ "$LT_CUDA" = 1 ] && LIBS="$LIBS -ltorch_cuda -lc10_cuda"
RPATH=""
[ "$LT_SOURCE" = debian ] || RPATH="-Wl,-rpath,$LT_LIBDIR"
OBJS=""
for u in $UNITS cofi_native; do OBJS="$OBJS $WORK/$u.o"; done
# shellcheck disable=SC2086
$CXX -shared -o "$LIB.tmp" $OBJS -Wl,-soname,libcofitorch.so -Wl,--enable-new-dtags $RPATH \
	-L"$LT_LIBDIR" -Wl,--no-as-needed $LIBS -Wl,--as-needed >"$WORK/link.diag" 2>&1 ||
	{ cat "$WORK/link.diag" >&2; die "linking $LIB failed"; }
mv "$LIB.tmp" "$LIB"
cp "$WORK/guarded.sorted" "$OUT/libcofitorch.guarded"
{
	echo "api=$API"
	echo "libtorch=$LT_VERSION"
	cat "$WORK/info.txt"
} >"$OUT/libcofitorch.info"
echo "$STAMP" >"$OUT/.libcofitorch.stamp"
say "built $LIB for $DESC in $(($(date +%s) - start))s ($NGUARDED wrapper functions unavailable in this libtorch; list in $OUT/libcofitorch.guarded)"
