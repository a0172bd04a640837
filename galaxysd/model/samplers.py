"""Sampler (scheduler) choice by name, built from the model's training scheduler config.

``dpmpp`` (DPM-Solver++ 2M, deterministic) is the default: stable at every guidance and
step count, and the most realistic in judge features on the shipped model
(``assets/default-run/eval/pareto.csv``). ``dpmpp_sde`` is its SDE variant: fresh noise at
each step removes the fine grain that a deterministic solver keeps from a small model's last
steps, so its images look cleaner, but use it with 20 or more steps: at 10 steps and
guidance 5 or more it can saturate. Both space their steps uniformly in log-SNR (Lu et al.
2022), not in time, which with the models' cosine noise schedule needs fewer steps (see
``benchmarks/RESULTS.md``). ``euler_a`` (Euler-ancestral) is the paper's sampler, ``ddim``
the classic deterministic one. Stochastic samplers draw their per-step noise from one
generator per image, so an image depends on its own seed only, never on its batch.
"""

from __future__ import annotations

import inspect
from typing import Sequence

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler

#: name -> (scheduler class, extra config); "dpmpp" is the default, "euler_a" the paper's.
SAMPLERS = {
    "dpmpp": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "lower_order_final": True, "use_lu_lambdas": True},
    ),
    "dpmpp_sde": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, "lower_order_final": True, "use_lu_lambdas": True},
    ),
    "euler_a": (EulerAncestralDiscreteScheduler, {}),
    "ddim": (DDIMScheduler, {"set_alpha_to_one": False}),
    "ddpm": (DDPMScheduler, {}),
}
DEFAULT_SAMPLER = "dpmpp"
#: The app's and the shipped results' sampling: the most realistic point of the default run's
#: realism-consistency front (``assets/default-run/eval/pareto.csv``: Fréchet 10.4 vs 23.3 at
#: guidance 3, same consistency on prompts that carry their parent answers; 6.2 vs 9.9x the
#: real-vs-real floor on 987 held-out galaxies, ``benchmarks/DESIGN_STUDY.md``). Guidance 1 needs
#: no unconditional pass, so 20 steps cost what 10 guided steps do; the stochastic solver keeps
#: images free of the deterministic one's speckle. A leaf answer without its parents (``sdss,
#: spiral galaxy``) is followed less closely than at guidance 2-3: give its parent answers.
RECOMMENDED_SAMPLING = {"sampler": "dpmpp_sde", "steps": 20, "guidance_scale": 1.0}
ALIASES = {
    "dpm": "dpmpp",
    "dpmsolver": "dpmpp",
    "dpm_solver": "dpmpp",
    "dpmpp2m": "dpmpp",
    "euler": "euler_a",
    "euler_ancestral": "euler_a",
    "eulera": "euler_a",
    "dpmpp_2m_sde": "dpmpp_sde",
    "sde_dpmpp": "dpmpp_sde",
}
# The noise schedule is all a sampler takes from the training scheduler, so a pipeline
# behaves the same freshly built and reloaded.
_SCHEDULE_KEYS = (
    "num_train_timesteps",
    "beta_schedule",
    "beta_start",
    "beta_end",
    "trained_betas",
    "prediction_type",
    "rescale_betas_zero_snr",
    "clip_sample",
)
# Offset between an image's seed for its initial noise and for its per-step noise.
STEP_NOISE_SEED_OFFSET = 2**40


def sampler_name(name: str) -> str:
    """The canonical name of sampler ``name`` (aliases such as ``"DPM++"`` accepted).

    Raises ``ValueError`` listing the choices for an unknown name.
    """
    key = str(name).strip().lower().replace("-", "_").replace("+", "p")
    key = ALIASES.get(key, key)
    if key not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
    return key


def make_scheduler(name: str, base_config):
    """A fresh scheduler of kind ``name`` sharing the training noise schedule in ``base_config``."""
    cls, extra = SAMPLERS[sampler_name(name)]
    schedule = {k: base_config[k] for k in _SCHEDULE_KEYS if k in base_config}
    return cls.from_config({**schedule, "timestep_spacing": "trailing", "steps_offset": 0, **extra})


def step_generators(scheduler, seeds: Sequence[int]) -> dict:
    """Keyword arguments for ``scheduler.step``: one noise generator per image, if it takes any."""
    if "generator" not in inspect.signature(scheduler.step).parameters:
        return {}
    return {"generator": [torch.Generator().manual_seed(int(s) + STEP_NOISE_SEED_OFFSET) for s in seeds]}


def training_scheduler(num_train_timesteps: int = 1000, prediction_type: str = "v_prediction"):
    """The noise schedule the models train with: cosine betas, v-prediction by default."""
    return DDPMScheduler(
        num_train_timesteps=num_train_timesteps,
        beta_schedule="squaredcos_cap_v2",
        prediction_type=prediction_type,
        clip_sample=False,
    )
