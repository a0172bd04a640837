"""Generation speed on this machine: the optimised path against the paper's way of sampling.

    python benchmarks/bench_generate.py            # about 2-3 minutes on 2 CPU cores

Uses the shipped default model (``assets/default-run/model``) when present, else the same
architecture randomly initialised (speed does not depend on the weights; the pixel
comparisons then only show that the paths agree). Prints Markdown tables:

1. the machine: measured fp32 matmul rate, FLOPs of one UNet forward pass;
2. each speed change on its own, cumulatively, at the paper's sampler (4 images);
3. images/s and latency for 1, 4 and 16 images, optimised vs baseline, with the fraction
   of the compute bound reached;
4. the answer boost's cost: a prompt with none, one and two answers weighted above 1;
5. quality of fewer steps: DPM-Solver++ at k steps vs the same sampler at 50 steps.

Baseline = the paper's sampling: Euler-ancestral, 40 steps, guidance 6.5, conditional and
unconditional passes run separately, no optimisation (PyTorch eager, contiguous tensors,
autograd off by ``no_grad`` only, default threads). Latencies are the best of a few runs
(the CPU may be shared); compare ratios within one run.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from galaxysd.model import fast  # noqa: E402
from galaxysd.model.guidance import unet_passes_per_step  # noqa: E402
from galaxysd.model.samplers import RECOMMENDED_SAMPLING  # noqa: E402
from galaxysd.model.tag_guidance import DEFAULT_TAG_GUIDANCE, passes_per_step  # noqa: E402
from galaxysd.morphology import parse_prompt  # noqa: E402
from galaxysd.runs import DEFAULT_RUN  # noqa: E402

PROMPT = "sdss, features or disk-shaped, not edge-on, spiral galaxy, 2 spiral arms"
BOOST_PROMPTS = (  # the answer boost (galaxysd.model.tag_guidance): none, one and two answers above 1
    PROMPT,
    "sdss, features or disk-shaped, not edge-on, {spiral galaxy:1.5}, 2 spiral arms",
    "sdss, features or disk-shaped, not edge-on, {spiral galaxy:1.5}, {2 spiral arms:1.5}",
)
PAPER = {"sampler": "euler_a", "steps": 40, "guidance_scale": 6.5}
OPTIMISED = dict(RECOMMENDED_SAMPLING)  # the app's default: dpmpp_sde, 20 steps, guidance 1 (one pass a step)
SIZES = (1, 4, 16)
ABLATION_STEPS = 4  # per-step cost is what the engine changes; few steps keep the run short
QUALITY_STEPS = (8, 10, 15, 20)
QUALITY_REFERENCE_STEPS = 50
QUALITY_GUIDANCE = (3.0, 6.5)
LATENCY_TARGET_S = 1.0
SPEEDUP_TARGET = 5.0


def load_model(model_dir: Path, device: str):
    """The pipeline to benchmark and a line saying which one it is."""
    from galaxysd.model.saving import build_tag_pipeline, load_pipeline
    from galaxysd.model.unet_presets import PRESETS

    if (model_dir / "model_index.json").is_file():
        return load_pipeline(model_dir, device=device, dtype=torch.float32), f"trained model {model_dir}"
    torch.manual_seed(0)
    pipe = build_tag_pipeline(PRESETS["cpu-default"]).to(device)
    return pipe, f"cpu-default architecture, random init ({model_dir} not found)"


def matmul_gflops(device: str, size: int = 2048, repeats: int = 3) -> float:
    """The machine's fp32 matmul rate, GFLOP/s: best of ``repeats``, with one thread and
    with every core (a busy core can make the latter slower)."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    before, best = torch.get_num_threads(), float("inf")
    for threads in sorted({1, fast.available_cores()}):
        torch.set_num_threads(threads)
        for _ in range(repeats):
            start = time.perf_counter()
            (a @ b).sum().item()
            best = min(best, time.perf_counter() - start)
    torch.set_num_threads(before)
    return 2 * size**3 / best / 1e9


def unet_flops(pipe) -> int:
    """FLOPs of one UNet forward pass for one image."""
    latents = torch.zeros((1, *pipe.latent_shape()), device=pipe.unet.device, dtype=pipe.unet.dtype)
    cond = pipe.encode([{}])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        pipe.unet(latents, torch.tensor(500), encoder_hidden_states=cond.context, class_labels=cond.class_vector)
    return counter.get_total_flops()


def timed(pipe, n: int, repeats: int, batched_guidance: bool = True, prompt: str = PROMPT, **settings):
    """Best wall time of ``repeats`` calls (after an untimed warm-up) and the last output."""
    pipe(prompt, num_images=n, seed=100, **{**settings, "steps": 2}, batched_guidance=batched_guidance)
    best, output = float("inf"), None
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        output = pipe(prompt, num_images=n, seed=0, batched_guidance=batched_guidance, **settings)
        best = min(best, time.perf_counter() - start)
    return best, output


def say(text: str) -> None:
    print(text, flush=True)


def max_diff(a, b) -> int:
    return int(np.abs(a.arrays.astype(int) - b.arrays.astype(int)).max())


def mean_diff(a, b) -> float:
    return float(np.abs(a.arrays.astype(float) - b.arrays.astype(float)).mean())


def ablation(torch_pipe, onnx_pipes: dict, threads: int, onnx_threads: int, repeats: int) -> list[str]:
    """Each change on top of the previous ones, 4 images, Euler-ancestral at 6.5 guidance."""
    settings = {**PAPER, "steps": ABLATION_STEPS}
    idle = f"{threads} thread{'s' if threads > 1 else ''}"
    torch_variants = [
        ("baseline: paper's way, PyTorch default threads (one per core)", fast.REFERENCE, False),
        (f"+ threads: one per idle core ({idle})", replace(fast.REFERENCE, threads=threads), False),
        ("+ torch.inference_mode", fast.SpeedSettings("torch", threads, False, True), False),
        ("+ one batched CFG pass", fast.SpeedSettings("torch", threads, False, True), True),
        ("+ channels-last", fast.SpeedSettings("torch", threads, True, True), True),
    ]
    rows = []
    for label, speed, batched in torch_variants:
        fast.optimize(torch_pipe, speed)
        rows.append((label, *timed(torch_pipe, 4, repeats, batched_guidance=batched, **settings)))
    for count, pipe in onnx_pipes.items():
        label = f"+ ONNX Runtime UNet, {count} thread{'s' if count > 1 else ''} (sleeping when idle)"
        rows.append(
            (
                label if count == onnx_threads else f"  (ONNX Runtime, {count} thread(s) instead)",
                *timed(pipe, 4, repeats, **settings),
            )
        )
    baseline = rows[0]
    lines = [
        "| change (cumulative) | s / 4 images | ms / step | speed-up | max px diff vs baseline |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, seconds, output in rows:
        lines.append(
            f"| {label} | {seconds:.2f} | {1000 * seconds / ABLATION_STEPS:.0f} | "
            f"{baseline[1] / seconds:.2f}x | {max_diff(output, baseline[2])} |"
        )
    return lines


def speed_table(baseline_pipe, optimised_pipe, flops: int, peak: float, repeats: int) -> tuple[list[str], dict]:
    """Images/s and latency at 1, 4 and 16 images, optimised vs baseline."""
    lines = [
        "| images | baseline s | baseline img/s | optimised s | optimised img/s | speed-up | "
        "optimised GFLOP/s | of matmul rate |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    results = {}
    for n in SIZES:
        base_s, _ = timed(baseline_pipe, n, 1, batched_guidance=False, **PAPER)
        fast_s, _ = timed(optimised_pipe, n, repeats, **OPTIMISED)
        passes = unet_passes_per_step(OPTIMISED["guidance_scale"])
        rate = passes * n * OPTIMISED["steps"] * flops / fast_s / 1e9
        results[n] = (base_s, fast_s)
        lines.append(
            f"| {n} | {base_s:.2f} | {n / base_s:.2f} | {fast_s:.3f} | {n / fast_s:.1f} | "
            f"{base_s / fast_s:.1f}x | {rate:.1f} | {rate / peak:.0%} |"
        )
    return lines, results


def boost_table(pipe, repeats: int) -> list[str]:
    """The answer boost's cost at the app's sampling, 4 images: answers weighted above 1 add a pass each."""
    lines = ["| prompt | UNet passes / step | s / 4 images | time vs no boost |", "|---|---:|---:|---:|"]
    plain = None
    for prompt in BOOST_PROMPTS:
        seconds, _ = timed(pipe, 4, repeats, prompt=prompt, **OPTIMISED)
        plain = plain or seconds
        passes = unet_passes_per_step(OPTIMISED["guidance_scale"]) + passes_per_step(
            [parse_prompt(prompt)], DEFAULT_TAG_GUIDANCE
        )
        lines.append(f"| `{prompt}` | {passes} | {seconds:.3f} | {seconds / plain:.2f}x |")
    return lines


def quality_table(pipe) -> list[str]:
    """DPM-Solver++ at few steps against itself at 50 steps (same seeds, 4 images)."""
    lines = [
        f"| guidance | DPM-Solver++ steps | mean abs px diff vs {QUALITY_REFERENCE_STEPS} steps | max |",
        "|---:|---:|---:|---:|",
    ]
    for guidance in QUALITY_GUIDANCE:
        settings = {"sampler": "dpmpp", "guidance_scale": guidance, "num_images": 4, "seed": 0}
        reference = pipe(PROMPT, steps=QUALITY_REFERENCE_STEPS, **settings)
        for steps in QUALITY_STEPS:
            out = pipe(PROMPT, steps=steps, **settings)
            lines.append(f"| {guidance:g} | {steps} | {mean_diff(out, reference):.2f} | {max_diff(out, reference)} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_RUN / "model",
        help="saved pipeline to time (default: %(default)s; random init if absent)",
    )
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device (default: %(default)s)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per optimised setting")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    pipe, description = load_model(args.model, args.device)
    optimised = fast.optimize(copy.deepcopy(pipe), fast.SpeedSettings())
    threads = fast.idle_cores()  # PyTorch's sensible thread count, used by the baseline too
    baseline = fast.optimize(pipe, replace(fast.REFERENCE, threads=threads))
    peak = matmul_gflops(args.device)
    flops = unet_flops(baseline)
    say(f"model: {description}")
    say(
        f"device: {args.device}, {fast.available_cores()} core(s), 1-min load average "
        f"{os.getloadavg()[0]:.1f}, torch {torch.__version__}, optimised backend: "
        f"{optimised.speed.backend} with {optimised.speed.threads} thread(s), PyTorch: {threads}"
    )
    say(
        f"measured fp32 matmul rate (2048x2048, best of 1 thread and all cores): {peak:.1f} GFLOP/s; one UNet forward: "
        f"{flops / 1e9:.3f} GFLOP per image (x2 per step with guidance)"
    )
    say(
        f"baseline: {PAPER['sampler']}, {PAPER['steps']} steps, guidance {PAPER['guidance_scale']}, two "
        f"CFG passes, PyTorch eager, no optimisation, {threads} thread(s); optimised: "
        f"{OPTIMISED['sampler']}, {OPTIMISED['steps']} steps, all speed settings\n"
    )
    if args.device == "cpu":
        onnx_pipes = {}
        if optimised.speed.backend == "onnxruntime":
            onnx_pipes = {optimised.speed.threads: optimised}
            other = 1 if optimised.speed.threads > 1 else fast.available_cores()
            if other != optimised.speed.threads:
                onnx_pipes[other] = fast.optimize(copy.deepcopy(baseline), fast.SpeedSettings(threads=other))
            fast.configure_threads(threads)
        say(f"## Each change, 4 images, {PAPER['sampler']}, {ABLATION_STEPS} steps\n")
        say(
            "\n".join(
                ablation(
                    copy.deepcopy(baseline), onnx_pipes, threads, optimised.speed.threads, max(1, args.repeats - 1)
                )
            )
            + "\n"
        )
    say("## Optimised vs baseline\n")
    lines, results = speed_table(baseline, optimised, flops, peak, args.repeats)
    say("\n".join(lines) + "\n")
    say("## Weights above 1: the answer boost's cost (4 images, app sampling)\n")
    say("\n".join(boost_table(optimised, args.repeats)) + "\n")
    say("## Fewer steps: quality\n")
    say("\n".join(quality_table(optimised)) + "\n")
    base_4, fast_4 = results[4]
    say(
        f"target: 4 images in under {LATENCY_TARGET_S:.1f} s: {fast_4:.2f} s "
        f"({'met' if fast_4 < LATENCY_TARGET_S else 'NOT met'})"
    )
    say(
        f"target: >= {SPEEDUP_TARGET:.0f}x the baseline's images/s at 4 images: {base_4 / fast_4:.1f}x "
        f"({'met' if base_4 / fast_4 >= SPEEDUP_TARGET else 'NOT met'})"
    )
    say(f"benchmark took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
