#!/usr/bin/env bash
# The demo: installs what is missing, builds, writes two small LLM-shaped
# checkpoints (B = A after a simulated finetune) and diffs them: the table on
# the terminal, the JSON report next to the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh >/dev/null
mkdir -p build/demo
python3 scripts/make_demo_models.py build/demo
echo
echo "\$ weightdiff build/demo/a.safetensors build/demo/b.safetensors --json build/demo/diff.json"
status=0
build/weightdiff build/demo/a.safetensors build/demo/b.safetensors --backend auto \
  --json build/demo/diff.json || status=$?
echo
echo "exit status $status (0 = same within tolerance, 1 = differences, 2 = trouble)"
echo "JSON report: build/demo/diff.json"
[ "$status" -le 1 ]
