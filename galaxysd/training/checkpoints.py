"""Resumable training state: weights and EMA as safetensors, optimizer via a weights-only load.

A checkpoint is a folder ``checkpoints/step_XXXXXXX`` written under a temporary name and
renamed when complete, so a kill never leaves a half checkpoint that looks finished.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

_STEP_DIR = re.compile(r"^step_(\d{7})$")


def checkpoint_dirs(run_dir: str | Path) -> list[Path]:
    """Finished checkpoints of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _STEP_DIR.match(p.name) and (p / "state.json").is_file()]
    return sorted(found, key=lambda p: int(_STEP_DIR.match(p.name).group(1)))


def checkpoint_step(path: Path) -> int:
    """The training step a checkpoint folder was written at."""
    return int(_STEP_DIR.match(path.name).group(1))


def _flat(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().contiguous().cpu() for k, v in module.state_dict().items()}


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    modules: dict[str, torch.nn.Module],
    ema: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    extra: dict,
    keep: int,
) -> Path:
    """Write a checkpoint atomically and delete all but the newest ``keep``."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{step:07d}"
    tmp = root / f".tmp_step_{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    weights: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        weights.update(_flat(name, module))
    save_file(weights, tmp / "weights.safetensors")
    save_file({k: v.contiguous().cpu() for k, v in ema.items()}, tmp / "ema.safetensors")
    torch.save({"optimizer": optimizer.state_dict(), "lr_scheduler": scheduler.state_dict()}, tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, **extra}, indent=2))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in checkpoint_dirs(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(
    path: Path, modules: dict[str, torch.nn.Module], optimizer=None, scheduler=None
) -> tuple[dict, dict]:
    """Restore modules (and optimizer/LR schedule when given); returns (ema tensors, state)."""
    weights = load_file(path / "weights.safetensors")
    for name, module in modules.items():
        prefix = f"{name}."
        module.load_state_dict({k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)})
    if optimizer is not None:
        state = torch.load(path / "optimizer.pt", weights_only=True, map_location="cpu")
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["lr_scheduler"])
    ema = load_file(path / "ema.safetensors")
    return ema, json.loads((path / "state.json").read_text())


def ema_weights_into(modules: dict[str, torch.nn.Module], ema: dict[str, torch.Tensor]) -> None:
    """Copy EMA tensors (keyed ``module.param``) into the modules' parameters."""
    for name, module in modules.items():
        for key, param in module.named_parameters():
            full = f"{name}.{key}"
            if full in ema:
                param.data.copy_(ema[full].to(param.device, param.dtype))
