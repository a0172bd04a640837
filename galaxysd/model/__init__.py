"""The model: conditioning encoders, UNet presets, the diffusion pipeline, samplers, the fast
sampling engine, saving/loading (safetensors) and paper mode (Stable Diffusion 1.5 + CLIP).
May import :mod:`galaxysd.data` and the core modules only.
"""
