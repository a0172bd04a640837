"""Browsing ``discover/candidates.csv``: normalise, filter, sort, page, and sky-viewer links.

A candidates table has ``id, ra, dec, score, rank, known, image_path`` and the Hart16
vote-fraction columns of each galaxy (see :mod:`galaxysd.discover`). Thumbnails are found
in a ``thumbnail`` column or as ``discover/thumbs/<id>.png|.jpg``; real survey images are
not shipped, so a galaxy may have no local image, and the app shows the survey's own
cutout of its coordinates instead (loaded by the user's browser).
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from galaxysd.evaluation.run_results import read_table
from galaxysd.morphology import ANSWERS, fraction_column, question_of
from galaxysd.runs import RunDir, read_json, resolve_project_path

KNOWN_CHOICES = ("all", "new", "known")
#: Columns shown with a candidate's details when the search wrote them.
FACT_COLUMNS = (
    "catalog",
    "known_dusty_early_type",
    "cumulative_smooth",
    "cumulative_dust_lane",
    "used_in_training",
    "truth_dusty_early_type",
)
MARK_CHOICES = ("all", "unmarked", "confirmed", "rejected")
THUMB_SUFFIXES = (".png", ".jpg", ".jpeg")
CUTOUT_PIXELS = 256


DEFAULT_MIN_SCORE = 0.5  # the search's own candidate threshold


def known_label(record: dict) -> str:
    """What the catalogue already knows about a candidate, in words: a known dusty early
    type, a known dust lane (in a galaxy not known to be early-type), or new."""
    if _as_bool(record.get("known_dusty_early_type", False)):
        return "known dusty early type"
    if record.get("known"):
        return "known dust lane"
    return "new"


def default_catalog(catalogs: list[str]) -> int:
    """Index of the catalog the page opens on: a real survey (GZ1, then GZ2) before the demo."""
    for kind in ("gz1:", "gz2:", "hart16:", "csv:"):
        for i, name in enumerate(catalogs):
            if name.startswith(kind):
                return i
    return next((i for i, name in enumerate(catalogs) if not name.startswith("demo:")), 0)


def _as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "known")
    return bool(value) if value == value else False  # NaN -> False


def _local_image(run: RunDir, record: dict) -> str:
    candidates = []
    for column in ("thumbnail", "thumb", "thumb_path"):
        if isinstance(record.get(column), str) and record[column]:
            candidates += [run.discover_dir / record[column], run.path / record[column]]
    candidates += [run.discover_dir / "thumbs" / f"{record['id']}{s}" for s in THUMB_SUFFIXES]
    if isinstance(record.get("image_path"), str) and record["image_path"]:
        candidates.append(resolve_project_path(record["image_path"]))
    return next((str(p) for p in candidates if p.is_file()), "")


def load_candidates(run: RunDir) -> pd.DataFrame | None:
    """The run's candidates with ``id`` (text), ``score``, ``rank``, ``known`` (bool) and
    ``local_image`` (a readable file or ``""``); ``None`` when the search has not run."""
    table = read_table(run.discover_dir / "candidates.csv")
    if table is None:
        return None
    if "score" not in table:
        raise ValueError(f"{run.discover_dir / 'candidates.csv'} has no score column")
    table = table.copy()
    table["id"] = (table["id"] if "id" in table else pd.Series(range(len(table)))).astype(str)
    table["score"] = pd.to_numeric(table["score"], errors="coerce")
    if "rank" not in table:
        table["rank"] = table["score"].rank(ascending=False, method="first").astype(int)
    table["known"] = table["known"].map(_as_bool) if "known" in table else False
    for column in ("ra", "dec"):
        table[column] = pd.to_numeric(table[column], errors="coerce") if column in table else np.nan
    table["local_image"] = [_local_image(run, r) for r in table.to_dict("records")]
    return table


def search_summary(run: RunDir) -> pd.DataFrame | None:
    """``discover/summary.json`` as a table: one column per catalog searched."""
    summary = read_json(run.discover_dir / "summary.json")
    if not summary:
        return None
    return pd.DataFrame(
        {
            catalog: {k: str(v) for k, v in values.items()}
            for catalog, values in summary.items()
            if isinstance(values, dict)
        }
    )


def with_marks(candidates: pd.DataFrame, marks: pd.DataFrame) -> pd.DataFrame:
    """Add the users' ``mark`` (confirmed / rejected / "") and ``note`` columns."""
    lookup = marks.set_index("candidate_id") if len(marks) else None
    out = candidates.copy()
    out["mark"] = [lookup["status"].get(i, "") if lookup is not None else "" for i in out["id"]]
    out["note"] = [lookup["note"].get(i, "") if lookup is not None else "" for i in out["id"]]
    return out


def filter_candidates(
    table: pd.DataFrame,
    min_score: float = -math.inf,
    known: str = "all",
    mark: str = "all",
    sort_by: str = "score",
    descending: bool = True,
    catalog: str | None = None,
) -> pd.DataFrame:
    """Candidates with ``score >= min_score``, known/new, mark and catalog filters, sorted."""
    if known not in KNOWN_CHOICES or mark not in MARK_CHOICES:
        raise ValueError(f"known is one of {KNOWN_CHOICES}, mark one of {MARK_CHOICES}")
    if sort_by not in table:
        raise ValueError(f"cannot sort by {sort_by!r}: no such column")
    keep = table["score"] >= min_score
    if known != "all":
        keep &= table["known"] == (known == "known")
    if mark != "all" and "mark" in table:
        keep &= table["mark"] == ("" if mark == "unmarked" else mark)
    if catalog is not None and "catalog" in table:
        keep &= table["catalog"].astype(str) == catalog
    return table[keep].sort_values(sort_by, ascending=not descending, kind="stable")


def page_of(table: pd.DataFrame, page: int, per_page: int) -> tuple[pd.DataFrame, int]:
    """Rows of 1-based ``page`` and the number of pages (at least 1)."""
    pages = max(1, math.ceil(len(table) / per_page))
    page = min(max(1, int(page)), pages)
    return table.iloc[(page - 1) * per_page : page * per_page], pages


def vote_fractions(record: dict) -> pd.DataFrame:
    """The galaxy's known vote fractions: ``question, answer, fraction`` in tree order."""
    rows = []
    for ans in ANSWERS:
        value = record.get(fraction_column(ans))
        if isinstance(value, (int, float)) and math.isfinite(value):
            rows.append({"question": question_of(ans.tag).text, "answer": ans.tag, "fraction": round(float(value), 3)})
    return pd.DataFrame(rows, columns=["question", "answer", "fraction"])


def candidate_facts(record: dict) -> dict:
    """The search's extra facts about a candidate (catalog, cumulative fractions, truth...)."""
    return {
        column: record[column]
        for column in FACT_COLUMNS
        if column in record and record[column] == record[column] and record[column] != ""
    }


def has_coordinates(record: dict) -> bool:
    """True when ``ra`` and ``dec`` are finite and in range."""
    ra, dec = record.get("ra"), record.get("dec")
    return (
        all(isinstance(v, (int, float)) and math.isfinite(v) for v in (ra, dec)) and 0 <= ra <= 360 and -90 <= dec <= 90
    )


def sdss_object_id(record: dict) -> int | None:
    """The SDSS photometric object id of a candidate without coordinates (Galaxy Zoo 1 rows
    carry only that), or ``None``: an all-digit id of 17-19 digits from a non-demo catalog."""
    text = str(record.get("id", "")).strip()
    if str(record.get("catalog", "")).startswith("demo") or not text.isdigit() or not 17 <= len(text) <= 19:
        return None
    return int(text)


def sdss_explore_url(object_id: int) -> str:
    """The SDSS SkyServer Explore page of a photometric object id (image, photometry, spectra)."""
    return f"https://skyserver.sdss.org/dr16/en/tools/explore/summary.aspx?{urlencode({'id': object_id})}"


def sdss_cutout_url(ra: float, dec: float, pixels: int = CUTOUT_PIXELS) -> str:
    """SDSS SkyServer colour cutout JPEG centred on (ra, dec), 0.4 arcsec per pixel."""
    query = urlencode({"ra": f"{ra:.6f}", "dec": f"{dec:.6f}", "scale": 0.4, "width": pixels, "height": pixels})
    return f"https://skyserver.sdss.org/dr16/SkyServerWS/ImgCutout/getjpeg?{query}"


def legacy_cutout_url(ra: float, dec: float, pixels: int = CUTOUT_PIXELS) -> str:
    """Legacy Surveys DR10 colour cutout JPEG centred on (ra, dec)."""
    query = urlencode({"ra": f"{ra:.6f}", "dec": f"{dec:.6f}", "layer": "ls-dr10", "pixscale": 0.262, "size": pixels})
    return f"https://www.legacysurvey.org/viewer/cutout.jpg?{query}"


def sdss_navigate_url(ra: float, dec: float) -> str:
    """The SDSS SkyServer Navigate tool at (ra, dec)."""
    query = urlencode({"ra": f"{ra:.6f}", "dec": f"{dec:.6f}", "scale": 0.2})
    return f"https://skyserver.sdss.org/dr16/en/tools/chart/navi.aspx?{query}"


def legacy_viewer_url(ra: float, dec: float) -> str:
    """The Legacy Surveys sky viewer at (ra, dec)."""
    query = urlencode({"ra": f"{ra:.6f}", "dec": f"{dec:.6f}", "layer": "ls-dr10", "zoom": 15})
    return f"https://www.legacysurvey.org/viewer?{query}"
