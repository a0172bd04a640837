"""Evaluation: the judge classifier, realism / diversity / consistency metrics, physical
morphology statistics, a run's evaluation and its UMAP map (``galaxysd.evaluate``, ``galaxysd.explore``).
May import training, model, data and the core modules.
"""
