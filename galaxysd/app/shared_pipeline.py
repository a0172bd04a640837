"""One loaded pipeline shared by every app session, generating one request at a time.

PyTorch modules are not safe to run from several threads at once, and on a small CPU
parallel requests would only slow each other down: a lock serialises them, so two browser
sessions generating together both get their images, one after the other.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from galaxysd.model.fast import load_fast_pipeline
from galaxysd.model.pipeline import GalaxyOutput, GalaxyPipeline


class SharedPipeline:
    """A :class:`GalaxyPipeline` behind a lock; :meth:`generate` also times each call."""

    def __init__(self, pipe: GalaxyPipeline):
        self.pipe = pipe
        self.lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: str | Path) -> "SharedPipeline":
        """Load ``RUN/model`` for inference on the best local device, with the speed settings
        of :mod:`galaxysd.model.fast` (ONNX Runtime on the CPU, half precision on a GPU)."""
        return cls(load_fast_pipeline(model_dir))

    @property
    def image_size(self) -> int:
        return int(self.pipe.config.image_size)

    @property
    def can_fill_open_questions(self) -> bool:
        """Whether the model has an answer prior to answer open questions with (not in paper
        mode, whose prompts are the paper's text)."""
        return self.pipe.answer_prior is not None and not self.pipe.paper_mode

    def generate(self, prompt, **settings) -> tuple[GalaxyOutput, float]:
        """Call the pipeline (see ``GalaxyPipeline.__call__``); returns images and seconds taken."""
        with self.lock:
            start = time.perf_counter()
            output = self.pipe(prompt, **settings)
            return output, time.perf_counter() - start

    def interpolate(self, prompt_a, prompt_b, frames: int, seed: int, **settings) -> tuple[GalaxyOutput, float]:
        """A morph from ``prompt_a`` to ``prompt_b`` at one seed (see ``GalaxyPipeline.interpolate``)."""
        with self.lock:
            start = time.perf_counter()
            output = self.pipe.interpolate(prompt_a, prompt_b, frames=frames, seeds=(seed, seed), **settings)
            return output, time.perf_counter() - start
