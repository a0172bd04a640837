"""What a training step is shown: pair-balanced galaxy draws and tree tag dropout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from galaxysd import morphology
from galaxysd.training.batches import (
    balanced_draw_weights,
    descendant_matrix,
    draw_weights,
    drop_conditions,
    dropout_matrix,
    leaf_prompts,
    pair_draw_weights,
    question_matrix,
)
from galaxysd.training.config import TrainConfig, config_from_args, parse_args

TAGS = ["sdss", "smooth", "completely round galaxy", "edge-on galaxy", "features or disk-shaped", "dust lane"]


def _survey() -> np.ndarray:
    """1,000 galaxies: 600 round ellipticals, 20 of them with a dust lane, 400 edge-on disks, 200
    of them with a dust lane (dust lanes are common, a round galaxy with one is rare)."""
    c = np.zeros((1000, len(TAGS)), np.float32)
    c[:, 0] = 1.0
    c[:600, [1, 2]] = 1.0
    c[:20, 5] = 1.0
    c[600:, [3, 4]] = 1.0
    c[600:800, 5] = 1.0
    return c


def test_pair_weights_follow_the_rarest_pair_of_answers():
    c = _survey()
    weights = pair_draw_weights(c, TAGS)
    assert weights.sum() == pytest.approx(1.0)
    # dusty round galaxy: rarest pair (round, dust lane) 20/1000; plain round: (smooth, round) 600/1000;
    # dusty edge-on: (edge-on, dust lane) 200/1000
    assert weights[0] / weights[100] == pytest.approx(np.sqrt(600 / 20))
    assert weights[600] / weights[100] == pytest.approx(np.sqrt(600 / 200))
    # answer balancing averages the dust lane with the common answers: a smaller boost
    by_answers = balanced_draw_weights(c, TAGS)
    assert weights[:20].sum() > 2 * by_answers[:20].sum()
    assert draw_weights(c, TAGS, "pairs") == pytest.approx(weights)
    assert draw_weights(c, TAGS, "answers") == pytest.approx(by_answers)
    with pytest.raises(ValueError, match="balance_by"):
        draw_weights(c, TAGS, "triples")


def test_balance_power_tempers_the_draws_between_survey_proportions_and_full_balance():
    c = _survey()
    full = draw_weights(c, TAGS, "pairs", power=1.0)
    assert draw_weights(c, TAGS, "pairs", power=0.0) == pytest.approx(np.full(1000, 1e-3))
    half = draw_weights(c, TAGS, "pairs", power=0.5)
    assert half.sum() == pytest.approx(1.0)
    # a dusty round galaxy against a plain one: (600/20)^(1/2) at full balance, its square root at 0.5
    assert half[0] / half[100] == pytest.approx((600 / 20) ** 0.25)
    assert full[:20].sum() > half[:20].sum() > 20 / 1000
    for bad in (-0.1, 2.5, float("nan")):
        with pytest.raises(ValueError, match="balance power"):
            draw_weights(c, TAGS, "pairs", power=bad)


def test_balance_power_is_a_checked_config_and_command_line_option():
    config = config_from_args(parse_args(["--data", "demo:x@demo", "--balance-power", "0.5"]))
    assert config.balance_power == 0.5
    assert TrainConfig().balance_power == 1.0
    with pytest.raises(ValueError, match="balance_power must be a number within"):
        config_from_args(parse_args(["--data", "demo:x@demo", "--balance-power", "3"]))


def test_pairs_shared_by_too_few_galaxies_do_not_count():
    c = _survey()
    c[20, 3] = 1.0  # one round galaxy mislabelled edge-on: the pair (round, edge-on) has 1 galaxy
    weights = pair_draw_weights(c, TAGS, min_support=10)
    assert weights[20] / weights[100] == pytest.approx(np.sqrt(600 / 401), rel=1e-6)  # its edge-on answer alone
    empty = np.zeros((5, len(TAGS)), np.float32)
    assert pair_draw_weights(empty, TAGS) == pytest.approx(np.full(5, 0.2))  # no answers: uniform


def test_descendants_follow_the_decision_tree():
    tags = list(morphology.ALL_TAGS)
    d = descendant_matrix(tags)
    under = {tags[j] for j in torch.nonzero(d[tags.index("features or disk-shaped")]).flatten()}
    assert {"features or disk-shaped", "edge-on galaxy", "not edge-on", "spiral galaxy", "2 spiral arms"} <= under
    assert "smooth" not in under and "completely round galaxy" not in under and "merger" not in under
    assert torch.equal(d[tags.index("sdss")], torch.eye(len(tags))[tags.index("sdss")])
    assert d[tags.index("2 spiral arms")].sum() == 1  # a leaf: only itself


def _disks(n: int, tags: list[str]) -> torch.Tensor:
    c = torch.zeros(2 * n, len(tags))
    for t in ("sdss", "features or disk-shaped", "not edge-on", "spiral galaxy"):
        c[:n, tags.index(t)] = 1.0
    for t in ("sdss", "features or disk-shaped", "edge-on galaxy"):
        c[n:, tags.index(t)] = 1.0
    return c


def test_tree_dropout_shows_a_parent_alone_for_every_child_alike():
    tags = list(morphology.ALL_TAGS)
    n = 20_000
    conditions = _disks(n, tags)
    alone = {}
    for mode, descendants in (("independent", None), ("tree", descendant_matrix(tags))):
        out = drop_conditions(conditions, torch.Generator().manual_seed(0), 0.0, 0.1, descendants)
        features = out[:, tags.index("features or disk-shaped")] > 0
        only = (out.sum(1) == 2) & (out[:, tags.index("sdss")] > 0) & features
        alone[mode] = (only[:n].float().mean().item(), only[n:].float().mean().item())
        if descendants is not None:  # a child never outlives its dropped parent
            parent_gone = out[:, tags.index("features or disk-shaped")] == 0
            assert (out[parent_gone][:, tags.index("spiral galaxy")] == 0).all()
            assert (out[parent_gone][:, tags.index("edge-on galaxy")] == 0).all()
    spiral, edge_on = alone["independent"]
    assert edge_on > 5 * spiral  # two tags to drop for a spiral, one for an edge-on disk
    spiral, edge_on = alone["tree"]
    assert spiral == pytest.approx(0.081, abs=0.01) and edge_on == pytest.approx(0.081, abs=0.01)


def _ellipticals(n: int, tags: list[str]) -> torch.Tensor:
    """n galaxies that are both completely round and in-between (soft labels), n only in-between."""
    c = torch.zeros(2 * n, len(tags))
    c[:, [tags.index("sdss"), tags.index("smooth"), tags.index("in-between round galaxy")]] = 1.0
    c[:n, tags.index("completely round galaxy")] = 1.0
    return c


def test_question_dropout_shows_a_parent_alone_as_often_for_two_answers_as_for_one():
    tags = list(morphology.ALL_TAGS)
    n = 20_000
    conditions = _ellipticals(n, tags)
    smooth, sdss = tags.index("smooth"), tags.index("sdss")
    alone = {}
    for mode in ("tree", "question"):
        out = drop_conditions(conditions, torch.Generator().manual_seed(0), 0.0, 0.1, dropout_matrix(tags, mode))
        only = (out.sum(1) == 2) & (out[:, smooth] > 0) & (out[:, sdss] > 0)
        alone[mode] = (only[:n].float().mean().item(), only[n:].float().mean().item())
        gone = out[:, smooth] == 0  # a child never outlives its dropped parent
        assert (out[gone][:, tags.index("in-between round galaxy")] == 0).all()
    two, one = alone["tree"]
    assert one > 5 * two  # under tree, galaxies with two roundness answers rarely lose both
    two, one = alone["question"]
    assert two == pytest.approx(0.081, abs=0.01) and one == pytest.approx(0.081, abs=0.01)


def test_question_matrix_groups_the_answers_of_one_question():
    tags = list(morphology.ALL_TAGS)
    q = question_matrix(tags)
    round_row = q[tags.index("completely round galaxy")]
    assert {tags[j] for j in torch.nonzero(round_row).flatten()} == {
        "completely round galaxy",
        "in-between round galaxy",
        "cigar-shaped galaxy",
    }
    assert q[tags.index("in-between round galaxy")].sum() == 0  # its own draw is not used
    assert q.sum(0).tolist() == [1.0] * len(tags)  # every tag drops with exactly one draw
    assert dropout_matrix(tags, "independent") is None
    assert torch.equal(dropout_matrix(tags, "tree"), descendant_matrix(tags))
    with pytest.raises(ValueError, match="tag_dropout_mode"):
        dropout_matrix(tags, "sometimes")


def test_independent_dropout_is_unchanged_for_runs_that_resume():
    """Runs saved before tree dropout existed resume with the same random draws."""
    tags = list(morphology.ALL_TAGS)
    conditions = _disks(50, tags)
    generator = torch.Generator().manual_seed(3)
    keep_tag = torch.rand(conditions.shape, generator=generator) >= 0.1
    keep_row = torch.rand(conditions.shape[0], 1, generator=generator) >= 0.1
    expected = conditions * keep_tag * keep_row
    assert torch.equal(drop_conditions(conditions, torch.Generator().manual_seed(3), 0.1, 0.1), expected)


def test_bad_modes_are_refused_with_a_clear_message():
    config = TrainConfig(data=[], balance_by="triples")
    config.data = [object()]
    with pytest.raises(ValueError, match="balance_by must be one of answers, pairs"):
        config.validate()
    config.balance_by, config.tag_dropout_mode = "pairs", "sometimes"
    with pytest.raises(ValueError, match="tag_dropout_mode must be one of independent, tree"):
        config.validate()


def test_the_command_line_sets_both_modes():
    args = parse_args(["--data", "demo:x@demo", "--balance-by", "pairs", "--tag-dropout-mode", "tree"])
    config = config_from_args(args)
    assert (config.balance_by, config.tag_dropout_mode) == ("pairs", "tree")
    assert (TrainConfig().balance_by, TrainConfig().tag_dropout_mode) == ("answers", "independent")


def test_leaf_prompts_show_a_galaxy_with_its_deepest_answers_only():
    tags = ["sdss", "smooth", "completely round galaxy", "features or disk-shaped", "not edge-on", "spiral galaxy"]
    tree = descendant_matrix(tags)
    conditions = torch.tensor(
        [
            [1.0, 0.9, 0.6, 0.0, 0.0, 0.0],  # round elliptical -> sdss, completely round
            [1.0, 0.0, 0.0, 0.9, 0.8, 0.7],  # face-on spiral -> sdss, spiral galaxy
            [1.0, 0.0, 0.0, 0.9, 0.0, 0.0],  # a disk with nothing below it stays as it is
        ]
    )
    every = leaf_prompts(conditions, torch.Generator().manual_seed(0), 1.0, tree)
    assert every.tolist() == [
        [1.0, 0.0, pytest.approx(0.6), 0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0, 0.0, pytest.approx(0.7)],
        [1.0, 0.0, 0.0, pytest.approx(0.9), 0.0, 0.0],
    ]
    generator = torch.Generator().manual_seed(0)
    assert leaf_prompts(conditions, generator, 0.0, tree) is conditions  # off: no draw, so old runs resume alike
    assert torch.equal(generator.get_state(), torch.Generator().manual_seed(0).get_state())
    many = leaf_prompts(conditions[[1]].repeat(4000, 1), torch.Generator().manual_seed(1), 0.25, tree)
    assert (many[:, 3] == 0).float().mean().item() == pytest.approx(0.25, abs=0.03)  # a quarter of the galaxies


def test_leaf_prompt_share_is_a_checked_option():
    args = parse_args(["--data", "demo:x@demo", "--leaf-prompt-prob", "0.25"])
    assert config_from_args(args).leaf_prompt_prob == 0.25 and TrainConfig().leaf_prompt_prob == 0.0
    with pytest.raises(ValueError, match="leaf_prompt_prob must be within"):
        config_from_args(parse_args(["--data", "demo:x@demo", "--leaf-prompt-prob", "1.5"]))
