"""The README's results cannot drift from the shipped run's files: its tables are generated
from them (and checked here), and the numbers its prose quotes are recomputed here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from galaxysd.evaluation import results_tables
from galaxysd.runs import RunDir, weights_digest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RUN = RunDir(ROOT / "assets" / "default-run")
PAPER_DUST_PROMPT = "sdss, smooth, {completely round galaxy:1.3}, {dust lane:1.3}"


def lane_shares() -> pd.Series:
    """``sdss_dust_composition.csv``'s lane share by run, prompt and whether the tree was completed."""
    table = pd.read_csv(ROOT / "benchmarks" / "sdss_dust_composition.csv")
    return table.set_index(["run", "prompt", "complete_tree"]).sort_index()["lane_share"]


def test_every_results_table_in_the_readme_matches_the_shipped_run():
    assert results_tables.stale_tables(README, RUN) == []


def test_a_changed_result_makes_its_table_stale_and_the_check_fail(tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(RUN.path / "eval", run / "eval", ignore=shutil.ignore_patterns("samples", "judge", "*.csv"))
    shutil.copytree(RUN.path / "augment", run / "augment")
    shutil.copytree(RUN.path / "discover", run / "discover", ignore=shutil.ignore_patterns("thumbs"))
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    metrics["summary"]["consistency"] = 0.99
    (run / "eval" / "metrics.json").write_text(json.dumps(metrics))
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert results_tables.stale_tables(README, RunDir(run)) == ["evaluation"]
    assert results_tables.main(["--run", str(run), "--readme", str(readme), "--check"]) == 1
    assert "evaluation" in capsys.readouterr().err
    assert results_tables.main(["--run", str(run), "--readme", str(readme)]) == 0
    assert "**0.99**" in readme.read_text() and results_tables.stale_tables(readme.read_text(), RunDir(run)) == []


def test_a_readme_without_a_results_block_is_an_error():
    with pytest.raises(ValueError, match="results:evaluation"):
        results_tables.render_readme("no tables here", RUN)


def test_the_augmentation_counts_follow_the_intervals():
    table = pd.read_csv(RUN.augment_dir / "results.csv")
    gains = table[table["training"] == "real+synthetic"]
    raised, lowered = (gains["f1_gain_low"] > 0).sum(), (gains["f1_gain_high"] < 0).sum()
    assert f"raised F1 in {raised} of {len(gains)} settings and lowered it in {lowered}" in README


def test_the_settings_files_say_what_the_sweep_and_curves_ran():
    eval_dir = RUN.eval_dir
    pareto = pd.read_csv(eval_dir / "pareto.csv")
    settings = json.loads((eval_dir / "pareto.json").read_text())["settings"]
    assert sorted(pareto["guidance"].unique()) == settings["pareto_guidance"]
    assert sorted(pareto["steps"].unique()) == settings["pareto_steps"]
    assert sorted(pareto["sampler"].unique()) == settings["pareto_samplers"]
    assert "pareto_guidance" not in json.loads((eval_dir / "metrics.json").read_text())["settings"]
    curves = pd.read_csv(eval_dir / "curves.csv")
    curve_settings = json.loads((eval_dir / "curves.json").read_text())["settings"]
    assert curves[curves["prompt"] != "all"]["n_generated"].max() == curve_settings["curve_images"]
    grid = ", ".join(f"{g:g}" for g in settings["pareto_guidance"])
    assert f"guidance {grid} x" in README


def test_the_numbers_quoted_in_the_prose_come_from_the_files():
    metrics = json.loads((RUN.eval_dir / "metrics.json").read_text())
    statistics = metrics["physical"]["statistics"]
    n_real, n_generated = statistics["concentration"]["n_real"], statistics["concentration"]["n_generated"]
    colour = statistics["colour"]
    assert f"statmorph on {n_real} real and {n_generated} generated galaxies" in README
    assert f"the colour on {colour['n_real']} and {colour['n_generated']}" in README
    curves = pd.read_csv(RUN.eval_dir / "curves.csv")
    mean = curves[curves["prompt"] == "all"].set_index("step")
    first, last = mean.index.min(), mean.index.max()
    assert f"Fréchet distance of {mean.loc[first, 'frechet']:.1f} at step {first:,}" in README
    assert f"{mean.loc[last, 'frechet']:.1f} at {last:,} with consistency {mean.loc[last, 'consistency']:.2f}" in README
    prompts = {p["key"]: p for p in metrics["prompts"]}
    flat = README.replace("\n", " ")
    b = prompts["B"]
    assert f"(B: {b['consistency']:.2f} vs {b['consistency_real']:.2f})" in flat
    assert b["consistency"] > b["consistency_real"]  # "beat that ceiling for completely round"
    d, c = prompts["D"], prompts["C"]
    for key, p in (("D", d), ("C", c)):
        assert f"({key}: {p['consistency']:.2f} vs {p['consistency_real']:.2f})" in flat
    assert abs(d["consistency"] - d["consistency_real"]) < 0.05  # "match it for in-between ones"
    assert c["consistency_real"] - 0.1 < c["consistency"] < c["consistency_real"]  # "a little short for edge-on"
    a = prompts["A"]  # "and further for cigar-shaped (A: ...)"
    assert a["consistency"] < a["consistency_real"] - 0.1
    assert f"(A: {a['consistency']:.2f} vs {a['consistency_real']:.2f}" in flat
    diversity = [prompts[k]["diversity"] for k in "ABCD"]
    assert f"{min(diversity):.2f}-{max(diversity):.2f}, mean {metrics['summary']['diversity']:.2f}" in flat
    ratio = {k: prompts[k]["frechet"] / prompts[k]["frechet_floor"] for k in "ABCD"}
    assert f"edge-on disks ({ratio['C']:.2f}x)" in flat and f"cigar-shaped ellipticals ({ratio['A']:.2f}x" in flat
    assert f"{ratio['D']:.2f}x it for in-between ones and {ratio['B']:.1f}x for completely round" in flat
    summary = metrics["summary"]
    assert f"the table's mean ({summary['frechet']:.2f} against {summary['frechet_floor']:.2f})" in flat

    def span(rows, key, form=".2f"):
        values = [r[key] for r in rows if r.get(key) is not None]
        return f"{min(values):{form}}-{max(values):{form}}"

    listed = metrics["prompts"]  # "no two of the first 16 seeds ... give the same galaxy"
    assert f"are {span(listed, 'closest_pair')} of the real galaxies' mean pair distance" in flat
    assert f"(16 real galaxies: {span(listed, 'closest_pair_real')})" in flat
    assert f"differ by {span(listed, 'closest_pair_pixels', '.1f')} grey levels" in flat
    demo = json.loads((RUN.eval_dir / "demo" / "metrics.json").read_text())
    scored = [p for p in demo["prompts"] if p.get("diversity") is not None]
    assert f"{len(scored)} of the 16 prompts have enough of its galaxies" in flat
    assert (
        f"their diversity is {span(scored, 'diversity')} of the survey's (mean {demo['summary']['diversity']:.2f})"
        in flat
    )
    assert all(0.7 <= p["diversity"] <= 1.4 for p in scored)  # the band
    assert (
        f"their closest pairs {span(scored, 'closest_pair')} (survey galaxies {span(scored, 'closest_pair_real')})"
        in flat
    )
    ratios = [p["frechet"] / p["frechet_floor"] for p in scored]
    assert f"Fréchet distances {min(ratios):.2f}-{max(ratios):.1f}x the floor" in flat
    ds = demo["summary"]
    assert f"consistency {ds['consistency']:.2f} against {ds['consistency_real']:.2f} for the survey's own" in flat
    front = pd.read_csv(RUN.eval_dir / "pareto.csv").query("prompt == 'all' and pareto_realism_consistency")
    for row in front.itertuples():  # every point of the realism-consistency front is quoted
        assert (
            f"({row.frechet:.3g}, {row.consistency:.2f})" in README
            or f"(Fréchet {row.frechet:.3g}, consistency {row.consistency:.2f})" in README
        )
    augment = pd.read_csv(RUN.augment_dir / "results.csv").pivot_table(
        index=["catalog", "task", "shots"], columns="training", values="f1"
    )
    spiral = augment.loc[("gz2:../shared/data/gz2-sample?images_only=true", "spiral", 10.0)]
    assert f"spirals ({spiral['reweighted']:.2f} vs {spiral['real+synthetic']:.2f} at 10)" in README


def test_the_few_positive_numbers_in_the_readme_and_model_card_come_from_the_files():
    (study,) = [r["few_real_positives"] for r in json.loads((RUN.discover_dir / "demo_eval.json").read_text()).values()]
    ap = {(k, kind): v["average_precision"] for k, d in study.items() for kind, v in d.items() if isinstance(v, dict)}
    card = " ".join((RUN.path / "README.md").read_text().split())
    prose = " ".join(README.split())
    three, seven = (ap[("3", "combined")], ap[("3", "real_only")]), (ap[("7", "combined")], ap[("7", "real_only")])
    augmented = ap[("3", "augmented")], ap[("7", "augmented")]
    lifts = (
        f"real-only detector gives average precision {three[1]:.2f}, the combined ranking {three[0]:.2f} and the "
        f"synthetic-augmented detector alone {augmented[0]:.2f}; with 7, {seven[1]:.2f}, {seven[0]:.2f} and "
        f"{augmented[1]:.2f}"
    )
    assert lifts in prose
    assert three[0] < augmented[0] and seven[0] < augmented[1]  # "the combined ranking gives away part of it"
    card_lifts = (
        f"ranks by the augmented detector alone, average precision {augmented[0]:.2f} against {three[1]:.2f} for "
        f"real positives alone (the mean of both {three[0]:.2f}), with 7 by the mean of both, {seven[0]:.2f} "
        f"against {seven[1]:.2f} (the augmented detector alone {augmented[1]:.2f})"
    )
    assert card_lifts in card
    assert augmented[0] > three[1] and seven[0] > seven[1]  # the ranking beats real positives alone at 3 and 7
    assert f"average precision {ap[('0', 'augmented')]:.2f};" in prose


def test_each_result_file_names_the_judge_it_was_scored_with():
    shipped = weights_digest(RUN.eval_dir / "judge")
    for name in ("metrics.json", "pareto.json"):
        assert json.loads((RUN.eval_dir / name).read_text())["judge_weights"] == shipped
    curves = json.loads((RUN.eval_dir / "curves.json").read_text())
    if curves["judge_weights"] != shipped:  # then the file and the README say so
        assert "previous" in curves["judge_note"]
        assert "scored with the previous, 15-epoch judge" in " ".join(README.split())


def test_the_model_card_metadata_parses_in_the_hugging_face_layout():
    import yaml

    card = (RUN.path / "README.md").read_text()
    assert card.startswith("---\n")
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["library_name"] == "diffusers" and meta["license"] and meta["tags"] and meta["datasets"]
    metrics = meta["model-index"][0]["results"][0]["metrics"]
    assert metrics
    for metric in metrics:  # an unquoted comma in a name would split it into a stray key
        assert set(metric) == {"type", "value", "name"} and isinstance(metric["value"], (int, float))


def test_the_slider_count_in_the_readme_comes_from_the_table():
    table = pd.read_csv(RUN.eval_dir / "tag_response.csv")
    prose = " ".join(README.split())
    assert f"{int(table['works'].sum())} of {len(table)} answers work as sliders" in prose
    deltas = table.set_index("tag")["judge_delta"]
    assert f"edge-on (+{deltas['edge-on galaxy']:.2f})" in prose
    assert f"answer boost {table['tag_guidance'].iloc[0]:g}): {int(table['works'].sum())} of" in prose


def test_the_real_gaps_in_the_readme_come_from_the_table():
    table = pd.read_csv(RUN.eval_dir / "tag_response.csv").set_index("tag")
    prose = " ".join(README.split())
    gap = table["real_delta"]
    assert f"+{gap['smooth']:.2f} for smooth, +{gap['edge-on galaxy']:.2f} for edge-on" in prose
    assert f"+{gap['completely round galaxy']:.2f} for completely round" in prose
    assert f"in-between ellipticals score only +{gap['in-between round galaxy']:.2f}" in prose
    share = table.loc["in-between round galaxy", "share_of_real_gap"]  # "the slider gives a third of that"
    assert gap["spiral galaxy"] == 0 and 0.28 < share < 0.4
    assert f"the {int(table.loc['smooth', 'real_base_n'])} held-out real GZ1 galaxies" in prose


def test_the_dust_lane_composition_numbers_in_the_readme_come_from_the_benchmark_file():
    table = pd.read_csv(Path(__file__).parents[1] / "benchmarks" / "composition_diversity.csv")
    flat = README.replace("\n  ", " ")
    ratio = table["frechet"] / table["frechet_floor"]
    assert f"(diversity {table.diversity.min():.2f}-{table.diversity.max():.2f};" in flat
    closest = f"{table.closest_pair.min():.2f}-{table.closest_pair.max():.2f}"
    assert f"of 16 seeds {closest} of the real mean pair, real" in flat
    assert f"real {table.closest_pair_real.min():.2f}-{table.closest_pair_real.max():.2f})" in flat
    assert f"and {ratio.min():.1f}-{ratio.max():.1f}x the real-vs-real" in flat
    assert table.diversity.between(0.7, 1.4).all()  # the band


def test_the_simulated_dust_lane_numbers_in_the_readme_come_from_the_benchmark_files():
    tables = Path(__file__).parents[1] / "benchmarks"
    lanes = pd.read_csv(tables / "sdss_dust_composition.csv").set_index(["run", "prompt"])["lane_share"]
    typed = PAPER_DUST_PROMPT
    parent = "sdss, smooth, odd feature, {completely round galaxy:1.3}, {dust lane:1.3}"
    shipped, previous = "stage 5, dust lanes 5% (shipped)", "stage 4 (previous default)"
    leaf = "stage 5, leaf dust-lane labels 5%"
    prose = " ".join(README.split())
    real = pd.read_csv(tables / "sdss_dust_composition.csv").iloc[0]
    assert (
        f"crosses {lanes[(shipped, parent)]:.0%} of its galaxies with a lane "
        f"(stage 4: {lanes[(previous, parent)]:.0%}; "
        f"real smooth galaxies with a simulated lane: {real['lane_share_real_painted']:.0%}, "
        f"without: {real['lane_share_real_plain']:.0%}" in prose
    )
    assert f"draws almost no lane ({lanes[(shipped, typed)]:.0%})" in prose
    # generation completes the tree: the prompt as typed draws what it draws with the parent written in
    completed = lane_shares().loc["stage 5 (shipped), generation completes the tree"]
    assert completed[(typed, True)] == completed[(parent, True)] == lanes[(shipped, parent)]
    assert completed[(typed, False)] == lanes[(shipped, typed)]
    assert f"as with `odd feature` written in: {completed[(typed, True)]:.0%} with a lane" in prose
    as_typed, whole = completed[(typed, False)], completed[(typed, True)]
    assert f"drew a lane in {as_typed:.0%} of 96 galaxies as typed, and {whole:.0%} completed" in prose
    leaf_share = f"draw a lane in {lanes[(leaf, typed)]:.0%} of galaxies (with the parent {lanes[(leaf, parent)]:.0%})"
    assert leaf_share in prose
    study = pd.read_csv(tables / "design_study_sdss_share.csv", dtype={"seed": str})
    rows = study[(study["kind"] == "prompt") & (study["key"] != "dust")]

    def without_dust(run, seed):
        return rows[(rows["run"] == run) & (rows["seed"] == seed)]["frechet_over_floor"].mean()

    new = " / ".join(f"{without_dust('stage5-dust-g1', s):.2f}" for s in ("0", "100000", "200000"))
    old = " / ".join(
        f"{without_dust(r, s):.2f}"
        for r, s in (("same-mix-gentle-g1", "0"), ("stage4-g1", "100000"), ("stage4-g1", "200000"))
    )
    assert f"({new}x the floor against {old}x)" in prose


def test_the_judge_reading_of_a_lane_in_the_readme_comes_from_the_benchmark_file():
    table = pd.read_csv(Path(__file__).parents[1] / "benchmarks" / "judge_on_lanes.csv").set_index("answer")
    prose = " ".join(README.split())
    smooth, between = table.loc["smooth"], table.loc["in-between round galaxy"]
    assert (
        f"it calls {smooth['present_plain']:.0%} smooth before and {smooth['present_with_lane']:.0%} after, "
        f"and {between['present_plain']:.0%} in-between round before and {between['present_with_lane']:.0%} after"
        in prose
    )


def test_the_open_question_numbers_in_the_readme_come_from_the_design_study_rows():
    study = pd.read_csv(Path(__file__).parents[1] / "benchmarks" / "design_study_sdss_share.csv", dtype={"seed": str})
    smooth = study[(study["kind"] == "prompt") & (study["key"] == "smooth")].set_index(["run", "seed"])
    seeds = ("0", "100000", "200000")
    before = " / ".join(f"{smooth.loc[('stage5-dust-g1', s), 'frechet_over_floor']:.2f}" for s in seeds)
    after = [smooth.loc[("stage5-dust-g1-filled-tree", s), "frechet_over_floor"] for s in seeds]
    prose = " ".join(README.split())
    assert f"`sdss, smooth` goes from {before}x to {' / '.join(f'{a:.2f}' for a in after)}x the real-vs-real" in prose
    assert max(after) < 2  # "within 2x on every draw"
    ratios = [smooth.loc[("stage5-dust-g1-filled-tree", s), "axis_ratio_gen"] for s in seeds]
    real = smooth.loc[("stage5-dust-g1-filled-tree", "0"), "axis_ratio_real"]
    assert f"to {min(ratios):.2f}-{max(ratios):.2f} (real {real:.2f};" in prose
    card = " ".join((RUN.path / "README.md").read_text().split())
    assert f"{min(after):.1f}-{max(after):.1f}x the floor on three draws of 96, median axis ratio" in card
    assert f"median axis ratio {min(ratios):.2f}-{max(ratios):.2f}. It is off by default, in the app too" in card


def test_the_slider_table_with_open_questions_filled_comes_from_its_file():
    table = pd.read_csv(Path(__file__).parents[1] / "benchmarks" / "tag_response_filled.csv").set_index("tag")
    shipped = pd.read_csv(RUN.eval_dir / "tag_response.csv").set_index("tag")
    assert table["fill_open_questions"].all() and len(table) == len(shipped)
    assert set(shipped.index[shipped["works"]]) - set(table.index[table["works"]]) == {"spiral galaxy"}
    prose = " ".join(README.split())
    assert (
        f"finds {int(table['works'].sum())} of {len(table)} answers working, against {int(shipped['works'].sum())}"
        in prose
    )
    spiral = table.loc["spiral galaxy"]
    interval = (
        f"({spiral['judge_delta']:.2f}, interval {spiral['judge_delta_low']:.2f} to {spiral['judge_delta_high']:+.2f})"
    )
    assert (
        f"no longer moves the judge {interval}" in prose and spiral["judge_delta_low"] < 0 < spiral["judge_delta_high"]
    )
    delta, before = table["judge_delta"], shipped["judge_delta"]
    pair = f"(+{delta['completely round galaxy']:.2f} against +{before['completely round galaxy']:.2f})"
    assert f"completely round moves it less {pair}" in prose
    between = f"(+{delta['in-between round galaxy']:.2f} against +{before['in-between round galaxy']:.2f})"
    assert f"in-between more {between}" in prose


def test_the_uniform_weight_candidate_numbers_in_the_readme_come_from_the_design_study_rows():
    benchmarks = Path(__file__).parents[1] / "benchmarks"
    study = pd.read_csv(benchmarks / "design_study_sdss_share.csv", dtype={"seed": str})
    prompts = study[(study["kind"] == "prompt") & (study["key"] != "dust")]
    stage5 = prompts[prompts["run"] == "stage5-dust-g1-parents"].groupby("seed")["frechet_over_floor"].mean()
    stage6 = prompts[prompts["run"] == "stage6-uniform-snr-g1"].groupby("seed")["frechet_over_floor"].mean()
    means_5 = [stage5[s] for s in ("0", "1", "2")]  # stage 5's three seed sets, labelled by index
    means_6 = [stage6[s] for s in ("0", "100000", "200000")]
    assert all(b < a for a, b in zip(means_5, means_6))  # "closer ... on all three seed sets"
    prose = " ".join(README.split())
    figures = lambda values: " / ".join(f"{v:.2f}" for v in values)  # noqa: E731
    assert f"({figures(means_6)}x the floor against {figures(means_5)}x;" in prose
    between = prompts[(prompts["run"] == "stage6-uniform-snr-g1") & (prompts["key"] == "in-between")]
    assert f"in-between ellipticals {figures(between['frechet_over_floor'])}x, within 2x" in prose
    assert between["frechet_over_floor"].max() < 2
    lanes = lane_shares()
    stage6_share = lanes[("stage 6 on stage 5, uniform loss weights", PAPER_DUST_PROMPT, True)]
    stage5_share = lanes[("stage 5 (shipped), generation completes the tree", PAPER_DUST_PROMPT, True)]
    assert f"draws a lane in {stage6_share:.0%} of the paper's composition (stage 5: {stage5_share:.0%})" in prose
