#!/usr/bin/env bash
# The one prepared GPU call (issue: the GPU path). Run on a lent device machine from the
# repository root, e.g. through the device tool:
#     bash scripts/device_run.sh            # writes only under $OUT; <= 9 minutes end to end
#     bash scripts/device_run.sh --dry-run  # the same phases on CPU at tiny sizes (<= 3 minutes)
#     DEVICE_MODE=train DEVICE_DATA_S=160 DEVICE_TRAIN_S=170 bash scripts/device_run.sh
#         # a second call on what is left of the lease: fresh data for DEVICE_DATA_S seconds, then
#         # one compiled training of the default network (warm start) for DEVICE_TRAIN_S seconds
#         # (about DATA_S + TRAIN_S + 70 s in all)
# Each training comes back as $OUT/<model>/{best.pt,config.toml,log.csv}, ready for
# `sarsr evaluate --model LABEL=$OUT/<model>/best.pt` and `sarsr export`.
# Every phase runs in its own process under `timeout`, so a phase that fails or overruns never
# stops the later ones; phase times and exit codes go to the summary. Needs only the tree
# (PYTHONPATH = repository root) and a python3 with torch, numba, scipy, h5py, tqdm, matplotlib.
set -u
cd "$(dirname "$0")/.."
DRY=""
if [ "${1:-}" = "--dry-run" ]; then DRY="--dry-run"; fi
OUT="${OUT:-$PWD/out/device_run${DRY:+_dry}}"
WORK="${DEVICE_WORK:-${TMPDIR:-/tmp}/sarsr_device_work$$}"
mkdir -p "$OUT" "$WORK"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
# numba's kernel cache: the real run keeps it in its scratch folder; a dry run leaves numba's
# default (beside the sources), which the caller's own processes (the test suite) have usually
# filled, so it does not compile every kernel again
if [ -z "$DRY" ]; then export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$WORK/numba_cache}"; fi
PY="${PYTHON:-python3}"
# phase budgets (s): real run, then dry run
if [ -z "$DRY" ]; then
  B_ENV=25; B_CHECK=70; B_BENCH=110; B_DATA=120; B_TRAIN=100; B_SUM=15; B_OVER=20   # 540 s at most (check and bench include torch.compile of the radar kernels)
else
  B_ENV=40; B_CHECK=40; B_BENCH=60; B_DATA=40; B_TRAIN=40; B_SUM=20; B_OVER=35
fi
: > "$WORK/phase_times.txt"
run_phase() {  # name budget
  local name=$1 budget=$2 t0 rc
  t0=$(date +%s)
  timeout --kill-after=5 "$budget" "$PY" scripts/device_run.py "$name" $DRY --out "$OUT" --work "$WORK" \
      >> "$OUT/device_run.log" 2>&1
  rc=$?
  echo "$name rc=$rc seconds=$(( $(date +%s) - t0 )) budget=$budget" | tee -a "$WORK/phase_times.txt"
}
T0=$(date +%s)
if [ "${DEVICE_MODE:-}" = "train" ]; then
  # a second call on what is left of the lease: more fresh data and one longer, compiled training
  # of the default network (warm start); sizes in seconds from the environment
  export SARSR_DEVICE_DATA_S="${DEVICE_DATA_S:-160}" SARSR_DEVICE_TRAIN_S="${DEVICE_TRAIN_S:-130}" SARSR_DEVICE_COMPILE=1
fi
run_phase env "$B_ENV"
if [ "${DEVICE_MODE:-}" = "train" ]; then
  run_phase data "$(( ${SARSR_DEVICE_DATA_S%.*} + B_OVER ))"  # + kernel compile and probe
  run_phase train_srvit_hsm "$(( ${SARSR_DEVICE_TRAIN_S%.*} + 40 ))"
else
  run_phase check "$B_CHECK"
  run_phase bench "$B_BENCH"
  run_phase data "$B_DATA"
  run_phase train_srvit_hsm "$B_TRAIN"
  run_phase train_mobile_srvit "$B_TRAIN"
fi
run_phase summary "$B_SUM"
echo "total seconds=$(( $(date +%s) - T0 ))" | tee -a "$OUT/device_run.log"
tail -n 40 "$OUT/device_run.log"
rm -rf "$WORK"
# exit 0 when the summary was written (the phases' own exit codes are inside it)
test -s "$OUT/summary.json"
