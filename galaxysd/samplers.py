"""Sampler (scheduler) choice by name, built from the model's training scheduler config."""
from __future__ import annotations

from diffusers import (DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler,
                       EulerAncestralDiscreteScheduler)

#: name -> (scheduler class, extra config); "dpmpp" is the default, "euler_a" the paper's.
SAMPLERS = {
    "dpmpp": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2,
                                             "lower_order_final": True}),
    "euler_a": (EulerAncestralDiscreteScheduler, {}),
    "ddim": (DDIMScheduler, {"set_alpha_to_one": False}),
    "ddpm": (DDPMScheduler, {}),
}
DEFAULT_SAMPLER = "dpmpp"
# The noise schedule is all a sampler takes from the training scheduler, so a pipeline
# behaves the same freshly built and reloaded.
_SCHEDULE_KEYS = ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end", "trained_betas",
                  "prediction_type", "rescale_betas_zero_snr", "clip_sample")


def make_scheduler(name: str, base_config):
    """A fresh scheduler of kind ``name`` sharing the training noise schedule in ``base_config``."""
    key = str(name).strip().lower().replace("-", "_").replace("+", "p")
    aliases = {"dpm": "dpmpp", "dpmsolver": "dpmpp", "dpm_solver": "dpmpp", "dpmpp2m": "dpmpp",
               "euler": "euler_a", "euler_ancestral": "euler_a", "eulera": "euler_a"}
    key = aliases.get(key, key)
    if key not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
    cls, extra = SAMPLERS[key]
    schedule = {k: base_config[k] for k in _SCHEDULE_KEYS if k in base_config}
    return cls.from_config({**schedule, "timestep_spacing": "trailing", "steps_offset": 0, **extra})


def training_scheduler(num_train_timesteps: int = 1000, prediction_type: str = "v_prediction"):
    """The noise schedule the models train with: cosine betas, v-prediction by default."""
    return DDPMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule="squaredcos_cap_v2",
                         prediction_type=prediction_type, clip_sample=False)
