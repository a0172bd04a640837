"""Catalog schema and loaders: every source loads into one schema and reports what it skipped."""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFile

from galaxysd import morphology
from galaxysd.data import (
    CATALOG_COLUMNS,
    LoadReport,
    check_image,
    concat_catalogs,
    empty_catalog,
    kaggle_to_vote_fractions,
    load_catalog,
    load_catalog_spec,
    load_demo,
    load_folder,
    load_gz1,
    load_gz2,
    load_kaggle,
    load_report,
    validate_catalog,
)
from galaxysd.data.__main__ import main
from galaxysd.gz2_classes import gz2_class_to_tags
from galaxysd.morphology import ANSWERS, FRACTION_COLUMNS, TREE, fraction_column

SMOOTH, FEATURES, STAR = (fraction_column(a) for a in TREE[0].answers)
EDGE_ON, NOT_EDGE_ON = (fraction_column(a) for a in TREE[1].answers)
MERGER = fraction_column(morphology.answer("merger"))
ODD_YES = fraction_column(morphology.answer("odd feature"))
SPIRAL = fraction_column(morphology.answer("spiral galaxy"))


def jpeg_bytes(seed: int = 0, size: int = 64) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_jpeg(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(seed))
    return path


def random_fractions(rng: np.random.Generator) -> dict[str, float]:
    """Per-question fractions that sum to 1 within each task."""
    row = {}
    for question in TREE:
        shares = rng.dirichlet(np.ones(len(question.answers)))
        row.update({fraction_column(a): float(s) for a, s in zip(question.answers, shares)})
    return row


# --- schema -----------------------------------------------------------------------------


def test_empty_catalog_follows_the_schema():
    df = empty_catalog()
    assert tuple(df.columns) == CATALOG_COLUMNS
    assert len(CATALOG_COLUMNS) == 6 + 37
    validate_catalog(df)


def test_validate_catalog_names_the_missing_columns():
    df = empty_catalog().drop(columns=["image_path", SMOOTH])
    with pytest.raises(ValueError, match=r"missing 2 column\(s\): image_path, " + SMOOTH):
        validate_catalog(df)


def test_validate_catalog_rejects_unknown_source():
    df = empty_catalog()
    df.loc[0, "source"] = "hubble"
    with pytest.raises(ValueError, match="source.*hubble"):
        validate_catalog(df)


def test_check_image_catches_truncated_jpeg_even_when_pil_tolerates_truncation(tmp_path, monkeypatch):
    good = write_jpeg(tmp_path / "good.jpg")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (tmp_path / "text.jpg").write_text("not an image")
    assert check_image(good) is None
    assert check_image(truncated) is not None
    assert check_image(tmp_path / "text.jpg") is not None
    assert check_image(tmp_path / "absent.jpg") is not None
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert "truncated" in check_image(truncated)


def test_load_report_reads_as_one_paragraph_and_counts_skips():
    report = LoadReport("folder", "x.csv", rows_read=10, rows_loaded=7)
    report.missing_images.add(["a.jpg"])
    report.nan_labels.add(["g%d" % i for i in range(8)])  # more than the examples kept
    text = str(report)
    assert report.total_skipped == 9 and len(report.nan_labels.examples) == 5
    assert "\n" not in text and "10 rows read, 7 loaded" in text and "a.jpg" in text


# --- GZ2 ---------------------------------------------------------------------------------


def test_gz2_sample_loads_2000_rows_and_resolves_the_450_images(shared_data):
    df = load_gz2(shared_data / "gz2-sample" / "gz2_hart16_excerpt.csv")
    assert len(df) == 2000
    imaged = df[df["image_path"] != ""]
    assert len(imaged) == 450
    assert all(Path(p).is_file() and Path(p).is_absolute() for p in imaged["image_path"])
    assert set(df["source"]) == {"gz2"} and set(df["domain"]) == {"sdss"}
    assert {"gz2_class", "sample"} <= set(df.columns) and df["ra"].notna().all()
    assert load_report(df).without_image == 1550 and load_report(df).total_skipped == 0


def test_gz2_images_only_keeps_the_450_imaged_galaxies(shared_data):
    df = load_catalog_spec(f"gz2:{shared_data / 'gz2-sample'}?images_only=true")
    assert len(df) == 450 and (df["image_path"] != "").all()
    assert load_report(df).missing_images.count == 1550


def test_gz2_confident_classes_agree_with_vote_fractions_on_the_top_level_task(shared_data):
    df = load_gz2(shared_data / "gz2-sample" / "gz2_hart16_excerpt.csv")
    confident = df[df[[SMOOTH, FEATURES, STAR]].max(axis=1) >= 0.8]
    assert len(confident) > 500
    agree = sum(
        morphology.top_level_tag(gz2_class_to_tags(row["gz2_class"]))
        == morphology.top_level_tag(morphology.vote_fractions_to_weights(row))
        for row in confident.to_dict("records")
    )
    assert agree / len(confident) >= 0.95


def test_gz2_finds_images_by_asset_id_through_the_mapping_or_by_objid(tmp_path):
    rng = np.random.default_rng(1)
    rows = [
        {"dr7objid": objid, "ra": 10.0, "dec": -1.0, "gz2_class": "Ei", **random_fractions(rng)}
        for objid in ("587722981741363294", "587722981741363295", "587722981741363296")
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "gz2_hart16.csv.gz", index=False)
    pd.DataFrame({"objid": ["587722981741363294"], "sample": ["original"], "asset_id": [17]}).to_csv(
        tmp_path / "gz2_filename_mapping.csv", index=False
    )
    write_jpeg(tmp_path / "images_gz2" / "images" / "17.jpg")
    write_jpeg(tmp_path / "images_gz2" / "images" / "587722981741363295.jpg")
    df = load_catalog("gz2", tmp_path).set_index("id")
    assert df.loc["587722981741363294", "image_path"].endswith("17.jpg")
    assert df.loc["587722981741363295", "image_path"].endswith("587722981741363295.jpg")
    assert df.loc["587722981741363296", "image_path"] == ""


def test_gz2_table_without_fraction_columns_is_rejected_clearly(tmp_path):
    pd.DataFrame({"dr7objid": [1], "ra": [0.0]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError, match="lacks column"):
        load_gz2(tmp_path / "t.csv")


# --- Kaggle ------------------------------------------------------------------------------


def test_kaggle_cumulative_values_convert_back_to_per_question_fractions(tmp_path):
    rng = np.random.default_rng(0)
    truth = [random_fractions(rng) for _ in range(4)]
    truth[3].update({SMOOTH: 1.0, FEATURES: 0.0, STAR: 0.0})  # disk questions never reached
    rows = []
    for galaxy_id, fractions in zip((100008, 100023, 100053, 100078), truth):
        cumulative = morphology.cumulative_fractions(fractions)
        rows.append({"GalaxyID": galaxy_id, **{a.kaggle: cumulative[a.tag] for a in ANSWERS}})
        write_jpeg(tmp_path / "images_training_rev1" / f"{galaxy_id}.jpg", seed=galaxy_id)
    pd.DataFrame(rows).to_csv(tmp_path / "training_solutions_rev1.csv", index=False)

    df = load_kaggle(tmp_path / "training_solutions_rev1.csv")
    assert list(df["id"]) == ["100008", "100023", "100053", "100078"]
    reached = morphology.cumulative_fractions(truth[3])
    for ans in ANSWERS:
        expected = [t[fraction_column(ans)] for t in truth]
        if ans.parent and reached[ans.parent] == 0:
            expected[3] = math.nan
        np.testing.assert_allclose(df[fraction_column(ans)], expected, atol=1e-9, err_msg=ans.tag)
    assert df[EDGE_ON].isna().tolist() == [False, False, False, True]
    assert set(df["source"]) == {"kaggle"}


def test_kaggle_task_nobody_reached_is_nan_not_a_division_error():
    zero = pd.DataFrame([{a.kaggle: 0.0 for a in ANSWERS}])
    assert kaggle_to_vote_fractions(zero).isna().all(axis=None)


# --- GZ1 ---------------------------------------------------------------------------------


def test_gz1_classes_become_hard_gz2_fractions_and_dont_know_is_reported(tmp_path):
    labels = ["elliptical", "spiral_clockwise", "Spiral anticlockwise", "edge_on", "merger", "don't know"]
    for i in range(len(labels)):
        write_jpeg(tmp_path / "images" / f"{i}.jpeg", seed=i)
    pd.DataFrame(
        {
            "objid": range(len(labels)),
            "filename": [f"{i}.jpeg" for i in range(len(labels))],
            "gz1_class": range(len(labels)),
            "gz1_label": labels,
        }
    ).to_csv(tmp_path / "labels.csv", index=False)
    df = load_gz1(tmp_path).set_index("id")
    assert list(df.index) == ["0", "1", "2", "3", "4"]
    assert df.loc["0", [SMOOTH, FEATURES, STAR]].tolist() == [1.0, 0.0, 0.0]
    assert math.isnan(df.loc["0", ODD_YES])
    for spiral in ("1", "2"):
        assert df.loc[spiral, [FEATURES, NOT_EDGE_ON, SPIRAL, SMOOTH]].tolist() == [1, 1, 1, 0]
    assert df.loc["3", [FEATURES, EDGE_ON, NOT_EDGE_ON]].tolist() == [1.0, 1.0, 0.0]
    assert math.isnan(df.loc["3", SPIRAL])
    merger_t08 = [fraction_column(a) for a in TREE[7].answers]
    assert df.loc["4", merger_t08].sum() == 1.0 and df.loc["4", MERGER] == 1.0
    assert df.loc["4", ODD_YES] == 1.0 and math.isnan(df.loc["4", SMOOTH])
    report = load_report(df)
    assert report.unusable_labels.count == 1 and "5 (don't know)" in report.unusable_labels.examples


def test_gz1_sample_loads_every_classified_image(shared_data):
    df = load_catalog_spec(f"gz1:{shared_data / 'gz1-sdss'}")
    report = load_report(df)
    assert report.rows_read == 6664 and len(df) == 6664 - 56
    assert report.unusable_labels.count == 56 and report.missing_images.count == 0
    assert (df[SMOOTH] == 1).sum() == 4645 and (df[MERGER] == 1).sum() == 115
    assert (df[EDGE_ON] == 1).sum() == 998 and (df[SPIRAL] == 1).sum() == 414 + 436


# --- folder, demo, synthetic --------------------------------------------------------------


def test_folder_skips_and_reports_exactly_the_truncated_missing_and_nan_rows(tmp_path, caplog):
    for i in range(4):
        write_jpeg(tmp_path / f"g{i}.jpg", seed=i)
    good = (tmp_path / "g0.jpg").read_bytes()
    (tmp_path / "broken.jpg").write_bytes(good[: len(good) // 2])
    write_jpeg(tmp_path / "unlabelled.jpg")
    rows = [{"filename": f"g{i}.jpg", SMOOTH: 0.2 * i, "ra": 150.0 + i} for i in range(4)]
    rows += [
        {"filename": "broken.jpg", SMOOTH: 0.5},
        {"filename": "gone.jpg", SMOOTH: 0.5},
        {"filename": "unlabelled.jpg", SMOOTH: np.nan},
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)

    with caplog.at_level(logging.WARNING):
        df = load_folder(tmp_path, tmp_path / "labels.csv")
    assert list(df["id"]) == ["g0", "g1", "g2", "g3"]
    assert df["ra"].tolist() == [150.0, 151.0, 152.0, 153.0]
    report = load_report(df)
    assert report.total_skipped == 3
    assert report.missing_images.count == 1 and report.missing_images.examples[0].endswith("gone.jpg")
    assert report.corrupt_images.count == 1 and "broken.jpg" in report.corrupt_images.examples[0]
    assert report.nan_labels.examples == ["unlabelled"]
    assert "skipped 3" in caplog.text


def test_folder_accepts_base_debiased_and_fraction_column_names_and_keeps_extras(tmp_path):
    write_jpeg(tmp_path / "a.png")
    pd.DataFrame(
        {
            "id": ["a"],
            "t01_smooth_or_features_a01_smooth": [0.7],
            "t01_smooth_or_features_a02_features_or_disk_fraction": [0.2],
            "t08_odd_feature_a38_dust_lane_debiased": [0.9],
            "note": ["x"],
        }
    ).to_csv(tmp_path / "catalog.csv", index=False)
    df = load_folder(tmp_path)
    row = df.iloc[0]
    assert row["image_path"].endswith("a.png")
    dust_lane = fraction_column(morphology.answer("dust lane"))
    assert (row[SMOOTH], row[FEATURES], row[dust_lane]) == (0.7, 0.2, 0.9)
    assert math.isnan(row["dec"]) and row["note"] == "x"


def test_folder_without_csv_loads_every_image_unlabelled(tmp_path):
    for name in ("b.jpg", "a.jpeg"):
        write_jpeg(tmp_path / name)
    df = load_catalog_spec(f"folder:{tmp_path}")
    assert list(df["id"]) == ["a", "b"] and df[list(FRACTION_COLUMNS)].isna().all(axis=None)


def test_demo_and_synthetic_resolve_relative_paths_and_keep_their_columns(tmp_path):
    write_jpeg(tmp_path / "images" / "0.png")
    row = {
        "id": "0",
        "image_path": "images/0.png",
        "ra": np.nan,
        "dec": np.nan,
        "source": "demo",
        "domain": "demo",
        **random_fractions(np.random.default_rng(2)),
        "truth_bar": 1.0,
    }
    pd.DataFrame([row]).to_csv(tmp_path / "catalog.csv", index=False)
    demo = load_demo(tmp_path)
    assert demo.loc[0, "image_path"] == str(tmp_path / "images" / "0.png")
    assert demo.loc[0, "truth_bar"] == 1.0 and demo.loc[0, "domain"] == "demo"
    synthetic = load_catalog_spec(f"synthetic:{tmp_path}")
    assert synthetic.loc[0, "source"] == "synthetic"
    both = concat_catalogs([demo, synthetic])
    assert len(both) == 2 and "load_report" not in both.attrs


def test_catalog_spec_errors_are_clear():
    with pytest.raises(ValueError, match="KIND:PATH"):
        load_catalog_spec("../shared/data/gz1-sdss")
    with pytest.raises(ValueError, match="unknown catalog kind 'gz3'"):
        load_catalog_spec("gz3:x")
    with pytest.raises(ValueError, match="no option.*colour"):
        load_catalog_spec("gz1:x?colour=1")


def test_info_command_prints_row_count_and_report(tmp_path, capsys):
    write_jpeg(tmp_path / "a.jpg")
    assert main(["info", f"folder:{tmp_path}"]) == 0
    out = capsys.readouterr().out
    assert "1 rows, 1 with an image" in out and "nothing skipped" in out


def test_info_command_reports_bad_input_in_one_line(capsys):
    assert main(["info", "folder:/no/such/folder"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


def test_holdout_split_is_fixed_by_id_and_disjoint():
    import pandas as pd

    from galaxysd.data.catalog import holdout_mask, split_catalog

    ids = [str(i) for i in range(4000)]
    held = holdout_mask(ids, 0.15)
    assert 0.13 < held.mean() < 0.17
    assert np.array_equal(holdout_mask(ids[::-1], 0.15), held[::-1])  # depends on the id only
    frame = pd.DataFrame({"id": ids})
    train_ids = set(split_catalog(frame, "train")["id"])
    holdout_ids = set(split_catalog(frame, "holdout")["id"])
    assert not train_ids & holdout_ids and len(train_ids | holdout_ids) == 4000
    with pytest.raises(ValueError, match="split"):
        split_catalog(frame, "test")


def test_catalog_spec_split_option_holds_out_a_share_of_gz1(shared_data):
    spec = f"gz1:{shared_data / 'gz1-sdss'}"
    full, train = load_catalog_spec(spec), load_catalog_spec(spec + "?split=train")
    holdout = load_catalog_spec(spec + "?split=holdout&holdout=0.15")
    assert len(train) + len(holdout) == len(full)
    assert 0.12 < len(holdout) / len(full) < 0.18 and not set(train["id"]) & set(holdout["id"])
