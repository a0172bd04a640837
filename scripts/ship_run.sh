#!/usr/bin/env bash
# Make a finished, regenerated run the shipped default: copy its fp16 model, config, log, data
# report, last sample grid and its results (scripts/regenerate_results.sh) into
# assets/default-run, leaving out the resumable parts/ and the per-prompt sheets (whose first
# row holds real survey images). The model card (assets/default-run/README.md) stays. A run
# warm-started from the default's own model keeps the outgoing default in
# assets/candidate-runs/<its run name>/ and ships with init_from pointing there; --keep-outgoing
# keeps it there also when RUN is a rival lineage (so the old model's figures stay reproducible).
#   scripts/ship_run.sh RUN [--keep-outgoing]
set -euo pipefail
cd "$(dirname "$0")/.."
R="${1:?usage: scripts/ship_run.sh RUN}"
D=assets/default-run
for f in model/model_index.json eval/metrics.json augment/results.csv discover/demo_eval.json eval/umap.csv; do
  [ -f "$R/$f" ] || { echo "$R/$f is missing: run scripts/regenerate_results.sh $R first" >&2; exit 1; }
done
PYTHONPATH=. ${PYTHON:-python} -m galaxysd.training.shipping "$R" --default "$D" "${@:2}"
rm -rf "$D/model" "$D/samples" "$D/augment" "$D/discover"
find "$D/eval" -mindepth 1 -maxdepth 1 ! -name judge -exec rm -rf {} +
cp -r "$R/model" "$D/model"
cp "$R/train_log.jsonl" "$R/data_report.csv" "$D/"
if [ -f "$R/answer_prior.csv" ]; then cp "$R/answer_prior.csv" "$D/"; fi  # for fill_open_questions
mkdir -p "$D/samples" "$D/eval/samples"
cp "$(ls "$R"/samples/step_*.png | tail -1)" "$R/samples/prompts_dpmpp_sde_20.png" "$D/samples/"
find "$R/eval" -maxdepth 1 -type f -exec cp {} "$D/eval/" \;
NOT_LOOKS=" $(PYTHONPATH=. ${PYTHON:-python} -c \
  'from galaxysd.evaluation.run_results import EVAL_SUBFOLDERS_NOT_LOOKS as n; print(" ".join(n))') "
for extra in "$R"/eval/*/; do  # results in another survey's look (evaluate --domain D --out RUN/eval/D)
  name=$(basename "$extra")
  [[ "$NOT_LOOKS" == *" $name "* ]] && continue
  mkdir -p "$D/eval/$name" && find "$extra" -maxdepth 1 -type f -exec cp {} "$D/eval/$name/" \;
done
cp "$R/eval/samples/overview.png" "$D/eval/samples/"
cp -r "$R/augment" "$R/discover" "$D/"
rm -rf "$D/augment/parts" "$D/discover/parts"
echo "shipped $R as $D; now: python -m galaxysd.evaluation.results_tables --run $D"
