"""Speed settings for sampling: one call turns a loaded pipeline into a fast one.

:func:`optimize` applies, each change measured in ``benchmarks/bench_generate.py``:

* ``torch.inference_mode`` while sampling (no autograd bookkeeping at all);
* channels-last UNet weights (oneDNN's preferred convolution layout on the CPU);
* CPU threads: PyTorch gets one per *idle* core (cores this process may use, less the
  1-minute load average): its worker threads spin while they wait, so on a CPU shared
  with a training job two of them are several times slower than one. ONNX Runtime gets
  every core, its idle threads set to sleep instead of spin (as fast as one thread on a
  busy CPU, faster on a quiet one);
* on the CPU, the UNet run by ONNX Runtime when it is installed (tag-encoder models): it
  fuses the convolutions, norms and activations PyTorch runs one by one. Without
  ``onnxruntime`` (or if the export fails) the pipeline quietly stays on PyTorch. The
  export (seconds) is kept in ``.data/onnx/`` under a hash of the UNet's weight file, torch
  version and opset, so a new server loads it instead of exporting again;
* on a GPU: bf16 weights (fp16 where bf16 is unsupported) and SDPA attention;
* optionally ``torch.compile`` (minutes to start on a small CPU; off by default).

One batched classifier-free-guidance pass per step is the pipeline's own default.
:data:`REFERENCE` undoes all of it: the unoptimised path the tests and the benchmark
compare against.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from diffusers.models.attention_processor import AttnProcessor2_0

from galaxysd.model.encoders import Conditioning
from galaxysd.model.pipeline import GalaxyPipeline
from galaxysd.model.saving import load_pipeline
from galaxysd.runs import DEFAULT_CACHE_ROOT

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnxruntime")
ONNX_OPSET = 17
ONNX_CACHE = DEFAULT_CACHE_ROOT.parent / "onnx"  # exports kept between server starts


@dataclass(frozen=True)
class SpeedSettings:
    """How a pipeline samples; the defaults are the fastest measured on a 2-core CPU."""

    backend: str = "auto"  # CPU UNet runtime: "onnxruntime" when installed, else "torch"
    threads: int | None = None  # CPU threads; None = automatic (see the module docstring)
    channels_last: bool = True
    inference_mode: bool = True
    compile: bool = False  # torch.compile the UNet (PyTorch backend only)


#: The unoptimised path: PyTorch eager, contiguous tensors, ``no_grad`` instead of inference
#: mode, PyTorch's default threads (one per core).
REFERENCE = SpeedSettings(backend="torch", threads=0, channels_last=False, inference_mode=False)


def available_cores() -> int:
    """The number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def idle_cores() -> int:
    """Cores not busy with other work: available cores less the 1-minute load average (>= 1)."""
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this platform
        return cores
    return max(1, min(cores, int(cores - load + 0.5)))


def configure_threads(threads: int | None = None) -> int:
    """Set PyTorch's CPU thread count and return it.

    ``None``: one per idle core (:func:`idle_cores`); ``0``: PyTorch's default, one per core.
    """
    if threads is not None and int(threads) < 0:
        raise ValueError(f"threads must be 0 (one per core), None (one per idle core) or more, got {threads}")
    count = {None: idle_cores(), 0: available_cores()}.get(threads, threads)
    torch.set_num_threads(int(count))
    return int(count)


def cuda_dtype() -> torch.dtype:
    """bf16 on GPUs that support it (no fp16 overflow), fp16 on older ones."""
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def onnxruntime_available() -> bool:
    """True when ONNX Runtime and the ONNX exporter's ``onnx`` package are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def resolve_backend(pipe: GalaxyPipeline, backend: str) -> str:
    """``"torch"`` or ``"onnxruntime"`` for ``pipe`` (``"auto"`` picks ONNX Runtime where it can run)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    supported = pipe.unet.device.type == "cpu" and pipe.unet.dtype == torch.float32 and not pipe.paper_mode
    if backend == "onnxruntime":
        if not supported:
            raise ValueError("the onnxruntime backend runs tag-encoder models in float32 on the CPU only")
        if not onnxruntime_available():
            raise ValueError(
                "the onnxruntime backend needs the onnxruntime and onnx packages (pip install -r requirements.txt)"
            )
    if backend == "auto":
        return "onnxruntime" if supported and onnxruntime_available() else "torch"
    return backend


def onnx_cache_file(model_dir: str | Path, cache: Path | None = None) -> Path | None:
    """Where the ONNX export of ``model_dir``'s UNet is kept: named after a hash of its weight
    file and config, the torch version and the opset; ``None`` without a weight file."""
    unet_dir = Path(model_dir) / "unet"
    files = sorted(unet_dir.glob("*.safetensors")) + sorted(unet_dir.glob("config.json"))
    if not any(f.suffix == ".safetensors" for f in files):
        return None
    digest = hashlib.sha1(f"{torch.__version__}|{ONNX_OPSET}".encode())
    for path in files:
        digest.update(path.read_bytes())
    return (cache or ONNX_CACHE) / f"unet-{digest.hexdigest()[:20]}.onnx"


def optimize(
    pipe: GalaxyPipeline, settings: SpeedSettings = SpeedSettings(), export_file: Path | None = None
) -> GalaxyPipeline:
    """Apply ``settings`` to ``pipe`` in place (see the module docstring) and return it.

    Call it outside ``torch.inference_mode``, after the weights are final; the ONNX
    Runtime backend re-exports by itself if the UNet's weights change later.
    ``export_file`` (see :func:`onnx_cache_file`) is read instead of exporting when it
    exists, and written after an export otherwise.
    """
    device = pipe.unet.device
    if device.type == "cuda":
        pipe.to(dtype=cuda_dtype())
    _use_sdpa_attention(pipe)
    fmt = torch.channels_last if settings.channels_last else torch.contiguous_format
    pipe.unet.to(memory_format=fmt)
    threads = configure_threads(settings.threads) if device.type == "cpu" else None
    pipe.use_inference_mode = settings.inference_mode
    pipe.denoiser = None
    backend = resolve_backend(pipe, settings.backend)
    if backend == "onnxruntime":
        threads = available_cores() if settings.threads is None else threads
        try:
            pipe.denoiser = OnnxUNet(pipe.unet, _example_inputs(pipe), threads, export_file)
        except Exception as error:  # an exporter or runtime problem must not stop generation
            if settings.backend == "onnxruntime":
                raise
            log.warning("ONNX Runtime unavailable for this model (%s); using PyTorch", error)
            backend, threads = "torch", torch.get_num_threads()
    if backend == "torch" and settings.compile:
        pipe.denoiser = CompiledUNet(pipe.unet)
    pipe.speed = replace(settings, backend=backend, threads=threads)
    pipe.set_progress_bar_config(disable=True)
    for module in (pipe.unet, pipe.tag_encoder, pipe.vae, pipe.text_encoder):
        if module is not None:
            module.eval()
    return pipe


def load_fast_pipeline(
    model_dir: str | Path, settings: SpeedSettings = SpeedSettings(), device: str | torch.device | None = None
) -> GalaxyPipeline:
    """Load ``RUN/model`` and :func:`optimize` it: the way to get a pipeline for generation
    (the ONNX export is reused from :data:`ONNX_CACHE` when it was made before)."""
    return optimize(load_pipeline(model_dir, device=device), settings, onnx_cache_file(model_dir))


def _use_sdpa_attention(pipe: GalaxyPipeline) -> None:
    """PyTorch's fused scaled-dot-product attention in every attention layer."""
    for module in (pipe.unet, pipe.vae):
        if module is not None and hasattr(module, "set_attn_processor"):
            module.set_attn_processor(AttnProcessor2_0())


def _example_inputs(pipe: GalaxyPipeline) -> tuple[torch.Tensor, torch.Tensor, Conditioning]:
    """Inputs of the UNet's shapes (batch 2) for export."""
    with torch.no_grad():
        cond = pipe.encode([{}, {}])
    latents = torch.zeros((2, *pipe.latent_shape()), dtype=pipe.unet.dtype)
    return latents, torch.tensor(500.0), Conditioning(cond.context.detach(), cond.class_vector.detach())


class _UNetForward(torch.nn.Module):
    """The UNet with positional tensor inputs and a tensor output, as exporters want."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, context, class_vector):
        return self.unet(sample, timestep, encoder_hidden_states=context, class_labels=class_vector).sample


class OnnxUNet:
    """The UNet exported to ONNX in memory and run by ONNX Runtime on the CPU.

    Called like :meth:`GalaxyPipeline.denoise` (``latents, t, cond -> output``). Inputs it
    cannot take (not float32 on the CPU) go to the PyTorch UNet. Re-exported when the
    UNet's weights change, so it never runs stale weights.
    """

    INPUTS = ("sample", "timestep", "context", "class_vector")

    def __init__(self, unet, example: tuple, threads: int, export_file: Path | None = None):
        self.unet = unet
        self.example = example
        self.threads = threads
        self.session = None
        self.fingerprint = None
        self.export_file = export_file
        self.loaded_from_file = False
        self._build()

    def _weights_fingerprint(self) -> tuple:
        try:
            return tuple((p.data_ptr(), p._version) for p in self.unet.parameters())
        except RuntimeError:  # inference tensors carry no version counter
            return tuple(p.data_ptr() for p in self.unet.parameters())

    def _export(self) -> bytes:
        latents, t, cond = self.example
        batch = latents.shape[0]
        inputs = (latents, t.expand(batch).float(), cond.context, cond.class_vector)
        buffer = io.BytesIO()
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _UNetForward(self.unet).eval(),
                inputs,
                buffer,
                dynamo=False,
                input_names=list(self.INPUTS),
                output_names=["output"],
                dynamic_axes={name: {0: "batch"} for name in (*self.INPUTS, "output")},
                opset_version=ONNX_OPSET,
            )
        return buffer.getvalue()

    def _build(self, reuse_file: bool = True) -> None:
        import onnxruntime as ort  # optional backend, slow to import

        model = None
        if reuse_file and self.export_file is not None and self.export_file.is_file():
            model, self.loaded_from_file = self.export_file.read_bytes(), True
        if model is None:
            model, self.loaded_from_file = self._export(), False
            if reuse_file and self.export_file is not None:
                _write_export(self.export_file, model)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.fingerprint = self._weights_fingerprint()

    def __call__(self, latents: torch.Tensor, t, cond: Conditioning) -> torch.Tensor:
        if latents.device.type != "cpu" or latents.dtype != torch.float32:
            return self.unet(latents, t, encoder_hidden_states=cond.context, class_labels=cond.class_vector).sample
        if self._weights_fingerprint() != self.fingerprint:
            log.info("UNet weights changed: exporting the ONNX model again")
            self._build(reuse_file=False)  # the kept file holds the old weights
        batch = latents.shape[0]
        feed = {
            "sample": np.ascontiguousarray(latents.numpy()),
            "timestep": np.full((batch,), float(t), np.float32),
            "context": np.ascontiguousarray(cond.context.float().numpy()),
            "class_vector": np.ascontiguousarray(cond.class_vector.float().numpy()),
        }
        return torch.from_numpy(self.session.run(None, feed)[0])


def _write_export(path: Path, model: bytes) -> None:
    """Keep an export for the next start (atomically; a read-only place is skipped)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(model)
        os.replace(partial, path)
    except OSError as error:
        log.info("could not keep the ONNX export at %s: %s", path, error)


class CompiledUNet:
    """The UNet through ``torch.compile`` (compiles on first use of each batch size)."""

    def __init__(self, unet):
        self.compiled = torch.compile(unet)

    def __call__(self, latents: torch.Tensor, t, cond: Conditioning) -> torch.Tensor:
        return self.compiled(latents, t, encoder_hidden_states=cond.context, class_labels=cond.class_vector).sample
