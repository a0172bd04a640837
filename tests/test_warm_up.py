"""The app's background model load must not disturb models built meanwhile in the process."""

from __future__ import annotations

import threading

import pytest
import torch

from galaxysd.app import ui
from galaxysd.model.saving import load_pipeline
from galaxysd.runs import DEFAULT_RUN, RunDir

pytestmark = pytest.mark.skipif(
    not (DEFAULT_RUN / "model" / "model_index.json").is_file(),
    reason="the shipped default model is not in this checkout",
)


def test_loading_leaves_process_wide_torch_state_alone(monkeypatch):
    import accelerate

    def refuse(*args, **kwargs):
        raise AssertionError("the load swapped nn.Module.register_parameter for the whole process")

    default_dtypes = []
    real_set_default_dtype = torch.set_default_dtype

    def record(dtype):
        default_dtypes.append(dtype)
        real_set_default_dtype(dtype)

    monkeypatch.setattr(accelerate, "init_empty_weights", refuse)
    monkeypatch.setattr(torch, "set_default_dtype", record)
    pipe = load_pipeline(DEFAULT_RUN / "model", device="cpu", dtype=torch.float16)
    assert pipe.unet.dtype == torch.float16 and pipe.tag_encoder.dtype == torch.float16
    assert set(default_dtypes) <= {torch.float32}, "a half-precision load must not change torch's default dtype"
    assert torch.get_default_dtype() == torch.float32


def test_modules_built_while_another_thread_loads_are_ordinary():
    loads_done = threading.Event()

    def load_three_times():
        try:
            for _ in range(3):
                load_pipeline(DEFAULT_RUN / "model", device="cpu", dtype=torch.float16)
        finally:
            loads_done.set()

    loader = threading.Thread(target=load_three_times)
    loader.start()
    built = 0
    while not loads_done.is_set() or built < 50:
        conv = torch.nn.Conv2d(3, 8, 3)
        assert conv.weight.device.type == "cpu" and conv.weight.dtype == torch.float32
        built += 1
    loader.join()
    assert torch.nn.Conv2d(3, 8, 3).weight.device.type == "cpu"


def test_warm_up_loads_in_the_background_and_other_loaders_wait_for_it(monkeypatch):
    run = RunDir(DEFAULT_RUN)
    monkeypatch.setenv(ui.WARM_UP_ENV, "0")
    assert ui.warm_up(run) is None, "GALAXYSD_WARM_UP=0 turns the background load off"

    monkeypatch.setenv(ui.WARM_UP_ENV, "1")
    monkeypatch.setattr(ui, "_WARMING", {})
    thread = ui.warm_up(run)
    assert thread is not None and thread.name == "galaxysd-warm-up"
    assert ui.warm_up(run) is None, "one background load per run and process"
    ui.wait_for_warm_up()
    assert not thread.is_alive()
    pipe = ui.cached_pipeline(run)
    assert pipe is ui.cached_pipeline(run), "the page gets the model the warm-up loaded"
    output, _ = pipe.generate("sdss, smooth", num_images=1, steps=2, seed=0)
    assert output.arrays.shape == (1, pipe.image_size, pipe.image_size, 3)
