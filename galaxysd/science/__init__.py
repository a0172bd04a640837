"""Science: does synthetic data help classifiers (``galaxysd.augment``), and the dusty
early-type search (``galaxysd.discover``: detectors, scanning, ranking metrics).
May import evaluation, training, model, data and the core modules.
"""
