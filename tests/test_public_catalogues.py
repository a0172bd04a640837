"""Published Galaxy Zoo tables joined as extra label evidence, with provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galaxysd.data.loaders import load_catalog_spec
from galaxysd.data.public_catalogues import EVIDENCE_FRACTION, catalogue_ids, join_catalogues
from galaxysd.morphology import answer, fraction_column

MERGER, BAR = fraction_column(answer("merger")), fraction_column(answer("bar-shaped structure in the galaxy center"))


def write_tables(folder):
    folder.mkdir()
    pd.DataFrame({"object1": ["101", "900"], "object2": ["901", "102"], "stage": [2, 3]}).to_csv(
        folder / "darg_mergers.csv", index=False
    )
    pd.DataFrame({"objid": ["103"], "length_avg": [5.8]}).to_csv(folder / "hoyle_barlengths.csv", index=False)
    (folder / "RedSpiralsA1.txt").write_text(
        "Data for ...\nColumns are ...\n\n   103  1.0 2.0 0.07 -21 0.1 0.7 0.02 0.1 0.1 0.3\n"
    )
    return folder


def test_listed_galaxies_gain_the_answer_and_its_parents_with_provenance(tmp_path):
    folder = write_tables(tmp_path / "tables")
    assert catalogue_ids(folder) == {
        "darg_mergers": {"101", "900", "901", "102"},
        "hoyle_barlengths": {"103"},
        "masters_spirals": {"103"},
    }
    catalog = pd.DataFrame({"id": ["101", "102", "103", "104"], MERGER: [0.1, 0.95, np.nan, 0.2]})
    joined = join_catalogues(catalog, folder)
    assert joined[MERGER].tolist()[:2] == [EVIDENCE_FRACTION, 0.95] and np.isnan(joined[MERGER][2])
    assert joined[MERGER][3] == 0.2  # not listed: untouched
    assert joined[fraction_column(answer("odd feature"))].tolist()[:2] == [EVIDENCE_FRACTION] * 2
    assert joined[BAR][2] == EVIDENCE_FRACTION and np.isnan(joined[BAR][0])
    assert joined["label_provenance"].tolist() == ["votes+catalogue"] * 3 + ["votes"]
    assert joined["catalogue_evidence"].tolist() == [
        "darg_mergers",
        "darg_mergers",
        "hoyle_barlengths+masters_spirals",
        "",
    ]
    with pytest.raises(ValueError, match="does not exist"):
        join_catalogues(catalog, tmp_path / "missing")


def test_the_shared_catalogues_add_bars_and_mergers_to_gz1(shared_data):
    spec = f"gz1:{shared_data / 'gz1-sdss'}?catalogues={shared_data / 'gz-catalogues'}"
    catalog = load_catalog_spec(spec)
    counts = catalog["catalogue_evidence"].str.split("+").explode().value_counts()
    assert counts["darg_mergers"] == 33 and counts["hoyle_barlengths"] == 23 and counts["masters_spirals"] == 64
    assert (catalog[BAR] >= EVIDENCE_FRACTION).sum() == 23  # GZ1 has no bar votes of its own
    assert set(catalog["label_provenance"]) == {"votes", "votes+catalogue"}
