"""Loaders that turn each Galaxy Zoo source into the catalog schema of :mod:`.catalog`.

Every loader returns a DataFrame with the :class:`~galaxysd.data.catalog.LoadReport` in
``df.attrs["load_report"]``. :func:`load_catalog_spec` reads the ``KIND:PATH`` strings
used in config files and on the command line.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd

from galaxysd.data.catalog import (
    DEFAULT_HOLDOUT,
    IMAGE_SUFFIXES,
    LoadReport,
    find_images,
    finish_catalog,
    split_catalog,
)
from galaxysd.data.framing import measured_framing
from galaxysd.data.label_join import join_derived_labels
from galaxysd.data.public_catalogues import join_catalogues
from galaxysd.morphology import ANSWERS, FRACTION_COLUMNS, TREE, answer, fraction_column
from galaxysd.runs import resolve_project_path

GZ2_TABLE_NAMES = ("gz2_hart16.csv.gz", "gz2_hart16.csv")
GZ2_MAPPING_NAME = "gz2_filename_mapping.csv"
GZ2_IMAGE_DIRS = ("images_gz2/images", "images_gz2", "images")
KAGGLE_SOLUTIONS_NAME = "training_solutions_rev1.csv"
KAGGLE_IMAGE_DIR = "images_training_rev1"
FOLDER_CATALOG_NAME = "catalog.csv"
FILENAME_COLUMNS = ("image_path", "filename", "file_name", "file", "image")
FRACTION_SUFFIXES = ("_debiased", "", "_fraction")  # accepted spellings, in order of preference

#: GZ1 majority class -> the GZ2 answers it implies (each with fraction 1, its siblings 0).
GZ1_CLASS_ANSWERS: dict[str, tuple[str, ...]] = {
    "elliptical": ("smooth",),
    "spiral clockwise": ("features or disk-shaped", "not edge-on", "spiral galaxy"),
    "spiral anticlockwise": ("features or disk-shaped", "not edge-on", "spiral galaxy"),
    "edge-on": ("features or disk-shaped", "edge-on galaxy"),
    "merger": ("odd feature", "merger"),
}


def _label_key(label: object) -> str:
    """``"spiral_clockwise"``, ``"Spiral clockwise"`` -> ``"spiralclockwise"``."""
    return "".join(ch for ch in str(label).lower() if ch.isalpha())


def _read_table(
    path: str | os.PathLike,
    required: list[str],
    optional: tuple[str, ...] | None = (),
    id_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read a CSV (or .csv.gz): the required and optional columns, or all if ``optional`` is None.

    Id columns are read as text; ``ValueError`` names missing required columns.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"table not found: {path}")
    wanted = None if optional is None else set(required) | set(optional)
    table = pd.read_csv(
        path,
        usecols=None if wanted is None else (lambda c: c in wanted),
        dtype={c: str for c in id_columns},
        low_memory=False,
    )
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path} lacks column(s) {', '.join(missing[:6])}"
            + (f" (+{len(missing) - 6} more)" if len(missing) > 6 else "")
        )
    return table


def _first_existing(root: Path, names: tuple[str, ...], want_dir: bool = False) -> Path | None:
    for name in names:
        candidate = root / name
        if candidate.is_dir() if want_dir else candidate.is_file():
            return candidate
    return None


def _gz2_paths(hart16_csv, images_dir, mapping_csv) -> tuple[Path, Path | None, Path | None]:
    """Resolve the Hart16 table, image folder and filename mapping of a GZ2 download."""
    path = Path(hart16_csv).expanduser()
    root = path if path.is_dir() else path.parent
    if path.is_dir():
        other_tables = sorted(root.glob("*hart16*.csv*"))
        path = _first_existing(root, GZ2_TABLE_NAMES) or (other_tables[0] if other_tables else None)
        if path is None:
            raise FileNotFoundError(f"no Hart16 table ({' or '.join(GZ2_TABLE_NAMES)}) in {root}")
    if images_dir is None:
        images_dir = _first_existing(root, GZ2_IMAGE_DIRS, want_dir=True)
    if mapping_csv is None:
        mapping_csv = _first_existing(root, (GZ2_MAPPING_NAME,))
    return path, images_dir and Path(images_dir), mapping_csv and Path(mapping_csv)


def load_gz2(
    hart16_csv: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    mapping_csv: str | os.PathLike | None = None,
    images_only: bool = False,
    verify_images: bool = False,
) -> pd.DataFrame:
    """Load the Galaxy Zoo 2 Hart et al. (2016) table, with images where present.

    ``hart16_csv`` is ``gz2_hart16.csv[.gz]`` or the folder holding it. Unless given,
    ``images_dir`` (``images_gz2/images``, ``images_gz2`` or ``images``) and
    ``gz2_filename_mapping.csv`` are looked up next to the table. Images are found as
    ``{asset_id}.jpg`` through the mapping or as ``{dr7objid}.jpg``. Rows without an
    image keep ``image_path == ""`` unless ``images_only``. Keeps ``ra``, ``dec``,
    ``gz2_class`` and ``sample``; fractions are the Hart16 debiased ones.
    """
    table_path, images_dir, mapping_csv = _gz2_paths(hart16_csv, images_dir, mapping_csv)
    table = _read_table(
        table_path, ["dr7objid", *FRACTION_COLUMNS], ("ra", "dec", "gz2_class", "sample"), id_columns=("dr7objid",)
    )
    ids = table["dr7objid"].astype(str)
    paths = pd.Series("", index=table.index, dtype=str)
    if images_dir is not None:
        if mapping_csv is not None:
            mapping = _read_table(mapping_csv, ["objid", "asset_id"], id_columns=("objid", "asset_id"))
            asset_ids = ids.map(mapping.drop_duplicates("objid").set_index("objid")["asset_id"])
            paths = find_images(asset_ids, images_dir)
        paths = paths.where(paths != "", find_images(ids, images_dir))
    elif images_only:
        raise FileNotFoundError(f"images_only needs an image folder; none found next to {table_path}")
    catalog = _with_identity(table.drop(columns="dr7objid"), ids, paths, "gz2", "sdss")
    report = LoadReport("gz2", str(table_path), rows_read=len(table))
    return finish_catalog(catalog, report, require_image=images_only, verify_images=verify_images)


def kaggle_to_vote_fractions(solutions: pd.DataFrame) -> pd.DataFrame:
    """Undo the Galaxy Challenge's cumulative products: Class1.1..Class11.6 -> Hart16 fractions.

    Each task's answers are divided by their sum (the share of volunteers who reached
    the task), giving per-question fractions; a task nobody reached (0/0) becomes NaN.
    """
    out = {}
    for question in TREE:
        block = solutions[[a.kaggle for a in question.answers]].astype(float)
        total = block.sum(axis=1)
        fractions = block.div(total.where(total > 0), axis=0)
        for ans in question.answers:
            out[fraction_column(ans)] = fractions[ans.kaggle]
    return pd.DataFrame(out, index=solutions.index)


def load_kaggle(
    solutions_csv: str | os.PathLike, images_dir: str | os.PathLike | None = None, verify_images: bool = False
) -> pd.DataFrame:
    """Load the Galaxy Zoo Challenge ``training_solutions_rev1.csv`` with ``{GalaxyID}.jpg`` images.

    ``solutions_csv`` may be the folder holding it; ``images_dir`` defaults to the
    ``images_training_rev1`` folder beside it. Rows whose image is missing are skipped.
    """
    path = Path(solutions_csv).expanduser()
    if path.is_dir():
        path = path / KAGGLE_SOLUTIONS_NAME
    images_dir = Path(images_dir) if images_dir is not None else path.parent / KAGGLE_IMAGE_DIR
    table = _read_table(path, ["GalaxyID", *(a.kaggle for a in ANSWERS)], id_columns=("GalaxyID",))
    ids = table["GalaxyID"].astype(str)
    fractions = kaggle_to_vote_fractions(table)
    catalog = _with_identity(fractions, ids, find_images(ids, images_dir), "kaggle", "sdss")
    report = LoadReport("kaggle", str(path), rows_read=len(table))
    return finish_catalog(catalog, report, verify_images=verify_images)


def _gz1_class_fractions() -> pd.DataFrame:
    """One row per GZ1 class key: 1 for implied answers, 0 for their siblings, NaN elsewhere."""
    rows = {}
    for label, tags in GZ1_CLASS_ANSWERS.items():
        row = dict.fromkeys(FRACTION_COLUMNS, np.nan)
        for tag in tags:
            chosen = answer(tag)
            question = next(q for q in TREE if chosen in q.answers)
            for sibling in question.answers:
                row[fraction_column(sibling)] = float(sibling == chosen)
        rows[_label_key(label)] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def load_gz1(root: str | os.PathLike, verify_images: bool = False) -> pd.DataFrame:
    """Load Galaxy Zoo 1 majority classes (``labels.csv`` + ``images/``) as hard GZ2 fractions.

    Mapping (:data:`GZ1_CLASS_ANSWERS`): elliptical -> smooth; clockwise/anticlockwise
    spiral -> features, not edge-on, spiral; edge-on -> features, edge-on; merger -> odd,
    merger. Implied answers get 1 and their siblings 0; questions a class says nothing
    about stay NaN. "don't know" (and unknown) labels are skipped and reported.
    """
    root = Path(root).expanduser()
    table = _read_table(root / "labels.csv", ["filename", "gz1_label"], ("objid",), id_columns=("objid", "filename"))
    ids = table["objid"] if "objid" in table else table["filename"].str.rsplit(".", n=1).str[0]
    keys = table["gz1_label"].map(_label_key)
    templates = _gz1_class_fractions()
    usable = keys.isin(templates.index)
    report = LoadReport("gz1", str(root), rows_read=len(table))
    report.unusable_labels.add(f"{i} ({label})" for i, label in zip(ids[~usable], table.loc[~usable, "gz1_label"]))
    fractions = templates.reindex(keys[usable]).set_axis(keys.index[usable])
    paths = str((root / "images").resolve()) + os.sep + table.loc[usable, "filename"]
    catalog = _with_identity(fractions, ids[usable], paths, "gz1", "sdss")
    catalog["gz1_label"] = table.loc[usable, "gz1_label"]
    return finish_catalog(catalog, report, verify_images=verify_images)


def _folder_csv(folder: Path, csv_path) -> Path | None:
    if csv_path is not None:
        return Path(csv_path).expanduser()
    if (folder / FOLDER_CATALOG_NAME).is_file():
        return folder / FOLDER_CATALOG_NAME
    tables = sorted(folder.glob("*.csv"))
    if len(tables) > 1:
        raise ValueError(f"{folder} holds several CSV files ({', '.join(t.name for t in tables)}); name the one to use")
    return tables[0] if tables else None


def load_folder(
    folder: str | os.PathLike,
    csv_path: str | os.PathLike | None = None,
    *,
    source: str = "folder",
    domain: str = "sdss",
    verify_images: bool = True,
) -> pd.DataFrame:
    """Load a folder of images described by a CSV.

    The CSV (default: ``catalog.csv`` or the folder's only ``*.csv``) needs an ``id`` or
    a file-name column (``image_path``, ``filename``, ``file_name``, ``file``, ``image``;
    relative names are resolved against ``folder``; without one, ``{id}.jpg/.jpeg/.png``).
    Vote fractions may be named by the Hart16 answer name alone or with ``_debiased`` or
    ``_fraction``; optional ``ra``, ``dec``, ``domain``; other columns are kept. Without
    any CSV every image in the folder is loaded, unlabelled. Rows whose image is
    missing or (with ``verify_images``) corrupt, and rows whose fractions are all NaN,
    are skipped and reported.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    csv_file = _folder_csv(folder, csv_path)
    if csv_file is None:
        names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        table = pd.DataFrame({"filename": pd.Series(names, dtype=str)})
    else:
        table = _read_table(csv_file, [], None, id_columns=("id", *FILENAME_COLUMNS))
    name_column = next((c for c in FILENAME_COLUMNS if c in table), None)
    if name_column is None and "id" not in table:
        raise ValueError(
            f"{csv_file} needs an 'id' or a file-name column "
            f"({', '.join(FILENAME_COLUMNS)}); found: {', '.join(table.columns)}"
        )
    if name_column is not None:
        names = table[name_column].fillna("").astype(str)
        paths = pd.Series([os.path.join(folder, n) if n else "" for n in names], index=table.index, dtype=str)
        ids = table["id"] if "id" in table else names.map(lambda n: Path(n).stem)
    else:
        ids = table["id"].astype(str)
        paths = find_images(ids, folder)
    fractions, used, labelled = {}, {name_column, "id", "ra", "dec", "source", "domain"}, False
    for ans in ANSWERS:
        spellings = [ans.column + suffix for suffix in FRACTION_SUFFIXES]
        found = next((s for s in spellings if s in table), None)
        fractions[fraction_column(ans)] = pd.to_numeric(table[found], errors="coerce") if found else np.nan
        used.update(spellings)
        labelled = labelled or found is not None
    catalog = _with_identity(pd.DataFrame(fractions, index=table.index), ids.astype(str), paths, source, domain)
    for column in ("ra", "dec"):
        if column in table:
            catalog[column] = pd.to_numeric(table[column], errors="coerce")
    if "domain" in table:
        catalog["domain"] = table["domain"].fillna(domain).astype(str).str.strip().str.lower()
    for column in table.columns:
        if column not in used:
            catalog[column] = table[column]
    report = LoadReport(source, str(csv_file or folder), rows_read=len(table))
    return finish_catalog(catalog, report, labelled=labelled, verify_images=verify_images)


def load_demo(root: str | os.PathLike, verify_images: bool = False) -> pd.DataFrame:
    """Load the built-in demo survey (``root/catalog.csv`` with ``truth_*`` columns, ``root/images/``)."""
    root = Path(root).expanduser()
    return load_folder(root, root / FOLDER_CATALOG_NAME, source="demo", domain="demo", verify_images=verify_images)


def load_synthetic(folder: str | os.PathLike, verify_images: bool = False) -> pd.DataFrame:
    """Load generated galaxies: a folder whose ``catalog.csv`` follows the catalog schema."""
    folder = Path(folder).expanduser()
    return load_folder(folder, folder / FOLDER_CATALOG_NAME, source="synthetic", verify_images=verify_images)


def _with_identity(fractions: pd.DataFrame, ids: pd.Series, paths: pd.Series, source: str, domain: str) -> pd.DataFrame:
    """Put the identity columns in front of ``fractions`` (which may hold other columns)."""
    identity = pd.DataFrame(
        {
            "id": ids.astype(str),
            "image_path": paths.astype(str),
            "ra": fractions.get("ra", np.nan),
            "dec": fractions.get("dec", np.nan),
            "source": source,
            "domain": domain,
        },
        index=fractions.index,
    )
    return pd.concat([identity, fractions.drop(columns=["ra", "dec"], errors="ignore")], axis=1)


LOADERS: dict[str, Callable[..., pd.DataFrame]] = {
    "gz2": load_gz2,
    "gz1": load_gz1,
    "kaggle": load_kaggle,
    "folder": load_folder,
    "demo": load_demo,
    "synthetic": load_synthetic,
}


def load_catalog(kind: str, path: str | os.PathLike, **options) -> pd.DataFrame:
    """Load a catalog of ``kind`` (a key of :data:`LOADERS`) from ``path``."""
    loader = LOADERS.get(kind)
    if loader is None:
        raise ValueError(f"unknown catalog kind {kind!r}; known: {', '.join(LOADERS)}")
    accepted = list(inspect.signature(loader).parameters)[1:]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"{kind} catalogs take no option(s) {', '.join(unknown)}; options: {', '.join(accepted)}")
    return loader(path, **options)


def _option_value(text: str) -> bool | str:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    return text


def load_catalog_spec(spec: str) -> pd.DataFrame:
    """Load a catalog from its text form ``KIND:PATH[?option=value&...]``.

    Examples: ``gz1:../shared/data/gz1-sdss``, ``gz2:data/gz2?images_only=true``,
    ``folder:my_galaxies?verify_images=false``. Every kind also takes ``split=train`` or
    ``split=holdout`` (with ``holdout=0.15``, the held-out share): a fixed split by a hash
    of the galaxy id, e.g. ``gz1:../shared/data/gz1-sdss?split=train`` to train on and
    ``?split=holdout`` to score on, ``catalogues=DIR``: published Galaxy Zoo tables
    joined as extra evidence (:mod:`galaxysd.data.public_catalogues`), and ``labels=FILE``:
    answers derived from measured shapes (``python -m galaxysd.data label``) filled into
    the fractions the catalog lacks, and ``framing=measured``: each galaxy's crop scaled
    to its measured size (:mod:`galaxysd.data.framing`) instead of the source's fixed crop.

    Args:
        spec (`str`): ``KIND:PATH[?options]``, KIND one of ``gz2``, ``kaggle``, ``gz1``,
            ``folder``, ``demo``, ``synthetic`` (see ``LOADERS``).

    Returns:
        `pandas.DataFrame` in the catalog schema: ``id``, ``image_path``, ``source``, optional
        ``ra``/``dec`` and the 37 Hart16 vote-fraction columns (NaN where unknown).

    Example:
        >>> catalog = load_catalog_spec("gz1:../shared/data/gz1-sdss?split=holdout")
        >>> catalog[["id", "image_path", "t04_spiral_a08_spiral_debiased"]].head()
    """
    kind, colon, rest = str(spec).partition(":")
    if not colon or not rest:
        raise ValueError(
            f"catalog spec {spec!r} must look like KIND:PATH "
            f"(KIND one of {', '.join(LOADERS)}), e.g. gz1:../shared/data/gz1-sdss"
        )
    path, _, query = rest.partition("?")
    options = {key: _option_value(value) for key, value in parse_qsl(query, keep_blank_values=True)}
    split, fraction = options.pop("split", None), options.pop("holdout", DEFAULT_HOLDOUT)
    catalogues, labels = options.pop("catalogues", None), options.pop("labels", None)
    framing = str(options.pop("framing", "fixed")).strip().lower()
    if framing not in ("fixed", "measured"):
        raise ValueError(f"framing must be fixed or measured, got {framing!r}")
    catalog = load_catalog(kind.strip().lower(), path, **options)
    if catalogues:
        catalog = join_catalogues(catalog, resolve_project_path(str(catalogues)))
    if labels:
        catalog = join_derived_labels(catalog, resolve_project_path(str(labels)))
    if split is not None:
        try:
            fraction = float(fraction)
        except ValueError:
            raise ValueError(f"holdout must be a number, got {fraction!r}") from None
        catalog = split_catalog(catalog, str(split), fraction)
    if framing == "measured":
        catalog = measured_framing(catalog)
    return catalog
