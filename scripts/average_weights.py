"""Average the weights of two saved models of the same design (a "model soup").

python scripts/average_weights.py assets/candidate-runs/scratch-framed-tree-more runs/scratch-framed-tree-third \
    --out runs/soup-half --alpha 0.5

``alpha`` is the share of the second run. The output folder gets the second run's config,
log and data report beside the averaged ``model/``, so `benchmarks/design_study.py` can score
it like any run. Both models must have the same tensors (same preset and tag list).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

PARTS = ("unet", "tag_encoder")
WEIGHTS = "diffusion_pytorch_model.safetensors"
RUN_FILES = ("config.yaml", "train_log.jsonl", "data_report.csv")


def average_models(first: Path, second: Path, out: Path, alpha: float) -> Path:
    """Write ``(1 - alpha) * first + alpha * second`` as ``out/model`` and return it."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new folder")
    shutil.copytree(second / "model", out / "model")
    for name in RUN_FILES:
        if (second / name).is_file():
            shutil.copy2(second / name, out / name)
    for part in PARTS:
        a, b = load_file(first / "model" / part / WEIGHTS), load_file(second / "model" / part / WEIGHTS)
        if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in b):
            raise ValueError(f"{first} and {second} have different {part} tensors: not the same design")
        mixed = {k: ((1 - alpha) * a[k].float() + alpha * b[k].float()).to(b[k].dtype) for k in b}
        save_file(mixed, out / "model" / part / WEIGHTS)
    return out / "model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="run folder with model/")
    parser.add_argument("second", type=Path, help="run folder with model/ (its config is copied)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--alpha", type=float, default=0.5, help="share of the second model (default 0.5)")
    args = parser.parse_args()
    print(f"wrote {average_models(args.first, args.second, args.out, args.alpha)}")


if __name__ == "__main__":
    main()
