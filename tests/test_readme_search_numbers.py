"""The dusty early-type search's numbers in the README (demo-survey splits, the ranking rule, the
pair control, open questions answered) are recomputed here from the benchmark tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from galaxysd.runs import RunDir

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RUN = RunDir(ROOT / "assets" / "default-run")


def test_the_split_means_in_the_readme_come_from_the_benchmark_tables():
    prose = " ".join(README.split())
    card = " ".join((RUN.path / "README.md").read_text().split())
    tables = Path(__file__).parents[1] / "benchmarks"
    search = pd.read_csv(tables / "dusty_splits_search.csv").set_index("seed")
    mean = search.loc["mean"]
    milder = pd.read_csv(tables / "dusty_splits_default_prompts.csv").set_index("seed").loc["mean"]
    recall = search.drop(index="mean")["synthetic_only_recall_at_200"]
    found = f"finds {mean['synthetic_only_recall_at_200']:.0%} ({100 * recall.min():.0f}-{recall.max():.0%}"
    assert f"the synthetic-only detector {found}; average precision {mean['synthetic_only_ap']:.2f})" in prose
    assert f"synthetic-only detector {found})" in card
    three = f"averages {mean['ap_3_combined']:.2f} against real-only {mean['ap_3_real_only']:.2f} at 3"
    assert three in prose
    assert f"{mean['ap_7_combined']:.2f} against {mean['ap_7_real_only']:.2f} at 7" in prose
    better = search.drop(index="mean")
    assert (better["ap_3_combined"] >= better["ap_3_real_only"]).sum() == 7  # "better on all seven splits"
    assert (better["ap_7_combined"] >= better["ap_7_real_only"]).sum() == 7  # "(better on all seven)" at 7 too
    assert "0.79 at 7\n(better on all seven)" in README
    assert f"alone gives {mean['ap_3_augmented']:.2f} and {mean['ap_7_augmented']:.2f}" in prose
    assert f"no real positive {milder['synthetic_only_recall_at_200']:.0%}" in prose
    control = pd.read_csv(tables / "dusty_pair_control.csv").set_index(["budget", "detector"])["mean"]
    pair = f"{control[('3', 'real_pair')]:.2f} at 3 and {control[('7', 'real_pair')]:.2f} at 7"
    assert f"real-only one instead: {pair}" in prose
    assert control[("3", "combined")] > control[("3", "real_pair")]  # "adds what a second real detector does not"
    combined = f"({control[('3', 'combined')]:.2f} against {control[('3', 'real_pair')]:.2f};"
    assert f"a second real detector does not {combined}" in prose
    at_7 = f"({control[('7', 'combined')]:.2f} against {control[('7', 'real_pair')]:.2f};"
    assert control[("7", "real_pair")] > control[("7", "combined")] and f"combined ranking {at_7}" in prose
    before = pd.read_csv(tables / "dusty_pair_control_stage5_as_typed.csv").set_index(["budget", "detector"])["mean"]
    assert abs(before[("7", "real_pair")] - before[("7", "combined")]) < 0.005  # "before the completion they matched"


def test_stage_5_and_stage_4_split_means_in_the_readme_come_from_their_benchmark_tables():
    tables = Path(__file__).parents[1] / "benchmarks"
    splits = pd.read_csv(tables / "dusty_splits_search.csv").set_index("seed")
    mean, recall = splits.loc["mean"], splits.drop(index="mean")["synthetic_only_recall_at_200"]
    previous = pd.read_csv(tables / "dusty_splits_stage4.csv").set_index("seed").loc["mean"]
    prose = " ".join(README.split())
    found = f"finds {mean['synthetic_only_recall_at_200']:.0%} ({100 * recall.min():.0f}-{recall.max():.0%})"
    assert (
        f"{found} of the held-out planted ones in its top 200 (stage 4 {previous['synthetic_only_recall_at_200']:.0%})"
        in prose
    )
    assert (
        f"the search's ranking averages {mean['ap_3_augmented']:.2f} against real-only {mean['ap_3_real_only']:.2f} "
        f"at 3 real positives (the synthetic-augmented detector alone) and {mean['ap_7_combined']:.2f} against "
        f"{mean['ap_7_real_only']:.2f} at 7 (the mean of both; stage 4, ranked by the mean at both, "
        f"{previous['ap_3_combined']:.2f} and {previous['ap_7_combined']:.2f})" in prose
    )
    assert mean["synthetic_only_recall_at_200"] >= 0.8  # the bar
    assert mean["ap_3_augmented"] >= mean["ap_3_real_only"] and mean["ap_7_combined"] >= mean["ap_7_real_only"]


def test_the_held_back_split_numbers_in_the_readme_come_from_their_table():
    splits = pd.read_csv(Path(__file__).parents[1] / "benchmarks" / "dusty_splits_heldback.csv").set_index("seed")
    mean, each = splits.loc["mean"], splits.drop(index="mean")
    recall = each["synthetic_only_recall_at_200"]
    prose = " ".join(README.split())
    found = f"finds {mean['synthetic_only_recall_at_200']:.0%} ({100 * recall.min():.0f}-{recall.max():.0%})"
    assert f"(`dusty_splits_heldback.csv`) the synthetic-only detector {found}" in prose
    augmented, combined = mean["ap_3_augmented"], mean["ap_3_combined"]
    at_3 = f"augmented detector alone ({augmented:.2f}) beats the combined ranking ({combined:.2f})"
    assert at_3 in prose and (each["ap_3_augmented"] > each["ap_3_combined"]).all()  # "on all seven"
    assert f"which still beats real positives alone ({mean['ap_3_real_only']:.2f})" in prose
    level = f"({mean['ap_7_augmented']:.2f}, {mean['ap_7_combined']:.2f}, {mean['ap_7_real_only']:.2f})"
    assert f"at 7 the three are level {level}" in prose


def test_the_ranking_rule_numbers_come_from_all_fourteen_splits():
    from galaxysd.science import search_ranking

    tables = Path(__file__).parents[1] / "benchmarks"
    splits = pd.concat(
        pd.read_csv(tables / name).set_index("seed").drop(index="mean")
        for name in ("dusty_splits_search.csv", "dusty_splits_heldback.csv")
    )
    assert len(splits) == 14
    at_3 = splits[["ap_3_augmented", "ap_3_combined", "ap_3_real_only"]].mean()
    prose = " ".join(README.split())
    assert (
        f"the augmented detector alone averages {at_3['ap_3_augmented']:.2f} at 3 real positives against "
        f"{at_3['ap_3_combined']:.2f} for the mean of both and {at_3['ap_3_real_only']:.2f} for real positives alone, "
        f"ahead of the mean on {(splits['ap_3_augmented'] > splits['ap_3_combined']).sum()} of 14" in prose
    )
    combined_wins = (splits["ap_7_combined"] > splits["ap_7_real_only"]).sum()
    augmented_wins = (splits["ap_7_augmented"] > splits["ap_7_real_only"]).sum()
    assert combined_wins == 14
    assert f"beats real positives alone on all 14 ({splits['ap_7_combined'].mean():.2f}" in prose
    assert f"the augmented detector alone on {augmented_wins} ({splits['ap_7_augmented'].mean():.2f})" in prose
    doc = " ".join(search_ranking.__doc__.split())
    assert f"mean average precision {at_3['ap_3_augmented']:.2f}, against {at_3['ap_3_combined']:.2f}" in doc
    assert search_ranking.COMBINE_FROM == 7 and "Below 7 real positives the candidates are ranked" in prose


def test_the_search_with_open_questions_filled_numbers_come_from_its_table():
    tables = Path(__file__).parents[1] / "benchmarks"
    typed = pd.read_csv(tables / "dusty_splits_search.csv").set_index("seed").loc["mean"]
    filled = pd.read_csv(tables / "dusty_splits_search_filled.csv").set_index("seed").loc["mean"]
    prose = " ".join(README.split())
    ap = f"falls from {typed['synthetic_only_ap']:.2f} to {filled['synthetic_only_ap']:.2f}"
    recall = (
        f"(top-200 recall {typed['synthetic_only_recall_at_200']:.0%} to {filled['synthetic_only_recall_at_200']:.0%})"
    )
    assert f"{ap} {recall}" in prose and filled["synthetic_only_ap"] < typed["synthetic_only_ap"]
    level = f"is level ({filled['ap_3_augmented']:.2f} and {filled['ap_7_augmented']:.2f};"
    assert level in prose and abs(filled["ap_3_augmented"] - typed["ap_3_augmented"]) < 0.02
