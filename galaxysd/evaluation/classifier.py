"""A small CNN classifier for 64 px uint8 galaxy images, reused by the judge, the
augmentation study and the rare-object search.

Targets are an ``(N, K)`` float array in [0, 1]: K independent (multi-label) outputs,
``K = 1`` for a binary task. Soft targets (vote fractions) are fine, and NaN marks a label
that is unknown for that image: it is left out of the loss. Training augments with random
90-degree rotations and flips, which leave a galaxy's morphology unchanged.

The model is saved as ``model.safetensors`` plus ``config.json``; nothing is pickled.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from scipy.special import expit
from torch import nn
from tqdm.auto import tqdm

from galaxysd.atomic_files import write_json
from galaxysd.evaluation.look_augment import random_look

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
MAX_CLASS_WEIGHT = 20.0
BATCHNORM_IMAGES = 2048


@dataclass
class ClassifierConfig:
    """Architecture and training settings of a :class:`Classifier`.

    ``loss`` is ``"bce"`` or ``"focal"`` (``focal_gamma`` down-weights easy examples);
    ``class_weight="balanced"`` weights positives and negatives of each output inversely to
    their frequency, ``None`` leaves them equal. ``device="auto"`` picks CUDA when present.
    """

    num_outputs: int = 1
    output_names: tuple[str, ...] = ()
    image_size: int = 64
    widths: tuple[int, ...] = (32, 64, 128, 256)
    dropout: float = 0.2
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    loss: str = "bce"
    focal_gamma: float = 2.0
    class_weight: str | None = "balanced"
    augment: bool = True
    look_augment: bool = False  # also vary colour, stretch, blur, noise and zoom (look_augment.py)
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)
        self.output_names = tuple(self.output_names)
        if self.output_names and len(self.output_names) != self.num_outputs:
            raise ValueError(f"{len(self.output_names)} output names for {self.num_outputs} outputs")
        if self.loss not in ("bce", "focal"):
            raise ValueError(f"loss must be 'bce' or 'focal', got {self.loss!r}")
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        if not self.widths:
            raise ValueError("widths must name at least one stage")


def _conv_bn_relu(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class GalaxyCNN(nn.Module):
    """Stem plus one stride-2 stage per width, global average pooling, linear head."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        layers = [_conv_bn_relu(3, config.widths[0], 1)]
        cin = config.widths[0]
        for width in config.widths:
            layers += [_conv_bn_relu(cin, width, 2), _conv_bn_relu(width, width, 1)]
            cin = width
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(cin, config.num_outputs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features: globally pooled activations of the last stage."""
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _to_tensor(images: np.ndarray, image_size: int, device: torch.device) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, S, S) in [-1, 1], channels-last memory."""
    batch = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    batch = batch.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    if batch.shape[-1] != image_size or batch.shape[-2] != image_size:
        batch = F.interpolate(
            batch, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
        )
    return batch.contiguous(memory_format=torch.channels_last)


def random_dihedral(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply an independent random 90-degree rotation and flip to each image of a batch."""
    out = batch.clone()
    rotations = torch.randint(0, 4, (len(batch),), generator=generator).to(batch.device)
    flips = torch.rand(len(batch), generator=generator).to(batch.device) < 0.5
    for k in range(1, 4):
        chosen = rotations == k
        if chosen.any():
            out[chosen] = torch.rot90(out[chosen], k, dims=(2, 3))
    out[flips] = torch.flip(out[flips], dims=(3,))
    return out.contiguous(memory_format=torch.channels_last)


def _check_images(images: np.ndarray) -> None:
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (N, H, W, 3), got {images.dtype} {tuple(images.shape)}")


class Classifier:
    """A trained :class:`GalaxyCNN` with its config; inference runs in batches."""

    def __init__(self, config: ClassifierConfig, model: GalaxyCNN | None = None, history: list[dict] | None = None):
        self.config = config
        self.device = _resolve_device(config.device)
        self.model = (model or GalaxyCNN(config)).to(self.device, memory_format=torch.channels_last)
        self.model.eval()
        self.history = list(history or [])

    def _batched(self, images: np.ndarray, compute, width: int, batch_size: int, progress: bool) -> np.ndarray:
        _check_images(images)
        self.model.eval()
        chunks = []
        starts = range(0, len(images), batch_size)
        with torch.inference_mode():
            for start in tqdm(starts, desc="classify", disable=not progress, leave=False):
                batch = _to_tensor(images[start : start + batch_size], self.config.image_size, self.device)
                chunks.append(compute(batch).float().cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, width), dtype=np.float32)

    def predict_proba(self, images: np.ndarray, batch_size: int = 256, progress: bool = False) -> np.ndarray:
        """Probability of each output, shape ``(N, num_outputs)``, for uint8 ``(N, H, W, 3)``."""
        logits = self._batched(images, self.model, self.config.num_outputs, batch_size, progress)
        return expit(logits)

    def features(self, images: np.ndarray, batch_size: int = 256, progress: bool = False) -> np.ndarray:
        """Penultimate-layer features, shape ``(N, widths[-1])``."""
        return self._batched(images, self.model.features, self.config.widths[-1], batch_size, progress)

    def save(self, directory: str | Path) -> Path:
        """Write ``model.safetensors`` and ``config.json`` into ``directory`` (atomically each)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        tmp = directory / f".{WEIGHTS_FILE}.tmp"
        save_file(state, str(tmp))
        os.replace(tmp, directory / WEIGHTS_FILE)
        write_json(directory / CONFIG_FILE, {"config": asdict(self.config), "history": self.history})
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> "Classifier":
        """Load a classifier written by :meth:`save`."""
        directory = Path(directory)
        if not (directory / WEIGHTS_FILE).is_file() or not (directory / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"no classifier in {directory} (needs {WEIGHTS_FILE} and {CONFIG_FILE})")
        meta = json.loads((directory / CONFIG_FILE).read_text())
        config = ClassifierConfig(**{**meta["config"], "device": device})
        model = GalaxyCNN(config)
        model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
        return cls(config, model, meta.get("history"))


def _balanced_weights(targets: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-output weights of positives and negatives, inversely proportional to frequency."""
    counts = mask.sum(axis=0).clip(min=1)
    positives = (targets * mask).sum(axis=0)
    negatives = counts - positives
    pos = np.clip(counts / (2.0 * np.maximum(positives, 1e-6)), 0, MAX_CLASS_WEIGHT)
    neg = np.clip(counts / (2.0 * np.maximum(negatives, 1e-6)), 0, MAX_CLASS_WEIGHT)
    return pos.astype(np.float32), neg.astype(np.float32)


def _loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor,
    element_weight: torch.Tensor,
    config: ClassifierConfig,
) -> torch.Tensor:
    loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    if config.loss == "focal":
        prob = torch.sigmoid(logits)
        p_true = prob * targets + (1 - prob) * (1 - targets)
        loss = loss * (1 - p_true).pow(config.focal_gamma)
    weight = element_weight * mask
    return (loss * weight).sum() / mask.sum().clamp(min=1.0)


def train_classifier(
    images: np.ndarray,
    targets: np.ndarray,
    config: ClassifierConfig,
    sample_weight: np.ndarray | None = None,
    progress: bool = True,
) -> Classifier:
    """Train a :class:`Classifier` on uint8 ``(N, H, W, 3)`` images.

    ``targets`` is ``(N,)`` or ``(N, K)`` in [0, 1] (soft allowed, NaN = unknown, ignored);
    ``sample_weight`` multiplies each image's loss. Seeded: the same inputs and config give
    the same weights on the same device. The mean training loss of each epoch is kept in
    ``classifier.history``.
    """
    _check_images(images)
    targets = np.asarray(targets, dtype=np.float32).reshape(len(images), -1)
    if targets.shape[1] != config.num_outputs:
        raise ValueError(f"targets have {targets.shape[1]} columns, config expects {config.num_outputs} outputs")
    if len(images) == 0:
        raise ValueError("no images to train on")
    mask = ~np.isnan(targets)
    clean = np.where(mask, np.clip(targets, 0.0, 1.0), 0.0).astype(np.float32)
    if config.class_weight == "balanced":
        pos_w, neg_w = _balanced_weights(clean, mask)
    else:
        pos_w = neg_w = np.ones(config.num_outputs, dtype=np.float32)
    sample_weight = np.ones(len(images), np.float32) if sample_weight is None else np.asarray(sample_weight, np.float32)

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    classifier = Classifier(config)
    model, device = classifier.model, classifier.device
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(images) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.epochs * steps_per_epoch, pct_start=0.15
    )
    pos_t, neg_t = torch.from_numpy(pos_w).to(device), torch.from_numpy(neg_w).to(device)

    epochs = tqdm(range(config.epochs), desc="train classifier", disable=not progress)
    for epoch in epochs:
        model.train()
        order = torch.randperm(len(images), generator=generator).numpy()
        total, seen = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            index = np.sort(order[start : start + config.batch_size])
            if len(index) < 2:  # batch norm needs two samples
                continue
            batch = _to_tensor(images[index], config.image_size, device)
            if config.augment:
                batch = random_dihedral(batch, generator)
            if config.look_augment:
                batch = random_look(batch, generator)
            y = torch.from_numpy(clean[index]).to(device)
            m = torch.from_numpy(mask[index].astype(np.float32)).to(device)
            w = (y * pos_t + (1 - y) * neg_t) * torch.from_numpy(sample_weight[index]).to(device)[:, None]
            loss = _loss(model(batch), y, m, w, config)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(index)
            seen += len(index)
        classifier.history.append({"epoch": epoch + 1, "loss": total / max(seen, 1)})
        epochs.set_postfix(loss=f"{classifier.history[-1]['loss']:.4f}")
    recalibrate_batchnorm(model, images, config, device)
    model.eval()
    return classifier


def recalibrate_batchnorm(
    model: nn.Module,
    images: np.ndarray,
    config: ClassifierConfig,
    device: torch.device,
    max_images: int = BATCHNORM_IMAGES,
) -> None:
    """Recompute batch-norm running statistics as exact averages over training images.

    Running averages still drift towards early-training values after a short training run,
    which skews every prediction at inference; one pass with the final weights fixes that.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    chosen = np.sort(np.random.default_rng(config.seed).permutation(len(images))[:max_images])
    model.train()
    with torch.no_grad():
        for start in range(0, len(chosen), config.batch_size):
            index = chosen[start : start + config.batch_size]
            if len(index) >= 2:
                model.features(_to_tensor(images[index], config.image_size, device))
    for norm in norms:
        norm.momentum = 0.1
