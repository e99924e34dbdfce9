#!/bin/sh
# gpu-check.sh: check the harness on one machine's libtorch and device in a few
# minutes, with a prebuilt bin/cofi and no Go. Run with -h for what it does.
set -u

usage() {
	cat <<'EOF'
usage: scripts/gpu-check.sh [--device cuda|cpu] [--out DIR] [--python PY] [--lib DIR] [--jobs N]

Needs only a prebuilt bin/cofi (make build, on any machine with Go), the native
sources (native/, scripts/, and build/native/gotch, which make build fills), a
C++ compiler and a python3 with torch. It

  0. builds the native library against that python's torch
     (scripts/build-native.sh --python PY), into --lib, and runs bin/cofi on it
     through LD_LIBRARY_PATH;
  a. records 'cofi version --json': libtorch version, CUDA available, devices;
  b. CUDA smoke ('cofi device-check'): a tiny BERT's forward on the device equals
     its CPU forward within 1e-4 on the same weights; a training step on the device
     changes the weights with a finite loss;
  c. CoFi end to end ('cofi run configs/gpu-check.toml'): syn-single, a tiny BERT,
     teacher, pruning to 70 %, final fine-tuning and latency; the compact model must
     be within 0.02 of the target and no number NaN;
  d. Go vs PyTorch on the device, same libtorch (the python's torch): training step
     and inference of BERT-base (12 layers, 32×128), fastest of 5, the ratio;
  e. the paper's latency protocol: BERT-base and compact models with the paper's
     95 % structures at 128×128, fp32, synchronised, speedups next to the FLOP
     ratio and the paper's V100 figures.

On --device cpu, d and e use small shapes (2 layers, 8×64) so that CI runs it on
every change. Writes DIR/summary.json (every figure and check), DIR/gpu-check.log
and each step's own output; exit status 0 when every check passed.

options:
  --device D   cuda (default) or cpu
  --out DIR    output folder (default results/gpu-check-<device>)
  --python PY  interpreter whose torch is used (default python3)
  --lib DIR    where the native library is built and kept, so a rerun reuses it
               (default build/native/gpu-check-lib)
  --jobs N     compiler processes for the native build (default: all cores)
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEVICE=cuda
OUT=""
PY=python3
LIB=$ROOT/build/native/gpu-check-lib
JOBS=""
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--device) DEVICE=${2:-}; shift ;;
	--device=*) DEVICE=${1#*=} ;;
	--out) OUT=${2:-}; shift ;;
	--out=*) OUT=${1#*=} ;;
	--python) PY=${2:-}; shift ;;
	--python=*) PY=${1#*=} ;;
	--lib) LIB=${2:-}; shift ;;
	--lib=*) LIB=${1#*=} ;;
	--jobs) JOBS=${2:-}; shift ;;
	--jobs=*) JOBS=${1#*=} ;;
	*) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $DEVICE in cuda | cpu) ;; *) echo "gpu-check: --device $DEVICE: want cuda or cpu" >&2; exit 2 ;; esac
[ -n "$OUT" ] || OUT=$ROOT/results/gpu-check-$DEVICE
mkdir -p "$OUT" "$LIB" || exit 1
OUT=$(cd "$OUT" && pwd)
LIB=$(cd "$LIB" && pwd)
LOG=$OUT/gpu-check.log
STEPS=$OUT/steps.tsv
: >"$LOG"
: >"$STEPS"
BIN=$ROOT/bin/cofi
START=$(date +%s)

log() { echo "gpu-check: $*" | tee -a "$LOG" >&2; }
die() {
	log "$*"
	exit 1
}

[ -x "$BIN" ] || die "no $BIN: build it with 'make build' on a machine with Go and bring bin/ here"
command -v "$PY" >/dev/null 2>&1 || die "--python $PY: not found"
"$PY" -c 'import torch' >/dev/null 2>&1 || die "--python $PY cannot import torch"
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) not found"

# step NAME LIMIT CMD...: runs CMD with its output in OUT/NAME.out (and the
# log), records status and seconds in steps.tsv.
step() {
	name=$1 limit=$2
	shift 2
	log "== $name: $*"
	t0=$(date +%s)
	timeout "$limit" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	rc=$?
	secs=$(($(date +%s) - t0))
	cat "$OUT/$name.out" "$OUT/$name.err" >>"$LOG"
	printf '%s\t%s\t%s\n' "$name" "$rc" "$secs" >>"$STEPS"
	if [ "$rc" -eq 0 ]; then
		log "$name: ok (${secs}s)"
	else
		[ "$rc" -eq 124 ] && log "$name: timed out after $limit"
		log "$name: FAILED (exit $rc, ${secs}s): $(tail -n 3 "$OUT/$name.err" | tr '\n' ' ')"
	fi
	return "$rc"
}

# 0. The native library for this python's torch.
set -- --python "$PY" --out "$LIB" --work "$LIB/../gpu-check-work"
[ -n "$JOBS" ] && set -- "$@" --jobs "$JOBS"
if ! step native 900 sh "$ROOT/scripts/build-native.sh" "$@"; then
	die "the native library did not build; see $OUT/native.err"
fi
cp "$LIB/libcofitorch.info" "$OUT/libcofitorch.info" 2>/dev/null
export LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$ROOT" || exit 1

# a. What runs where.
step version 120 "$BIN" version --json
# b. Smoke.
step smoke 300 "$BIN" device-check --device "$DEVICE" --json
# c. CoFi end to end.
# On the CPU one thread: the check is of the code path, and with 2 threads
# on a 2-core machine libtorch 2.6 (.ci/libtorch2.sh's chroot) took 552 s for
# this step against 115 s on Debian 12's 1.13, 40 % of it system time.
RUNFLAGS="--gpus auto"
[ "$DEVICE" = cpu ] && RUNFLAGS="--gpus none --threads 1"
rm -rf "$OUT/results" # a fresh run each time, not a resumed one
step synth 120 "$BIN" synth --out "$OUT/data" &&
	step cofi 1200 env COFI_RESULTS="$OUT/results" SYNTH_DIR="$OUT/data" "$BIN" run configs/gpu-check.toml $RUNFLAGS
# d and e. Go vs PyTorch, and the latency protocol.
if [ "$DEVICE" = cuda ]; then
	step bench 600 "$BIN" bench --device cuda --python "$PY" --layers 12 --shapes 32x128 --steps 5 \
		--sections step,compact --latency-shape 128x128 --rounds 5 --json "$OUT/bench.json"
else
	step bench 600 "$BIN" bench --device cpu --python "$PY" --layers 2 --shapes 8x64 --steps 2 \
		--sections step,compact --latency-shape 8x64 --rounds 2 --json "$OUT/bench.json"
fi

# The summary: every figure and one verdict per check.
"$PY" - "$OUT" "$DEVICE" "$START" <<'PY'
import json, math, os, sys, time
out, device, start = sys.argv[1], sys.argv[2], int(sys.argv[3])

def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except Exception:
        return None

steps = {}
for line in open(os.path.join(out, "steps.tsv")):
    n, rc, secs = line.rstrip("\n").split("\t")
    steps[n] = {"exit": int(rc), "seconds": int(secs)}

checks = {}
def check(name, ok, detail=""):
    checks[name] = {"ok": bool(ok), "detail": detail}

info = {}
try:
    for l in open(os.path.join(out, "libcofitorch.info")):
        k, _, v = l.rstrip("\n").partition("=")
        info[k] = v
except OSError:
    pass
check("native", steps.get("native", {}).get("exit") == 0,
      "libtorch %s (%s), %s functions guarded, built in %ss" % (info.get("libtorch"), info.get("source"), info.get("guarded"), steps.get("native", {}).get("seconds")))

version = load("version.out")
if version:
    cuda_ok = device == "cpu" or version.get("cuda_available")
    check("version", steps["version"]["exit"] == 0 and cuda_ok and version.get("api_match"),
          "libtorch %s, CUDA available: %s, devices: %s" % ((version.get("native") or {}).get("libtorch"), version.get("cuda_available"), version.get("cuda_devices")))
else:
    check("version", False, "no cofi version output")

smoke = load("smoke.out")
if smoke:
    check("smoke", smoke.get("forward_ok") and smoke.get("step_ok"),
          "logits differ by %.3g, hidden states by %.3g (tolerance %g); loss %.4f, weights moved by %.3g" %
          (smoke["max_logit_diff"], smoke["max_hidden_diff"], smoke["tolerance"], smoke["loss"], smoke["weight_change"]))
else:
    check("smoke", False, "no device-check output")

e2e = {"stages": []}
recs = os.path.join(out, "results", "gpu-check", "records.jsonl")
nan = False
def finite(x):
    global nan
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        nan = True
    elif isinstance(x, dict):
        for v in x.values(): finite(v)
    elif isinstance(x, list):
        for v in x: finite(v)
if os.path.exists(recs):
    for l in open(recs):
        try:
            r = json.loads(l)
        except ValueError:
            nan = True  # NaN is not JSON: a record that does not parse counts as one
            continue
        res = r.get("result") or {}
        finite(res)
        e2e["stages"].append({"kind": r.get("stage_kind"), "status": r.get("status"), "metrics": res.get("metrics"),
                              "size": res.get("size"), "latency": res.get("latency"),
                              "device": (res.get("train") or {}).get("device") or (res.get("latency") or {}).get("device"),
                              "seconds": r.get("wall_s")})
final = [s for s in e2e["stages"] if s["kind"] == "final" and s["status"] == "ok"]
if final and final[-1]["size"]:
    sz = final[-1]["size"]
    e2e.update(target=sz.get("target_sparsity"), compact_sparsity=sz.get("sparsity"), expected_sparsity=sz.get("expected_sparsity"))
    within = sz.get("target_sparsity") is not None and abs(sz["sparsity"] - sz["target_sparsity"]) <= 0.02
    all_ok = all(s["status"] == "ok" for s in e2e["stages"]) and len(e2e["stages"]) >= 4
    check("cofi", steps.get("cofi", {}).get("exit") == 0 and within and not nan and all_ok,
          "compact model %.4f for target %s (within 0.02: %s), NaN: %s, %d stages" % (sz["sparsity"], sz.get("target_sparsity"), within, nan, len(e2e["stages"])))
else:
    check("cofi", False, "no final stage finished; see cofi.err and %s" % recs)

bench = load("bench.json")
if bench:
    st = (bench.get("step_times") or [{}])[0]
    lat = bench.get("latency") or {}
    check("go_vs_pytorch", steps["bench"]["exit"] == 0 and st.get("pytorch_train_ms"),
          "%dx%d: Go %.1f / PyTorch %.1f ms per training step (ratio %.3f); inference %.1f / %.1f ms (ratio %.3f)" %
          (st.get("batch", 0), st.get("seq", 0), st.get("go_train_ms", 0), st.get("pytorch_train_ms") or 0, st.get("train_ratio") or 0,
           st.get("go_infer_ms", 0), st.get("pytorch_infer_ms") or 0, st.get("infer_ratio") or 0))
    check("latency", bool(lat.get("rows")),
          "BERT-base %.1f ms at %sx%s; mean speedup %.2fx, mean FLOP ratio %.2fx (paper: ~12x on a %s)" %
          (lat.get("bert_base_ms", 0), lat.get("batch"), lat.get("seq"), lat.get("mean_speedup", 0), lat.get("mean_flop_ratio", 0), lat.get("paper_hardware")))
else:
    check("go_vs_pytorch", False, "no bench output")
    check("latency", False, "no bench output")

summary = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "device": device,
    "host": os.uname().nodename,
    "seconds": int(time.time()) - start,
    "ok": all(c["ok"] for c in checks.values()),
    "checks": checks,
    "steps": steps,
    "native": info,
    "version": version,
    "smoke": smoke,
    "cofi": e2e,
    "bench": bench,
}
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
lines = ["%-14s %s  %s" % (n, "ok    " if c["ok"] else "FAILED", c["detail"]) for n, c in checks.items()]
lines.append("summary: %s (%s in %ds)" % (os.path.join(out, "summary.json"), "all checks passed" if summary["ok"] else "SOME CHECKS FAILED", summary["seconds"]))
with open(os.path.join(out, "summary.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
sys.exit(0 if summary["ok"] else 1)
PY
rc=$?
cat "$OUT/summary.txt" 2>/dev/null | tee -a "$LOG"
exit $rc
