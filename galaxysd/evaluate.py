"""``python -m galaxysd.evaluate``: train the judge, and evaluate a run.

A thin entry point; the job lives in :mod:`galaxysd.evaluation.evaluate_job`.
"""

import sys

from galaxysd.evaluation.evaluate_job import main

if __name__ == "__main__":
    sys.exit(main())
