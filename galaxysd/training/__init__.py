"""Training: the configuration, (image, condition) batches, resumable checkpoints and the
training loop behind ``python -m galaxysd.train``.
May import :mod:`galaxysd.model`, :mod:`galaxysd.data` and the core modules.
"""
