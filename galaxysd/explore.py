"""``python -m galaxysd.explore``: a UMAP map of real and generated galaxies.

A thin entry point; the job lives in :mod:`galaxysd.evaluation.explore_job`.
"""

import sys

from galaxysd.evaluation.explore_job import main

if __name__ == "__main__":
    sys.exit(main())
