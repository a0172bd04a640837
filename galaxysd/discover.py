"""``python -m galaxysd.discover``: search a catalog for dusty early-type galaxies.

A thin entry point; the job lives in :mod:`galaxysd.science.discover_job`.
"""

import sys

from galaxysd.science.discover_job import main

if __name__ == "__main__":
    sys.exit(main())
