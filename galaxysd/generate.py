"""``python -m galaxysd.generate``: generate a synthetic galaxy set (PNGs + catalog) from a run.

A thin entry point; the job lives in :mod:`galaxysd.model.generate_job`.
"""

import sys

from galaxysd.model.generate_job import main

if __name__ == "__main__":
    sys.exit(main())
