"""A tiny but complete run directory for the app's tests.

A 16 px model trained for a few steps on a small demo survey (so the image cache, config,
log, checkpoints and sample grid are the training job's own), plus small result files in
the formats the evaluation, augmentation, discovery and map jobs write.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from PIL import Image

from galaxysd.data.demo import render_demo_survey
from galaxysd.evaluation.metrics import mark_pareto_fronts
from galaxysd.evaluation.physical import STATISTICS, histogram_table
from galaxysd.evaluation.prompts import PAPER_PROMPTS, with_domain
from galaxysd.evaluation.scoring import save_sheet
from galaxysd.morphology import FRACTION_COLUMNS
from galaxysd.runs import RunDir
from galaxysd.training.batches import DataSource
from galaxysd.training.config import TrainConfig
from galaxysd.training.trainer import train

SIZE = 16
N_CANDIDATES = 30


def train_tiny_run(root: Path, n_galaxies: int = 48) -> Path:
    """Render a demo survey and train the tiny model on it for 6 steps; returns the run."""
    demo = root / "demo"
    render_demo_survey(n_galaxies, demo, size=SIZE, seed=5, workers=1, progress=False)
    config = TrainConfig(
        run_dir=str(root / "tiny-run"),
        cache_dir=str(root / "cache"),
        data=[DataSource(f"demo:{demo}", "demo")],
        model="tiny",
        batch_size=4,
        max_steps=6,
        checkpoint_every=3,
        sample_every=6,
        log_every=1,
        sample_steps=2,
        sample_prompts=["demo, smooth"],
        workers=1,
        threads=1,
    )
    return train(config, progress=False)


def write_results(run: Path, real_images: np.ndarray) -> None:
    """Evaluation, augmentation, candidate and map files with plausible numbers."""
    rng = np.random.default_rng(0)
    prompts = [with_domain(p, "demo") for p in PAPER_PROMPTS[:3]]
    eval_dir = run / "eval"
    rows = [
        {
            "key": p.key,
            "label": p.label,
            "prompt": p.text,
            "consistency": 0.5,
            "consistency_real": 0.8,
            "frechet": 12.0,
            "frechet_floor": 3.0,
            "diversity": 0.9,
            "n_generated": 4,
            "n_real": 4,
        }
        for p in prompts
    ]
    summary = {
        "consistency": 0.5,
        "consistency_real": 0.8,
        "frechet": 12.0,
        "frechet_floor": 3.0,
        "diversity": 0.9,
        "n_generated": 12,
    }
    physical = {
        name: {"w1": 0.1, "w1_scaled": 0.5, "n_real": 8, "n_generated": 8, "median_real": 1.0, "median_generated": 1.1}
        for name in STATISTICS
    }
    eval_dir.mkdir(parents=True, exist_ok=True)
    (eval_dir / "metrics.json").write_text(
        json.dumps({"settings": {}, "summary": summary, "prompts": rows, "physical": {"statistics": physical}})
    )
    curves = pd.DataFrame(
        [
            {
                "step": s,
                "prompt": k,
                "n_generated": 4,
                "consistency": 0.1 * s,
                "consistency_real": 0.8,
                "frechet": 30.0 / s,
                "frechet_floor": 3.0,
                "diversity": 0.5 + 0.05 * s,
            }
            for s in (3, 6)
            for k in ("A", "all")
        ]
    )
    curves.to_csv(eval_dir / "curves.csv", index=False)
    points = pd.DataFrame(
        [
            {
                "prompt": k,
                "guidance": g,
                "steps": n,
                "sampler": "dpmpp",
                "n_generated": 4,
                "consistency": rng.uniform(),
                "consistency_real": 0.8,
                "frechet": rng.uniform(5, 20),
                "frechet_floor": 3.0,
                "diversity": rng.uniform(0.5, 1.2),
            }
            for k in ("A", "all")
            for g in (1.0, 3.0)
            for n in (4, 8)
        ]
    )
    mark_pareto_fronts(points).to_csv(eval_dir / "pareto.csv", index=False)
    sets = {name: pd.DataFrame({s: rng.normal(size=20) for s in STATISTICS}) for name in ("real", "generated")}
    histogram_table(sets).to_csv(eval_dir / "histograms.csv", index=False)
    for p in prompts:
        save_sheet(eval_dir / "samples" / f"{p.key}.png", [real_images[:4], real_images[4:8][:, ::-1]])

    (run / "augment").mkdir(exist_ok=True)
    augment = []
    for task in ("edge-on", "dust lane"):
        for shots in ("10", "all"):
            for training in ("real", "real+synthetic", "reweighted"):
                row = {
                    "catalog": "demo:demo",
                    "survey": "demo",
                    "task": task,
                    "shots": shots,
                    "training": training,
                    "seeds": 2,
                }
                for metric in ("purity", "completeness", "f1"):
                    value = rng.uniform(0.4, 0.9)
                    row.update({metric: value, f"{metric}_low": value - 0.1, f"{metric}_high": value + 0.05})
                augment.append(row)
    pd.DataFrame(augment).to_csv(run / "augment" / "results.csv", index=False)
    (run / "augment" / "results.md").write_text("| task | purity |\n|---|---|\n| edge-on | 0.8 |\n")

    thumbs = run / "discover" / "thumbs" / "demo"
    thumbs.mkdir(parents=True, exist_ok=True)
    scores = np.sort(rng.uniform(size=N_CANDIDATES))[::-1]
    records = []
    for i, score in enumerate(scores):
        record = {
            "catalog": "demo:demo",
            "id": f"cand{i:03d}",
            "ra": 150.0 + i * 0.01 if i % 3 else np.nan,
            "dec": 2.0 + i * 0.01 if i % 3 else np.nan,
            "score": round(float(score), 4),
            "rank": i + 1,
            "known": i % 4 == 0,
            "known_dusty_early_type": i % 8 == 0,
            "cumulative_dust_lane": 0.6 if i % 4 == 0 else 0.1,
            "image_path": "",
            "thumb": f"thumbs/demo/rank_{i + 1:05d}.png" if i % 2 == 0 else "",
        }
        record.update({c: float(rng.uniform()) for c in FRACTION_COLUMNS[:8]})
        records.append(record)
        if record["thumb"]:
            Image.fromarray(real_images[i % len(real_images)]).save(run / "discover" / record["thumb"])
    pd.DataFrame(records).to_csv(run / "discover" / "candidates.csv", index=False)
    (run / "discover" / "summary.json").write_text(
        json.dumps({"demo:demo": {"galaxies_scanned": 48, "known_dust_lanes": 8, "candidates_new": 12}})
    )

    from galaxysd.evaluation.explore_job import thumbnail_uri

    n = 12
    pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "source": ["real", "generated"] * (n // 2),
            "domain": "demo",
            "morphology": ["smooth", "spiral", "disk"] * (n // 3),
            "prompt": "demo, smooth",
            "galaxy_id": [f"g{i}" for i in range(n)],
            "thumbnail": [thumbnail_uri(real_images[i % len(real_images)]) for i in range(n)],
        }
    ).to_csv(eval_dir / "umap.csv", index=False)
    (eval_dir / "umap.json").write_text(json.dumps({"features": "pixels", "n_real": 6, "n_generated": 6}))


def make_tiny_run(root: Path) -> Path:
    """The tiny run with every result file (see module docstring)."""
    run = train_tiny_run(root)
    from galaxysd.data.cache import ImageCache

    cache_dirs = sorted((root / "cache").iterdir())
    cache = ImageCache.open(cache_dirs[0])
    write_results(run, cache.batch(np.arange(min(len(cache), 16))))
    return run


def bare_copy(run: Path, target: Path) -> Path:
    """A copy of a run with only its model and config: no result files at all."""
    target.mkdir(parents=True)
    shutil.copytree(run / "model", target / "model")
    shutil.copy(run / "config.yaml", target / "config.yaml")
    return target


def copy_run(run: Path, target: Path, **config_changes) -> RunDir:
    """A full copy of a run with some ``config.yaml`` values changed."""
    shutil.copytree(run, target)
    config = yaml.safe_load((target / "config.yaml").read_text())
    config.update(config_changes)
    (target / "config.yaml").write_text(yaml.safe_dump(config))
    return RunDir(target)


def shared_tiny_run(tmp_path_factory) -> Path:
    """The tiny run, built once per test session (shared by every test module)."""
    root = tmp_path_factory.getbasetemp() / "tiny-app-run"
    run = root / "tiny-run"
    if not (run / "discover" / "candidates.csv").is_file():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        make_tiny_run(root)
    return run
