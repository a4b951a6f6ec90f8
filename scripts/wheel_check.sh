#!/usr/bin/env bash
# CI step (#15): what `pip install .` gives a container or a cluster node, checked end to end.
# Builds the wheel, installs it (not editable) into a fresh venv, and from an empty folder runs
# `ftbench tasks-path`, the demo's fast path, and stock `lm_eval --include_path $(ftbench
# tasks-path)` on the packaged tasks. The fresh venv borrows the dev venv's third-party packages
# through a path line (a .pth path entry: the dev venv's own .pth files, among them the editable
# ftbench, are not run), so the check needs no network and proves the WHEEL carries ftbench.
#
#   scripts/wheel_check.sh [DEV_VENV]        (default .venv; writes build/wheel-check/)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DEV=$(cd "${1:-.venv}" && pwd)
WORK=$REPO/build/wheel-check
rm -rf "$WORK"   # build/ is ftbench's own scratch folder (.gitignore); nothing else lives here
mkdir -p "$WORK/dist" "$WORK/run"
step() { printf '\n== wheel check: %s\n' "$*"; }

step "build the wheel"
"$DEV/bin/pip" wheel -q --no-deps --no-build-isolation -w "$WORK/dist" . 2>"$WORK/build.log"
WHEEL=$(ls "$WORK"/dist/ftbench-*.whl)
echo "$WHEEL"

step "install it into a fresh venv"
"$DEV/bin/python" -m venv "$WORK/venv"
NEW=$WORK/venv/bin
purelib() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
SITE=$(purelib "$NEW/python")
purelib "$DEV/bin/python" > "$SITE/ftbench_dev_dependencies.pth"
"$NEW/pip" install -q --no-deps --no-index "$WHEEL"

cd "$WORK/run"   # an empty folder: no tasks/, configs/ or source tree to fall back on
export PYTHONPATH=
step "the installed package, not the checkout"
"$NEW/python" - "$SITE" <<'PY'
import sys, ftbench
from ftbench.core.paths import CONFIGS_DIR, TASKS_DIR
from ftbench.suites.bmw.resources import SAMPLE_CORPUS
site = sys.argv[1]
for what, path in {"ftbench": ftbench.__file__, "tasks": TASKS_DIR, "configs": CONFIGS_DIR,
                   "sample": SAMPLE_CORPUS}.items():
    assert str(path).startswith(site), f"{what} comes from {path}, not the wheel in {site}"
    print(f"{what}: {path}")
PY
TASKS=$("$NEW/ftbench" tasks-path)
test -f "$TASKS/bmw/bmw_type.yaml"

step "ftbench demo, fast path (tiny model 40 steps, 1 training size, 10 steps, 4 articles, 2 tasks)"
"$NEW/ftbench" demo out_dir=demo "models=[{name: tiny-llama, path: tiny, tiny_pretrain_steps: 40}]" \
    data.sizes=[16] train.max_steps=10 eval.limit=4 "eval.tasks=[bmw_type,bmw_tags]"
test -f demo/report/summary.md
test -f demo/results/index.json

step "stock lm_eval on the packaged tasks"
"$NEW/python" -m lm_eval --include_path "$TASKS" --tasks bmw_type --model hf \
    --model_args "pretrained=$PWD/demo/models/tiny-llama" --limit 4 --output_path lm_eval_out \
    > lm_eval.log 2>&1 || { tail -30 lm_eval.log; exit 1; }
grep -q "bmw_type" lm_eval.log
ls lm_eval_out/*/results_*.json >/dev/null
step "ok: the wheel runs the demo and lm_eval's tasks from $TASKS"
