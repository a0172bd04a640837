"""Slider weights that keep each GZ2 question consistent, as vote fractions are.

Moving one answer's weight rescales the other answers of the same question (they only ever
shrink) so that the question's weights sum to at most ``max(1, new weight)``: raising
"edge-on galaxy" to 1.5 drops "not edge-on" to 0 instead of leaving a contradictory prompt.
The tree is followed both ways: raising an answer also raises the answers its question is
asked under (a bar needs a disk that is not edge-on) to at least ``min(weight, 1)``, and
setting an answer to 0 clears every answer of the questions asked under it.

Example:
    >>> set_answer({"features or disk-shaped": 1.0, "not edge-on": 1.0}, "edge-on galaxy", 1.5)
    {'features or disk-shaped': 1.0, 'edge-on galaxy': 1.5}
"""

from __future__ import annotations

from collections.abc import Mapping

from galaxysd.morphology import TREE, Question, answer, question_of, validate_weight

QUESTION_BUDGET = 1.0  # a question's weights sum to at most max(this, the moved weight)


def _questions_under(tag: str) -> list[Question]:
    """Every question asked (directly or further down the tree) under answer ``tag``."""
    found, parents = [], {tag}
    for question in TREE:  # the tree lists parents before their children
        if question.parent in parents:
            found.append(question)
            parents.update(a.tag for a in question.answers)
    return found


def _balance(weights: dict[str, float], tag: str, value: float) -> None:
    """Set ``tag`` to ``value`` and shrink its siblings to fit the question's budget."""
    question = question_of(tag)
    siblings = [a.tag for a in question.answers if a.tag != tag and weights.get(a.tag, 0.0) > 0]
    others = sum(weights[t] for t in siblings)
    room = max(0.0, max(QUESTION_BUDGET, value) - value)
    factor = min(1.0, room / others) if others > 0 else 1.0
    for sibling in siblings:
        scaled = round(weights[sibling] * factor, 2)
        if scaled > 0:
            weights[sibling] = scaled
        else:
            weights.pop(sibling)
    if value > 0:
        weights[tag] = value
    else:
        weights.pop(tag, None)


def set_answer(weights: Mapping[str, float], tag: str, value: float) -> dict[str, float]:
    """``weights`` with answer ``tag`` at ``value`` and the tree kept consistent (see the
    module docstring). Domain tags and other questions are left alone; the order of the
    existing tags is kept. ``ValueError`` for an unknown tag or an out-of-range weight."""
    tag = answer(tag).tag
    value = round(validate_weight(tag, float(value)), 2) if value else 0.0
    out = dict(weights)
    old = float(out.get(tag, 0.0))
    _balance(out, tag, value)
    if value > old:  # an answer needs the answers its question hangs under
        parent, floor = question_of(tag).parent, min(value, QUESTION_BUDGET)
        while parent is not None:
            if out.get(parent, 0.0) < floor:
                _balance(out, parent, floor)
            parent = question_of(parent).parent
    if value == 0:
        for question in _questions_under(tag):
            for ans in question.answers:
                out.pop(ans.tag, None)
    return out
