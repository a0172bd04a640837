"""The design study with one more sampler to choose from: ``dpmpp_sde_uniform``, DPM-Solver++
SDE with steps spaced uniformly in time instead of in log-SNR (the shipped ``dpmpp_sde``).

    python benchmarks/design_study_samplers.py RUN --sampler dpmpp_sde_uniform --steps 30 [design_study options]

Used for the sampler and step-count study in ``benchmarks/DESIGN_STUDY.md``; the variant is
not offered in the app because it was less realistic there at every step count tried.
"""

import runpy
import sys
from pathlib import Path

from diffusers import DPMSolverMultistepScheduler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from galaxysd.model import samplers  # noqa: E402

samplers.SAMPLERS["dpmpp_sde_uniform"] = (
    DPMSolverMultistepScheduler,
    {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, "lower_order_final": True},
)

if __name__ == "__main__":
    sys.argv[0] = str(Path(__file__).with_name("design_study.py"))
    runpy.run_path(sys.argv[0], run_name="__main__")
