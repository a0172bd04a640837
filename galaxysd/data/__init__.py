"""Galaxy catalogs: loaders for every Galaxy Zoo source, all returning one schema.

``galaxysd.data.cache`` (image cache), ``galaxysd.data.demo`` (demo survey) and
``galaxysd.data.download`` (public data download) are imported on their own to keep this
package light.
"""

from galaxysd.data.catalog import (
    CATALOG_COLUMNS,
    IDENTITY_COLUMNS,
    SOURCES,
    LoadReport,
    Skipped,
    check_image,
    concat_catalogs,
    empty_catalog,
    load_report,
    validate_catalog,
)
from galaxysd.data.loaders import (
    GZ1_CLASS_ANSWERS,
    LOADERS,
    kaggle_to_vote_fractions,
    load_catalog,
    load_catalog_spec,
    load_demo,
    load_folder,
    load_gz1,
    load_gz2,
    load_kaggle,
    load_synthetic,
)

__all__ = [
    "CATALOG_COLUMNS",
    "IDENTITY_COLUMNS",
    "SOURCES",
    "LoadReport",
    "Skipped",
    "check_image",
    "concat_catalogs",
    "empty_catalog",
    "load_report",
    "validate_catalog",
    "GZ1_CLASS_ANSWERS",
    "LOADERS",
    "kaggle_to_vote_fractions",
    "load_catalog",
    "load_catalog_spec",
    "load_demo",
    "load_folder",
    "load_gz1",
    "load_gz2",
    "load_kaggle",
    "load_synthetic",
]
