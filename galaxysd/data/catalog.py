"""The catalog schema: one pandas DataFrame per source, one row per galaxy.

Columns, in this order (extra columns such as ``gz2_class`` or ``truth_*`` may follow):

``id``          str, the survey's object id (or a file stem)
``image_path``  str, absolute path of the image, ``""`` when the row has no image
``ra``, ``dec`` float degrees, NaN when unknown
``source``      one of :data:`SOURCES`
``domain``      a survey tag from :data:`galaxysd.morphology.DOMAIN_TAGS` (``sdss``, ``demo``)
then the 37 vote-fraction columns :data:`galaxysd.morphology.FRACTION_COLUMNS`
(Hart16 answer name + ``_debiased``). Sources without debiased fractions store their
best available per-question fractions there (raw GZ2 fractions, converted Kaggle
values, hard 0/1 values implied by a GZ1 class); answers a source says nothing about
are NaN.

Loaders drop unusable rows and say so: the :class:`LoadReport` is kept in
``df.attrs["load_report"]`` and logged (warning level when anything was skipped).
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd
from PIL import Image

from galaxysd.morphology import DOMAIN_TAGS, FRACTION_COLUMNS

log = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = ("gz2", "gz1", "kaggle", "folder", "demo", "synthetic")
IDENTITY_COLUMNS: tuple[str, ...] = ("id", "image_path", "ra", "dec", "source", "domain")
CATALOG_COLUMNS: tuple[str, ...] = IDENTITY_COLUMNS + FRACTION_COLUMNS
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png")
REPORT_KEY = "load_report"
SPLITS: tuple[str, ...] = ("train", "holdout")
DEFAULT_HOLDOUT = 0.15
MAX_EXAMPLES = 5
_JPEG_END = b"\xff\xd9"
_JPEG_TAIL_BYTES = 1024  # the end-of-image marker must lie within this many final bytes


def empty_catalog() -> pd.DataFrame:
    """A catalog with no rows and the schema's columns and dtypes."""
    columns = {name: pd.Series(dtype=float) for name in CATALOG_COLUMNS}
    for name in ("id", "image_path", "source", "domain"):
        columns[name] = pd.Series(dtype=str)
    return pd.DataFrame(columns)


def validate_catalog(df: pd.DataFrame) -> pd.DataFrame:
    """Check that ``df`` follows the catalog schema; returns it unchanged.

    Raises ``ValueError`` naming every missing column, or unknown ``source``/``domain``
    values.
    """
    missing = [c for c in CATALOG_COLUMNS if c not in df.columns]
    if missing:
        shown = ", ".join(missing[:8]) + (f" (+{len(missing) - 8} more)" if len(missing) > 8 else "")
        raise ValueError(f"catalog is missing {len(missing)} column(s): {shown}")
    for column, allowed in (("source", SOURCES), ("domain", DOMAIN_TAGS)):
        unknown = sorted(set(df[column].dropna().astype(str)) - set(allowed))
        if unknown:
            raise ValueError(f"catalog column {column!r} has unknown value(s) {unknown}; allowed: {', '.join(allowed)}")
    return df


def concat_catalogs(catalogs: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Stack catalogs (schema columns first, extra columns kept, NaN where absent)."""
    frames = [validate_catalog(df) for df in catalogs]
    if not frames:
        return empty_catalog()
    joined = pd.concat(frames, ignore_index=True)
    joined.attrs = {}
    return joined


@dataclass
class Skipped:
    """How many rows were skipped for one reason, with the first few examples."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, items: Iterable[str]) -> None:
        """Count ``items`` and keep the first :data:`MAX_EXAMPLES` of them."""
        items = [str(item) for item in items]
        self.count += len(items)
        self.examples.extend(items[: MAX_EXAMPLES - len(self.examples)])


@dataclass
class LoadReport:
    """What a loader read, kept and skipped (and why)."""

    source: str
    origin: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    without_image: int = 0  # rows kept as labels only (``image_path == ""``)
    missing_images: Skipped = field(default_factory=Skipped)
    corrupt_images: Skipped = field(default_factory=Skipped)
    nan_labels: Skipped = field(default_factory=Skipped)
    unusable_labels: Skipped = field(default_factory=Skipped)  # e.g. GZ1 "don't know"

    @property
    def total_skipped(self) -> int:
        """Rows dropped for any reason."""
        return sum(s.count for s in self._reasons().values())

    def _reasons(self) -> dict[str, Skipped]:
        return {
            "with no image file": self.missing_images,
            "with a corrupt or truncated image": self.corrupt_images,
            "with all vote fractions NaN": self.nan_labels,
            "without a usable label": self.unusable_labels,
        }

    def __str__(self) -> str:
        where = f" ({self.origin})" if self.origin else ""
        text = f"{self.source}{where}: {self.rows_read:,} rows read, {self.rows_loaded:,} loaded"
        if self.without_image:
            text += f" ({self.without_image:,} of them without an image file)"
        if not self.total_skipped:
            return text + "; nothing skipped."
        parts = [
            f"{s.count:,} {reason} (e.g. {', '.join(s.examples)})" for reason, s in self._reasons().items() if s.count
        ]
        return text + f"; skipped {self.total_skipped:,}: " + "; ".join(parts) + "."


def check_image(path: str | os.PathLike) -> str | None:
    """Why an image file is unusable, or ``None`` when it decodes completely.

    Opens the file with PIL and decodes every pixel (``Image.load``). A JPEG must also
    end with its end-of-image marker, so truncated files are caught even where
    ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` has been switched on.
    """
    try:
        with Image.open(path) as image:
            if image.format == "JPEG":
                with open(path, "rb") as handle:
                    handle.seek(max(0, os.path.getsize(path) - _JPEG_TAIL_BYTES))
                    if _JPEG_END not in handle.read():
                        return "truncated JPEG (no end-of-image marker)"
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def check_images(paths: Iterable[str], workers: int = 4) -> list[str | None]:
    """:func:`check_image` for many files, decoded on a few threads."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, os.cpu_count() or 1))) as pool:
        return list(pool.map(check_image, paths))


def find_images(
    stems: pd.Series, images_dir: str | os.PathLike, suffixes: tuple[str, ...] = IMAGE_SUFFIXES
) -> pd.Series:
    """Absolute path of ``{images_dir}/{stem}{suffix}`` for the first suffix that exists, else ``""``.

    Missing (NaN or empty) stems give ``""``.

    Lists the folder once instead of testing each file, so it is fast for 10^5 rows.
    """
    folder = os.path.abspath(images_dir)
    names = {entry.name for entry in os.scandir(folder)} if os.path.isdir(folder) else set()
    known = stems.notna() & (stems.astype(str) != "")
    stems = stems.astype(str)
    found = pd.Series("", index=stems.index, dtype=str)
    for suffix in suffixes:
        candidates = stems + suffix
        hit = known & (found == "") & candidates.isin(names)
        found[hit] = folder + os.sep + candidates[hit]
    return found


def finish_catalog(
    df: pd.DataFrame,
    report: LoadReport,
    *,
    require_image: bool = True,
    labelled: bool = True,
    verify_images: bool = False,
) -> pd.DataFrame:
    """Drop unusable rows into ``report``, order the columns, attach and log the report.

    ``df`` already holds every schema column. In order, rows are skipped when all vote
    fractions are NaN (only if ``labelled``), when the image file does not exist (with
    ``require_image=False`` such rows are kept with ``image_path == ""``), and when
    ``verify_images`` finds the image undecodable.
    """
    df = df.reset_index(drop=True)
    if labelled:
        unlabelled = df[list(FRACTION_COLUMNS)].isna().all(axis=1).to_numpy()
        report.nan_labels.add(df.loc[unlabelled, "id"])
        df = df[~unlabelled]
    df = df.assign(image_path=df["image_path"].fillna("").astype(str))
    exists = np.fromiter((bool(p) and os.path.isfile(p) for p in df["image_path"]), bool, len(df))
    if require_image:
        missing = df[~exists]
        report.missing_images.add(missing["image_path"].where(missing["image_path"] != "", missing["id"]))
        df = df[exists]
    else:
        report.without_image += int((~exists).sum())
        df = df.assign(image_path=df["image_path"].where(exists, ""))
    if verify_images:
        with_image = df["image_path"] != ""
        problems = pd.Series(check_images(df.loc[with_image, "image_path"]), index=df.index[with_image], dtype=object)
        bad = problems.notna()
        report.corrupt_images.add(f"{p} ({why})" for p, why in zip(df.loc[bad[bad].index, "image_path"], problems[bad]))
        df = df.drop(index=bad[bad].index)
    extras = [c for c in df.columns if c not in CATALOG_COLUMNS]
    df = df[list(CATALOG_COLUMNS) + extras].reset_index(drop=True)
    report.rows_loaded = len(df)
    validate_catalog(df)
    df.attrs[REPORT_KEY] = report
    log.log(logging.WARNING if report.total_skipped else logging.INFO, "%s", report)
    return df


def load_report(df: pd.DataFrame) -> LoadReport | None:
    """The :class:`LoadReport` a loader attached to ``df`` (``None`` if there is none)."""
    return df.attrs.get(REPORT_KEY)


def holdout_mask(ids: Iterable[str], fraction: float = DEFAULT_HOLDOUT) -> np.ndarray:
    """True for the ids in the held-out share ``fraction``, fixed by a SHA-1 hash of each id.

    The split depends on nothing but the id, so it is the same on every machine, in every
    run and for every subset of a catalog.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must be within (0, 1), got {fraction}")
    unit = [int.from_bytes(hashlib.sha1(str(i).encode()).digest()[:8], "big") / 2.0**64 for i in ids]
    return np.asarray(unit, dtype=np.float64) < fraction


def split_catalog(df: pd.DataFrame, split: str, fraction: float = DEFAULT_HOLDOUT) -> pd.DataFrame:
    """The ``train`` or ``holdout`` rows of a catalog (see :func:`holdout_mask`), index reset."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    held = holdout_mask(df["id"], fraction)
    out = df[held if split == "holdout" else ~held].reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out
