"""``python -m galaxysd.train``: train a conditional galaxy diffusion model into a run directory.

A thin entry point; the job lives in :mod:`galaxysd.training.trainer`.
"""

import sys

from galaxysd.training.trainer import main

if __name__ == "__main__":
    sys.exit(main())
