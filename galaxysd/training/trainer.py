"""``python -m galaxysd.train``: train a conditional galaxy diffusion model into a run directory.

Works unchanged under ``accelerate launch -m galaxysd.train`` (multi-GPU): each process
draws its own batches from a seed that includes its rank; only the main process writes.
"""

from __future__ import annotations

import logging
import math
import shutil
import signal
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from accelerate import Accelerator
from tqdm.auto import tqdm

from galaxysd import morphology
from galaxysd.cli import run_cli
from galaxysd.data.demo import make_missing_demo_surveys
from galaxysd.grids import save_grid
from galaxysd.model.pipeline import GalaxyPipeline
from galaxysd.model.saving import save_pipeline
from galaxysd.training import checkpoints as ckpt
from galaxysd.training.batches import (
    augment_orientation,
    descendant_matrix,
    drop_conditions,
    dropout_matrix,
    leaf_prompts,
    load_training_set,
    sample_batch,
    step_generator,
)
from galaxysd.training.config import TrainConfig, config_from_args, parse_args
from galaxysd.training.data_report import write_data_report
from galaxysd.training.model_setup import build_pipeline, pipeline_to_save, trainable_modules
from galaxysd.training.prior_job import write_training_prior
from galaxysd.training.resume import JsonlLog, check_resume

log = logging.getLogger("galaxysd.train")


LR_FLOOR = 0.1  # the cosine schedule ends at this fraction of the learning rate


def lr_multiplier(
    step: int, warmup_steps: int, max_steps: int, schedule: str = "constant", time_fraction: float = 0.0
) -> float:
    """The learning-rate factor of optimizer step ``step`` (0-based).

    Linear warm-up over ``warmup_steps``, then 1 (``constant``) or a cosine from 1 to
    :data:`LR_FLOOR` (``cosine``) over the larger of the step progress towards ``max_steps``
    and ``time_fraction`` (the share of the time budget used). Without a time budget it is a
    pure function of the step, so a resumed run follows the same curve.
    """
    warm = min(1.0, (step + 1) / max(1, warmup_steps))
    if schedule == "constant" or step < warmup_steps:
        return warm
    progress = max((step - warmup_steps) / max(1, max_steps - warmup_steps), time_fraction)
    progress = min(1.0, max(0.0, progress))
    return LR_FLOOR + (1.0 - LR_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * progress))


class BudgetClock:
    """The share of the time budget used, continued across resumes.

    A resumed run starts from the share its checkpoint recorded and spreads the rest over
    its own budget; without a budget the share stays 0 (the schedule follows steps only).
    """

    def __init__(self, budget_minutes: float | None, start_fraction: float = 0.0):
        self.budget_s = budget_minutes * 60 if budget_minutes else None
        self.start = float(start_fraction)
        self.t0 = time.time()

    def fraction(self) -> float:
        if self.budget_s is None:
            return 0.0
        return min(1.0, self.start + (1.0 - self.start) * (time.time() - self.t0) / self.budget_s)


def loss_weights(scheduler, timesteps: torch.Tensor, gamma: float | None, prediction_type: str) -> torch.Tensor:
    """Min-SNR-gamma loss weights (Hang et al. 2023); ones when ``gamma`` is None."""
    if gamma is None:
        return torch.ones(len(timesteps))
    alphas = scheduler.alphas_cumprod[timesteps.cpu()]
    snr = alphas / (1 - alphas)
    clipped = torch.clamp(snr, max=gamma)
    return clipped / (snr + 1) if prediction_type == "v_prediction" else clipped / snr


def conditioning(
    pipe: GalaxyPipeline,
    condition_vectors: torch.Tensor,
    tags: Sequence[str],
    tag_encoder: torch.nn.Module | None = None,
):
    """Encode a batch of condition vectors with the pipeline's encoder (with gradients).

    ``tag_encoder`` may be the accelerate-wrapped module (gradient sync across GPUs).
    """
    if pipe.paper_mode:
        prompts = [{t: float(w) for t, w in zip(tags, row) if w > 0} for row in condition_vectors.tolist()]
        return pipe.encode(prompts)
    encoder = tag_encoder or pipe.tag_encoder
    return encoder(condition_vectors.to(pipe.tag_encoder.tag_embedding.device))


def training_loss(
    pipe: GalaxyPipeline,
    config: TrainConfig,
    pixels: torch.Tensor,
    condition_vectors: torch.Tensor,
    generator: torch.Generator,
    tags: Sequence[str],
    wrapped: dict[str, torch.nn.Module] | None = None,
) -> torch.Tensor:
    """The diffusion loss of one batch (v- or epsilon-prediction, optional min-SNR weights).

    ``wrapped`` holds the modules as returned by ``accelerator.prepare`` (DDP wrappers under
    multi-GPU), which the forward pass must go through for gradients to be synchronised.
    """
    wrapped = wrapped or {}
    scheduler = pipe.scheduler
    device = pipe.unet.device
    with torch.no_grad():
        latents = pipe.images_to_latents(pixels.to(device), generator=generator).float()
    noise = torch.randn(latents.shape, generator=generator).to(device)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (len(latents),), generator=generator)
    noisy = scheduler.add_noise(latents, noise, t.to(device))
    target = scheduler.get_velocity(latents, noise, t.to(device)) if config.prediction_type == "v_prediction" else noise
    cond = conditioning(pipe, condition_vectors, tags, wrapped.get("tag_encoder"))
    pred = wrapped.get("unet", pipe.unet)(
        noisy.to(memory_format=torch.channels_last),
        t.to(device),
        encoder_hidden_states=cond.context,
        class_labels=cond.class_vector,
    ).sample
    per_sample = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    weights = loss_weights(scheduler, t, config.min_snr_gamma, config.prediction_type).to(device)
    return (per_sample * weights).mean()


def ema_update(ema: dict[str, torch.Tensor], modules: dict[str, torch.nn.Module], decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * weights`` for every trainable parameter."""
    with torch.no_grad():
        for name, module in modules.items():
            for key, param in module.named_parameters():
                if param.requires_grad:
                    ema[f"{name}.{key}"].mul_(decay).add_(param.detach().float(), alpha=1 - decay)


@contextmanager
def ema_applied(modules: dict[str, torch.nn.Module], ema: dict[str, torch.Tensor]):
    """Temporarily swap EMA weights into the modules (for sample grids and the final save)."""
    backup = {
        f"{n}.{k}": p.detach().clone() for n, m in modules.items() for k, p in m.named_parameters() if f"{n}.{k}" in ema
    }
    ckpt.ema_weights_into(modules, ema)
    try:
        yield
    finally:
        ckpt.ema_weights_into(modules, backup)


def write_sample_grid(pipe: GalaxyPipeline, config: TrainConfig, path: Path) -> None:
    """A seeded grid: one row per sample prompt, four seeds each."""
    pipe.unet.eval()
    try:
        rows = [
            pipe(
                prompt,
                num_images=4,
                seed=0,
                steps=config.sample_steps,
                guidance_scale=config.sample_guidance,
                sampler=config.sample_sampler,
            ).arrays
            for prompt in config.sample_prompts
        ]
    finally:
        pipe.unet.train()
    save_grid(np.stack(rows), path, labels=config.sample_prompts)


def train(config: TrainConfig, resume: str | None = None, progress: bool = True, force: bool = False) -> Path:
    """Run training as configured; returns the run directory (with ``model/`` when finished).

    ``resume="latest"`` continues from the newest checkpoint; a resume whose seed, batch size,
    data, model or prediction type differ from the run's is refused unless ``force`` (which
    records the differences in ``config.yaml`` as ``forced_resume``).
    """
    config.validate()
    run_dir = Path(config.run_dir)
    fresh = not run_dir.exists()
    try:
        return _train(config, resume, progress, force)
    except BaseException:
        # a new run that failed or was cancelled before its first checkpoint leaves nothing behind
        if fresh and run_dir.is_dir() and not ckpt.checkpoint_dirs(run_dir) and not (run_dir / "model").is_dir():
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _train(config: TrainConfig, resume: str | None, progress: bool, force: bool) -> Path:
    if config.threads:
        torch.set_num_threads(config.threads)
    accelerator = Accelerator(mixed_precision=config.mixed_precision)
    run_dir = Path(config.run_dir)
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        if resume is None and ckpt.checkpoint_dirs(run_dir):
            raise ValueError(f"{run_dir} already has checkpoints: pass --resume latest or choose a new --run-dir")
    forced = []
    if resume == "latest":  # refuse an unsafe resume before loading any data
        forced = check_resume(run_dir, config, has_checkpoint=bool(ckpt.checkpoint_dirs(run_dir)), force=force)
        if forced:
            log.warning("resuming with changed settings (--force): %s", "; ".join(forced))
    torch.manual_seed(config.seed)
    pipe = build_pipeline(config)
    tags = list(morphology.ALL_TAGS if pipe.paper_mode else pipe.tag_encoder.tags)
    size = pipe.config.image_size
    data = load_training_set(
        config.data,
        Path(config.cache_dir),
        size,
        tags,
        config.threshold,
        config.workers,
        balanced=config.balanced_sampling,
        balance_by=config.balance_by,
        balance_power=config.balance_power,
    )
    descendants = dropout_matrix(tags, config.tag_dropout_mode)
    tree = descendant_matrix(tags)
    modules = trainable_modules(pipe, config)
    pipe.to(accelerator.device)
    pipe.unet.to(memory_format=torch.channels_last)
    params = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.01)
    clock = BudgetClock(config.time_budget_minutes)
    lr_schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: lr_multiplier(s, config.warmup_steps, config.max_steps, config.lr_schedule, clock.fraction()),
    )
    ema = {
        f"{n}.{k}": p.detach().float().clone()
        for n, m in modules.items()
        for k, p in m.named_parameters()
        if p.requires_grad
    }

    start = 0
    if resume == "latest":
        found = ckpt.checkpoint_dirs(run_dir)
        if found:
            ema, state = ckpt.load_checkpoint(found[-1], modules, optimizer, lr_schedule)
            ema = {k: v.to(accelerator.device) for k, v in ema.items()}
            start = state["step"]
            clock = BudgetClock(config.time_budget_minutes, state.get("budget_fraction", 0.0))
            log.info("resumed from %s (step %d)", found[-1], start)
    prepared = accelerator.prepare(*modules.values(), optimizer)
    optimizer = prepared[-1]
    wrapped = dict(zip(modules, prepared[:-1]))
    train_log = (
        JsonlLog(run_dir / "train_log.jsonl", start if resume else None) if accelerator.is_main_process else None
    )
    if accelerator.is_main_process:
        _write_config(run_dir, config, data.describe(), forced, status="training")
        write_data_report(run_dir, data, tags, [d.domain for d in config.data])
        write_training_prior(run_dir, data, config.data, tags)

    t0 = last = time.time()
    seen_since = 0
    bar = tqdm(
        total=config.max_steps,
        initial=start,
        disable=not (progress and accelerator.is_main_process),
        desc="train",
        unit="step",
    )
    step = start
    for module in modules.values():
        module.train()
    while step < config.max_steps:
        generator = step_generator(config.seed, step, accelerator.process_index)
        pixels, vectors = sample_batch(data, config.batch_size, generator)
        pixels = augment_orientation(pixels, generator)
        vectors = leaf_prompts(vectors, generator, config.leaf_prompt_prob, tree)
        vectors = drop_conditions(vectors, generator, config.uncond_prob, config.tag_dropout, descendants)
        with accelerator.autocast():
            loss = training_loss(pipe, config, pixels, vectors, generator, tags, wrapped)
        if not torch.isfinite(loss):
            raise RuntimeError(f"loss became {loss.item()} at step {step}; lower the learning rate")
        accelerator.backward(loss)
        if config.grad_clip:
            accelerator.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        lr_schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        ema_update(
            ema,
            {n: accelerator.unwrap_model(m) for n, m in modules.items()},
            min(config.ema_decay, (1 + step) / (10 + step)),
        )
        seen_since += config.batch_size * accelerator.num_processes
        bar.update(1)
        out_of_time = config.time_budget_minutes is not None and time.time() - t0 > config.time_budget_minutes * 60
        if accelerator.is_main_process:
            if step % config.log_every == 0 or step == config.max_steps:
                now = time.time()
                rate = seen_since / max(now - last, 1e-9)
                train_log.write(
                    {
                        "step": step,
                        "loss": round(loss.item(), 6),
                        "lr": lr_schedule.get_last_lr()[0],
                        "images_per_s": round(rate, 2),
                        "elapsed_s": round(now - t0, 1),
                    }
                )
                bar.set_postfix(loss=f"{loss.item():.4f}", img_s=f"{rate:.1f}")
                last, seen_since = now, 0
            if step % config.sample_every == 0:
                with ema_applied(modules, ema):
                    write_sample_grid(pipe, config, run_dir / "samples" / f"step_{step:07d}.png")
            if step % config.checkpoint_every == 0 or step == config.max_steps or out_of_time:
                ckpt.save_checkpoint(
                    run_dir,
                    step,
                    {n: accelerator.unwrap_model(m) for n, m in modules.items()},
                    ema,
                    optimizer,
                    lr_schedule,
                    {"seed": config.seed, "budget_fraction": clock.fraction()},
                    config.keep_checkpoints,
                )
        if out_of_time:
            log.info("time budget of %.1f min reached at step %d", config.time_budget_minutes, step)
            break
    bar.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        with ema_applied(modules, ema):
            write_sample_grid(pipe, config, run_dir / "samples" / f"step_{step:07d}.png")
            save_pipeline(pipeline_to_save(pipe), run_dir / "model", fp16=config.save_fp16)
        _write_config(
            run_dir,
            config,
            data.describe(),
            forced,
            status="finished" if step >= config.max_steps else "stopped",
            steps=step,
            wall_s=round(time.time() - t0, 1),
        )
    return run_dir


def _write_config(run_dir: Path, config: TrainConfig, data: list[dict], forced: list[str], **extra) -> None:
    """``config.yaml``: the settings, the data summary, ``forced_resume`` when a resume was forced."""
    payload = {**config.to_dict(), "data_summary": data, **extra, "torch": str(torch.__version__)}
    if forced:
        payload["forced_resume"] = forced
    tmp = run_dir / "config.yaml.tmp"
    tmp.write_text(yaml.safe_dump(payload, sort_keys=False))
    tmp.replace(run_dir / "config.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; user errors print one line and return 1."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    def terminated(signum, frame):
        raise KeyboardInterrupt("terminated")  # a cancel from the app: clean up as for Ctrl-C

    signal.signal(signal.SIGTERM, terminated)

    def body() -> str:
        args = parse_args(argv)
        config = config_from_args(args)
        if args.make_missing_demo:
            if args.make_missing_demo < 1:
                raise ValueError("--make-missing-demo needs a number of galaxies >= 1")
            for folder in make_missing_demo_surveys([d.catalog for d in config.data], args.make_missing_demo):
                log.info("made a demo survey of %d galaxies in %s", args.make_missing_demo, folder)
        return f"run written to {train(config, resume=args.resume, force=args.force)}"

    return run_cli(
        body,
        interrupted="rerun with --resume latest to continue from the last checkpoint",
    )
