"""Training configuration: a YAML file, overridable by command-line flags."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Sequence

import yaml

from galaxysd import morphology
from galaxysd.cli import JobParser
from galaxysd.data.simulated_dust import SIMULATIONS
from galaxysd.model.samplers import DEFAULT_SAMPLER, make_scheduler
from galaxysd.model.unet_presets import PRESETS, spec_from
from galaxysd.training.batches import MAX_BALANCE_POWER, DataSource

LR_SCHEDULES = ("constant", "cosine")
BALANCE_BY = ("answers", "pairs")
TAG_DROPOUT_MODES = ("independent", "tree", "question")


@dataclass
class TrainConfig:
    """Everything a training run depends on; written to ``runs/<name>/config.yaml``.

    The main fields (types and defaults below; each is also a ``python -m galaxysd.train``
    flag, and ``validate`` rejects impossible values with a clear message):

    - ``data``: catalogs with a domain tag and a sampling share, e.g.
      ``DataSource("gz1:../shared/data/gz1-sdss", domain="sdss", weight=0.45)``.
    - ``model``: a UNet preset name (``cpu-default``, ``cpu-unshuffle2``, ``cpu-wide``,
      ``gpu-large``, ``tiny``) or a dict of :class:`~galaxysd.model.unet_presets.UNetSpec` fields;
      ``pretrained`` switches to paper mode (a local Stable Diffusion 1.5 folder).
    - ``batch_size``, ``learning_rate``, ``warmup_steps``, ``lr_schedule`` (``constant`` or
      ``cosine``), ``max_steps``, ``time_budget_minutes``: how long and how fast to learn.
    - ``balanced_sampling``: draw galaxies with rare answers more often within each source;
      ``balance_by``: ``answers`` (the mean over a galaxy's answers of 1/sqrt(frequency)) or
      ``pairs`` (its rarest pair of answers, e.g. smooth + dust lane; see
      :func:`~galaxysd.training.batches.pair_draw_weights`); ``balance_power`` tempers it (1 full,
      0 the survey's own proportions; the weights are raised to this power).
    - ``ema_decay``, ``min_snr_gamma``, ``uncond_prob`` (prompt dropout for guidance),
      ``tag_dropout``: the diffusion recipe; ``tag_dropout_mode``: ``independent`` (each tag
      on its own), ``tree`` (dropping an answer drops the answers asked under it, so a parent
      answer alone stands for all its children in their real proportions) or ``question`` (tree,
      and the answers of one question drop together, so a galaxy with two answers of a question
      is not shown its parent alone less often); ``leaf_prompt_prob``: the share of galaxies shown
      with their deepest answers only, as users type prompts (``sdss, edge-on galaxy``).
    - ``checkpoint_every``, ``keep_checkpoints``, ``sample_every``: what the run writes.

    Example:
        >>> config = TrainConfig.from_yaml("assets/configs/default.yaml")
        >>> config.max_steps = 200
        >>> config.validate().run_dir
        'runs/default'
    """

    run_dir: str = "runs/default"
    data: list[DataSource] = field(default_factory=list)
    cache_dir: str = ".data/cache"
    model: str | dict = "cpu-default"
    pretrained: str | None = None  # paper mode: local Stable Diffusion 1.5 folder
    init_from: str | None = None  # warm start: a saved model/ folder of the same preset (e.g. an earlier session's)
    train_text_encoder: bool = False
    lora_rank: int = 0  # paper mode: >0 trains LoRA adapters instead of the full UNet
    image_size: int | None = None  # paper mode: training/sampling size in px (default: the UNet's native size)
    prediction_type: str = "v_prediction"
    batch_size: int = 32
    learning_rate: float = 5e-4
    warmup_steps: int = 200
    lr_schedule: str = "constant"  # constant | cosine (to 10% after warm-up, over max_steps or the time budget)
    balanced_sampling: bool = False  # within each source, draw galaxies with rare answers more often
    balance_by: str = "answers"  # answers | pairs (the rarest pair of a galaxy's answers)
    balance_power: float = 1.0  # the balancing weights raised to this: 1 full, 0 survey proportions
    max_steps: int = 10_000
    time_budget_minutes: float | None = None
    ema_decay: float = 0.999
    min_snr_gamma: float | None = 5.0
    uncond_prob: float = 0.1
    tag_dropout: float = 0.1
    tag_dropout_mode: str = "independent"  # independent | tree (an answer's children go with it) | question
    leaf_prompt_prob: float = 0.0  # share of galaxies shown with their deepest answers only (leaf prompts)
    threshold: float = 0.3
    grad_clip: float = 1.0
    mixed_precision: str = "no"  # no | fp16 | bf16
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    sample_every: int = 500
    sample_prompts: list[str] = field(
        default_factory=lambda: [
            "sdss, smooth, completely round galaxy",
            "sdss, edge-on galaxy",
            "sdss, spiral galaxy",
            "sdss, merger",
            "demo, spiral galaxy, 2 spiral arms",
            "demo, edge-on galaxy, dust lane",
            "sdss, smooth, {dust lane:1.3}",
            "sdss, in-between round galaxy",
        ]
    )
    sample_steps: int = 20
    sample_guidance: float = 3.0
    sample_sampler: str = DEFAULT_SAMPLER
    save_fp16: bool = False
    workers: int = 2
    threads: int | None = None

    def validate(self) -> "TrainConfig":
        """Raise ``ValueError`` with a clear message on impossible settings."""
        if not self.data:
            raise ValueError("no training data: give at least one catalog (data: in the config or --data)")
        positive = {
            "batch_size": self.batch_size,
            "max_steps": self.max_steps,
            "learning_rate": self.learning_rate,
            "checkpoint_every": self.checkpoint_every,
            "log_every": self.log_every,
            "sample_every": self.sample_every,
            "keep_checkpoints": self.keep_checkpoints,
        }
        for name, value in positive.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        budget = self.time_budget_minutes
        if budget is not None and not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget >= 0):
            raise ValueError(f"the time budget must be a number of minutes >= 0, got {budget!r}")
        if self.batch_size > 4096:
            raise ValueError(f"batch_size {self.batch_size} is absurd (max 4096)")
        for name in ("uncond_prob", "tag_dropout", "threshold", "leaf_prompt_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        power = self.balance_power
        if isinstance(power, bool) or not isinstance(power, (int, float)) or not 0.0 <= power <= MAX_BALANCE_POWER:
            raise ValueError(f"balance_power must be a number within [0, {MAX_BALANCE_POWER:g}], got {power!r}")
        if self.balance_by not in BALANCE_BY:
            raise ValueError(f"balance_by must be one of {', '.join(BALANCE_BY)}, got {self.balance_by!r}")
        if self.tag_dropout_mode not in TAG_DROPOUT_MODES:
            modes = ", ".join(TAG_DROPOUT_MODES)
            raise ValueError(f"tag_dropout_mode must be one of {modes}, got {self.tag_dropout_mode!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("ema_decay must be within [0, 1)")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError("mixed_precision must be no, fp16 or bf16")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.prediction_type not in ("v_prediction", "epsilon"):
            raise ValueError("prediction_type must be v_prediction or epsilon")
        if self.init_from is not None:
            if self.pretrained is not None:
                raise ValueError("init_from (warm start of a tag model) and pretrained (paper mode) exclude each other")
            if not (Path(self.init_from) / "model_index.json").is_file():
                raise ValueError(f"init_from {self.init_from} is not a saved model folder (no model_index.json)")
        if self.pretrained is None:
            spec_from(self.model)
            if self.image_size is not None:
                raise ValueError("image_size applies to paper mode (--pretrained); the model preset sets the size")
        make_scheduler(self.sample_sampler, {})  # an unknown sampler name raises ValueError
        return self

    def to_dict(self) -> dict:
        out = asdict(self)
        out["data"] = [source_dict(d) for d in self.data]
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        values = dict(values)
        values["data"] = [parse_source(d) for d in values.get("data", [])]
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        try:
            values = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ValueError(f"config file {path} does not exist") from None
        if not isinstance(values, dict):
            raise ValueError(f"config file {path} must hold a mapping of options")
        return cls.from_dict(values)


#: The text form of a data source, for help and error messages.
SOURCE_FORM = "SPEC[@DOMAIN][*WEIGHT][" + "|".join(f"+{name}" for name in SIMULATIONS) + "]"


def real_source_indices(sources: Sequence[DataSource]) -> list[int]:
    """Positions of the ``sources`` whose images are real galaxies, each catalog once per
    domain: a ``simulate`` source shows simulated variants of a catalog the config names again
    (its cache holds the same plain images), so counting it would put every galaxy in twice."""
    first: dict[tuple[str, str], int] = {}
    for i, source in enumerate(sources):
        if source.simulate is None:
            first.setdefault((source.catalog, source.domain), i)
    return list(first.values())


def real_image_sources(entries: Sequence[str | dict]) -> list[DataSource]:
    """The sources of a config's ``data`` (text or dicts) whose images are real galaxies
    (:func:`real_source_indices`)."""
    sources = [parse_source(entry) for entry in entries]
    return [sources[i] for i in real_source_indices(sources)]


def saved_train_config(run_dir: Path) -> TrainConfig:
    """The training config a run saved in ``RUN/config.yaml`` (keys that are not settings, such
    as its status, left out), or a clear ``ValueError`` when it has none."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ValueError(f"{run_dir} has no config.yaml")
    values = yaml.safe_load(path.read_text()) or {}
    return TrainConfig.from_dict({k: v for k, v in values.items() if k in TrainConfig.__dataclass_fields__})


def parse_source(value: str | dict) -> DataSource:
    """A data source from ``{"catalog": ..., "domain": ..., "weight": ..., "simulate": ...}`` or
    ``SPEC[@DOMAIN][*WEIGHT][+SIMULATION]`` (e.g. ``gz1:../shared/data/gz1-sdss@sdss*0.05+dust_lane``)."""
    if isinstance(value, dict):
        source = DataSource(**value)
        return DataSource(
            source.catalog, morphology.domain_tag(source.domain), _share(source.weight, value), source.simulate
        )
    text, plus, simulate = str(value).rpartition("+")
    if not plus or simulate not in SIMULATIONS:
        text, simulate = str(value), None
    text, _, weight = text.partition("*")
    spec, _, domain = text.partition("@")
    if not spec.strip():
        raise ValueError(f"data source {value!r} names no catalog; use KIND:PATH[@DOMAIN][*SHARE]")
    return DataSource(spec, morphology.domain_tag(domain or "sdss"), _share(weight or 1.0, value), simulate)


def source_text(source: DataSource) -> str:
    """``source`` in the ``SPEC@DOMAIN[*WEIGHT][+SIMULATION]`` form that :func:`parse_source` reads."""
    weight = f"*{source.weight:g}" if source.weight != 1 else ""
    return f"{source.catalog}@{source.domain}{weight}" + (f"+{source.simulate}" if source.simulate else "")


def source_dict(source: DataSource) -> dict:
    """A data source as plain data (``simulate`` only where set, so older configs read the same)."""
    out = asdict(source)
    if out["simulate"] is None:
        del out["simulate"]
    return out


def _share(weight, source) -> float:
    """A data source's sampling share: a finite number >= 0, with a plain-words error otherwise."""
    try:
        share = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"the share of data source {source!r} must be a number, got {weight!r}") from None
    if not math.isfinite(share) or share < 0:
        raise ValueError(f"the share of data source {source!r} must be zero or more, got {weight!r}")
    return share


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m galaxysd.train`` argument parser; flags override the config file."""
    p = JobParser(
        prog="python -m galaxysd.train",
        description=("Train a morphology-conditioned diffusion model and write a run directory."),
    )
    p.add_argument("--config", help="YAML file with TrainConfig options")
    p.add_argument("--run-dir", help="output run directory (runs/<name>)")
    p.add_argument(
        "--data",
        action="append",
        metavar=SOURCE_FORM,
        help="training catalog, e.g. gz1:../shared/data/gz1-sdss@sdss (repeatable; replaces config data); "
        "+dust_lane shows its smooth galaxies crossed by a simulated dust lane instead "
        "(labelled odd feature and dust lane; +dust_lane_leaf: labelled dust lane alone)",
    )
    p.add_argument("--cache-dir", help="where image caches are built (default .data/cache)")
    p.add_argument("--model", choices=sorted(PRESETS), help="UNet preset")
    p.add_argument("--pretrained", help="paper mode: local Stable Diffusion 1.5 directory")
    p.add_argument(
        "--init-from",
        metavar="MODEL_DIR",
        help="start from the weights of a saved model of the same preset (e.g. RUN/model of an earlier run)",
    )
    p.add_argument("--train-text-encoder", action="store_true", default=None, help="paper mode: also tune CLIP")
    p.add_argument("--lora-rank", type=int, help="paper mode: train LoRA adapters of this rank")
    p.add_argument("--image-size", type=int, help="paper mode: train at this size in px (a multiple of 8, e.g. 424)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        help="constant, or cosine decay to 10%% after warm-up over --max-steps or the time budget",
    )
    p.add_argument(
        "--balanced-sampling",
        action="store_true",
        default=None,
        help="within each source, draw galaxies with rare answers (bar, merger, ...) more often",
    )
    p.add_argument("--balance-by", choices=BALANCE_BY, help="with --balanced-sampling: answers or pairs")
    p.add_argument(
        "--balance-power",
        type=float,
        help="with --balanced-sampling: temper the balance (1 full, 0 the survey's own proportions)",
    )
    p.add_argument(
        "--tag-dropout-mode",
        choices=TAG_DROPOUT_MODES,
        help="independent; tree: dropping an answer drops the answers asked under it; question: tree, "
        "and a question's answers drop together",
    )
    p.add_argument(
        "--leaf-prompt-prob",
        type=float,
        help="share of galaxies shown with their deepest answers only, as users type prompts (default 0)",
    )
    p.add_argument("--max-steps", type=int)
    p.add_argument("--time-budget-minutes", type=float, help="stop cleanly after this wall-clock time")
    p.add_argument("--ema-decay", type=float)
    p.add_argument("--min-snr-gamma", type=float, help="min-SNR loss weighting (0 disables)")
    p.add_argument("--mixed-precision", choices=["no", "fp16", "bf16"])
    p.add_argument("--seed", type=int)
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--keep-checkpoints", type=int)
    p.add_argument("--sample-every", type=int)
    p.add_argument("--log-every", type=int)
    p.add_argument("--save-fp16", action="store_true", default=None, help="save the final model in fp16")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--resume", choices=["latest"], help="continue from the newest checkpoint in the run")
    p.add_argument(
        "--make-missing-demo",
        type=int,
        metavar="N",
        help="render a demo survey of N galaxies for each demo: catalog whose folder does not exist yet",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="with --resume: accept changed seed, batch size, data or model (recorded in config.yaml)",
    )
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Merge the config file (if any) with command-line overrides."""
    config = TrainConfig.from_yaml(args.config) if args.config else TrainConfig()
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is None or f.name == "data":
            continue
        setattr(config, f.name, value)
    if args.data:
        config.data = [parse_source(d) for d in args.data]
    if config.min_snr_gamma == 0:
        config.min_snr_gamma = None
    return config.validate()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)
