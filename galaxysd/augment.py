"""``python -m galaxysd.augment``: do synthetic galaxies improve morphology classifiers?.

A thin entry point; the job lives in :mod:`galaxysd.science.augment_job`.
"""

import sys

from galaxysd.science.augment_job import main

if __name__ == "__main__":
    sys.exit(main())
