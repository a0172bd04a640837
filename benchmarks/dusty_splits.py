"""The dusty early-type search on several splits of a survey with planted truth: item 5 as a mean, not one draw.

``discover --seed S`` splits the catalog into a training pool and a held-out half with seed
``S`` and draws its synthetic sets with it, so one seed is one draw of the whole experiment
(on the demo survey the synthetic-only recall moves 61-93% between draws). This runs the
search once per seed, in ``OUT/seed-S`` (a run folder whose ``model`` links to the run's),
and prints per split and on average: top-200 recall and average precision with no real
positive, and the augmented, the real-only and (where the search has it) the combined
detector's average precision with 3 and 7 real positives and with every labelled one in the
training half:

    python benchmarks/dusty_splits.py assets/default-run --seeds 0,1,2 --out runs/dusty-splits
    python benchmarks/dusty_splits.py assets/default-run --seeds 3,4 --out runs/dusty-splits \\
        -- --real-positive-share 0.85

Arguments after ``--`` go to ``python -m galaxysd.discover``. The splits are kept in
``OUT/<label>/<fingerprint>/seed-S``, the fingerprint taken over the run's model, the catalog and
those arguments, so a label reused with other settings never reads back the wrong search. Each
split takes about 2 minutes on 2 CPU threads and is resumable: a finished split is read back.
Writes ``OUT/<label>.csv``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from galaxysd.model.answer_prior import PRIOR_FILE  # noqa: E402
from galaxysd.science import discover_job  # noqa: E402

# the regeneration's search (scripts/regenerate_results.sh), on the demo survey only
BASE_ARGS = (
    "--n-synthetic 128 --n-synthetic-negatives 128 --steps 20 --sampler dpmpp_sde "
    "--max-negatives 2000 --epochs 8 --quiet".split()
)


def split_row(demo_eval: dict, seed: int) -> dict:
    """One split's item-5 numbers from a ``discover/demo_eval.json`` with a single catalog."""
    (result,) = demo_eval.values()
    few, detectors = result["few_real_positives"], result["detectors"]
    row = {
        "seed": seed,
        "held_out_true": result["n_true"],
        "synthetic_only_recall_at_200": few["0"]["augmented"]["recall_at_200"],
        "synthetic_only_ap": few["0"]["augmented"]["average_precision"],
    }
    for budget, entries in [(b, few.get(b, {})) for b in ("3", "7")] + [("all", detectors)]:
        for kind in ("augmented", "real_only", "combined"):  # combined: searches since it ranks by both
            if isinstance(entries.get(kind), dict):
                row[f"ap_{budget}_{kind}"] = entries[kind]["average_precision"]
    return row


def work_folder(out: Path, label: str, run: Path, catalog: str, extra: list[str]) -> Path:
    """Where the splits of one setting live: ``out/label/<digest of model, catalog and extra arguments>``."""
    key = "\n".join([str((run / "model").resolve()), catalog, *extra])
    return out / label / hashlib.sha256(key.encode()).hexdigest()[:12]


def run_split(run: Path, catalog: str, seed: int, out: Path, extra: list[str], threads: int) -> dict:
    """Run (or read back) the search of one seed; returns :func:`split_row`."""
    folder = out / f"seed-{seed}"
    result = folder / "discover" / "demo_eval.json"
    if not result.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        model = folder / "model"
        if not model.exists():
            model.symlink_to((run / "model").resolve(), target_is_directory=True)
        (folder / "config.yaml").write_bytes((run / "config.yaml").read_bytes())
        prior = run / PRIOR_FILE  # for --fill-open-questions
        if prior.is_file() and not (folder / PRIOR_FILE).exists():
            (folder / PRIOR_FILE).write_bytes(prior.read_bytes())
        argv = ["--run", str(folder), "--catalog", catalog, "--seed", str(seed), "--threads", str(threads)]
        code = discover_job.main(argv + BASE_ARGS + extra)
        if code != 0 or not result.is_file():
            raise SystemExit(f"the search of seed {seed} failed (exit code {code})")
    return split_row(json.loads(result.read_text()), seed)


def split_table(rows: list[dict]) -> pd.DataFrame:
    """The per-split rows and their mean (seed ``mean``)."""
    table = pd.DataFrame(rows)
    mean = table.drop(columns="seed").mean().to_dict()
    return pd.concat([table, pd.DataFrame([{"seed": "mean", **mean}])], ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="run folder with model/ and config.yaml")
    p.add_argument("--catalog", default="demo:.data/demo-10k", help="catalog with planted truth (default %(default)s)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated split seeds (default %(default)s)")
    p.add_argument("--out", type=Path, default=Path("runs/dusty-splits"), help="work folder (default %(default)s)")
    p.add_argument("--label", help="name of this setting and its CSV (default: the run's folder name)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default %(default)s)")
    args = p.parse_args(own)
    if not (args.run / "model").is_dir() or not (args.run / "config.yaml").is_file():
        p.error(f"{args.run} is not a run folder (it needs model/ and config.yaml)")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    label = args.label or args.run.name
    work = work_folder(args.out, label, args.run, args.catalog, extra)
    table = split_table([run_split(args.run, args.catalog, s, work, extra, args.threads) for s in seeds])
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / f"{label}.csv", index=False)
    print(f"{label}: {' '.join(extra) or 'the regeneration settings'}")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
