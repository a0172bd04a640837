#!/usr/bin/env bash
# Regenerate a run's judged results (eval/, augment/, discover/, the UMAP) with the shipped judge,
# in the settings the README quotes, resumably: each job keeps its finished parts.
# GZ1 is scanned and studied framed by its measured size, as the model was trained on it.
#   scripts/regenerate_results.sh RUN [THREADS]       e.g. runs/scratch-framed-tree-more 2
# then scripts/ship_run.sh RUN copies the model and the results into assets/default-run.
set -euo pipefail
cd "$(dirname "$0")/.."
R="${1:?usage: scripts/regenerate_results.sh RUN [THREADS]}"
T="${2:-2}"
export OMP_NUM_THREADS="$T" PYTHONPATH=.
PY="${PYTHON:-python}"
[ -d "$R/model" ] || { echo "no finished model in $R/model" >&2; exit 1; }
if [ ! -f "$R/eval/judge/model.safetensors" ]; then
  mkdir -p "$R/eval/judge" && cp assets/default-run/eval/judge/* "$R/eval/judge/"
fi
step() { echo "== $(date +%H:%M:%S) $*"; "$@"; }
APP_SAMPLING=(--sampler dpmpp_sde --steps 20 --guidance 1)  # RECOMMENDED_SAMPLING, as the app samples
step $PY -m galaxysd.evaluate --run "$R" --parts metrics,curves "${APP_SAMPLING[@]}" --n-images 96
step $PY -m galaxysd.evaluate --run "$R" --parts metrics --domain demo --out "$R/eval/demo" "${APP_SAMPLING[@]}" \
    --n-images 96
step $PY -m galaxysd.evaluate --run "$R" --parts pareto --pareto-guidance 1,1.5,2,3,5,7.5 \
    --pareto-steps 10,20 --pareto-samplers dpmpp,dpmpp_sde
step $PY -m galaxysd.evaluate response --run "$R" \
    --real "gz1:../shared/data/gz1-sdss?split=holdout&framing=measured&labels=.data/labels/gz1/derived_labels.csv"
CATS=(--catalog demo:.data/demo-10k --catalog "gz2:../shared/data/gz2-sample?images_only=true" --catalog "gz1:../shared/data/gz1-sdss?framing=measured")
step $PY -m galaxysd.discover --run "$R" "${CATS[@]}" --n-synthetic 128 --n-synthetic-negatives 128 \
    --steps 20 --sampler dpmpp_sde --max-negatives 2000 --epochs 8 --threads "$T"
step $PY -m galaxysd.augment --run "$R" "${CATS[@]}" --shots 10,30,100 --seeds 2 --n-synthetic 64 \
    --epochs 5 --max-negatives 400 --max-test 600 --widths 8,16,32 --steps 20 --sampler dpmpp_sde \
    --bootstrap 500 --threads "$T"
step $PY -m galaxysd.explore --run "$R"
step $PY scripts/prompt_sheet.py --run "$R" --out "$R/samples/prompts_dpmpp_sde_20.png"
echo "== $(date +%H:%M:%S) done"
