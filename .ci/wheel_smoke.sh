#!/usr/bin/env bash
# Install the built wheel into a fresh virtual environment and use it from outside the
# checkout: the packaged presets, configs and weights must be enough.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PY="${PYTHON:-python3}"
"$ROOT/.venv/bin/python" -m pip wheel -q --no-deps -w "$WORK/dist" "$ROOT" >/dev/null
rm -rf "$ROOT/build"
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --upgrade pip >/dev/null
"$WORK/venv/bin/python" -m pip install -q torch==2.13.0
"$WORK/venv/bin/python" -m pip install -q "$WORK"/dist/sarsr-*.whl
cd "$WORK"
S="$WORK/venv/bin/sarsr"
"$S" dataset smoke --count 8 --seed 1 --workers 1 --out ds --quiet
cat > tiny.toml <<TOML
name = "tiny"
[model]
name = "srvit_hsm"
options = {dim = 8, depth = 1, state_dim = 4}
[data]
train = "$WORK/ds"
size = 32
crop = 16
val_count = 2
num_workers = 0
[train]
batch_size = 2
steps = 3
val_every = 3
TOML
"$S" train tiny.toml --out run --quiet
"$S" train srvit_hsm_broad --set data.train="$WORK/ds" --set data.source=empm --set data.size=32 \
    --set data.crop=16 --set data.val_count=2 --set data.num_workers=0 --set train.batch_size=2 \
    --set train.compile=false --max-steps 2 --out run2 --quiet
"$WORK/venv/bin/python" -c "import numpy as np; np.save('img.npy', np.random.rand(40, 40).astype('float32'))"
"$S" sr img.npy --out sr.png
"$S" sr img.npy --model run/model.pt --out sr2.npy
"$S" demo --size smoke --out demo
test -s demo/demo.png && test -s sr.png && test -s sr2.npy
echo "wheel smoke: 5 passed, 0 failed"
