"""The Galaxy Zoo 2 decision tree as data, and everything derived from it.

The 11 questions and 37 answers of GZ2 (Willett et al. 2013; Hart et al. 2016) are spelled
out once, in :data:`TREE`. Prompt parsing, vote-fraction weights, the judge's outputs and
the app's slider groups are all derived from it.

A *tag* is the prompt text of an answer (``"dust lane"``) or a survey/domain word
(``"sdss"``). A prompt is a mapping ``{tag: weight}``; its text form uses the paper's
syntax ``sdss, smooth, {dust lane:1.3}``.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

MAX_WEIGHT = 3.0
BARE_EMPHASIS = 1.1  # weight of ``{tag}`` or ``(tag)`` without a number
DEFAULT_THRESHOLD = 0.3

# Survey/domain tags: one per image look. "gz2cyan" is the SDSS GZ2 excerpt in ../shared/data,
# whose cutouts are zoomed and colour-stretched to a cyan rendering, unlike the standard SDSS
# look ("sdss") of the Galaxy Zoo 1 cutouts.
DOMAIN_TAGS: tuple[str, ...] = ("sdss", "demo", "decals", "hsc", "gz2cyan")


@dataclass(frozen=True)
class Answer:
    """One answer of the GZ2 tree."""

    tag: str  # prompt text, what users type and sliders show
    column: str  # Hart16 base name, e.g. "t08_odd_feature_a38_dust_lane"
    kaggle: str  # Galaxy Challenge column, e.g. "Class8.7"
    parent: str | None  # tag of the answer this question hangs under
    aliases: tuple[str, ...] = ()

    @property
    def task(self) -> str:
        """The Hart16 task name, e.g. ``t08_odd_feature``."""
        return re.match(r"(t\d\d_.+?)_a\d\d_", self.column).group(1)

    @property
    def code(self) -> str:
        """The answer code, e.g. ``a38``."""
        return re.search(r"_(a\d\d)_", self.column + "_").group(1)


@dataclass(frozen=True)
class Question:
    """One GZ2 task with its answers; ``parent`` is the answer it is asked under."""

    task: str
    text: str
    answers: tuple[Answer, ...] = field(default_factory=tuple)

    @property
    def parent(self) -> str | None:
        return self.answers[0].parent


def _q(
    task: str, text: str, kaggle_class: int, parent: str | None, answers: Iterable[tuple[str, str, tuple[str, ...]]]
) -> Question:
    built = tuple(
        Answer(
            tag=tag, column=f"{task}_{suffix}", kaggle=f"Class{kaggle_class}.{i + 1}", parent=parent, aliases=aliases
        )
        for i, (suffix, tag, aliases) in enumerate(answers)
    )
    return Question(task=task, text=text, answers=built)


TREE: tuple[Question, ...] = (
    _q(
        "t01_smooth_or_features",
        "Is the galaxy smooth, with features, or a star?",
        1,
        None,
        [
            ("a01_smooth", "smooth", ("smooth galaxy", "elliptical")),
            ("a02_features_or_disk", "features or disk-shaped", ("features", "disk", "disk galaxy")),
            ("a03_star_or_artifact", "star or artifact", ("star", "artifact")),
        ],
    ),
    _q(
        "t02_edgeon",
        "Could this be a disk viewed edge-on?",
        2,
        "features or disk-shaped",
        [
            ("a04_yes", "edge-on galaxy", ("edge-on", "edge on", "edge-on disk")),
            ("a05_no", "not edge-on", ("face-on", "face-on galaxy")),
        ],
    ),
    _q(
        "t03_bar",
        "Is there a bar?",
        3,
        "not edge-on",
        [
            ("a06_bar", "bar-shaped structure in the galaxy center", ("bar", "barred", "bar-shaped structure")),
            ("a07_no_bar", "no bar", ()),
        ],
    ),
    _q(
        "t04_spiral",
        "Is there a spiral arm pattern?",
        4,
        "not edge-on",
        [
            ("a08_spiral", "spiral galaxy", ("spiral", "spiral arms")),
            ("a09_no_spiral", "no spiral arms", ("no spiral",)),
        ],
    ),
    _q(
        "t05_bulge_prominence",
        "How prominent is the central bulge?",
        5,
        "not edge-on",
        [
            ("a10_no_bulge", "no bulge", ()),
            ("a11_just_noticeable", "just noticeable bulge prominence", ("just noticeable bulge",)),
            ("a12_obvious", "obvious bulge prominence", ("obvious bulge",)),
            ("a13_dominant", "dominant bulge prominence", ("dominant bulge",)),
        ],
    ),
    _q(
        "t06_odd",
        "Is there anything odd?",
        6,
        None,
        [("a14_yes", "odd feature", ("odd",)), ("a15_no", "nothing odd", ())],
    ),
    _q(
        "t07_rounded",
        "How rounded is it?",
        7,
        "smooth",
        [
            ("a16_completely_round", "completely round galaxy", ("completely round", "round")),
            ("a17_in_between", "in-between round galaxy", ("in-between round", "in-between", "in between")),
            ("a18_cigar_shaped", "cigar-shaped galaxy", ("cigar-shaped", "cigar shaped", "cigar")),
        ],
    ),
    _q(
        "t08_odd_feature",
        "Is the odd feature a ring, or is the galaxy disturbed or irregular?",
        8,
        "odd feature",
        [
            ("a19_ring", "ring", ("ring galaxy",)),
            ("a20_lens_or_arc", "lens or arc", ("lens", "arc")),
            ("a21_disturbed", "disturbed", ("disturbed galaxy",)),
            ("a22_irregular", "irregular", ("irregular galaxy",)),
            ("a23_other", "other odd feature", ("other",)),
            ("a24_merger", "merger", ("merging", "merging galaxies")),
            ("a38_dust_lane", "dust lane", ("dusty", "dust")),
        ],
    ),
    _q(
        "t09_bulge_shape",
        "Does the edge-on galaxy have a bulge, and what shape?",
        9,
        "edge-on galaxy",
        [
            ("a25_rounded", "rounded bulge", ("round bulge",)),
            ("a26_boxy", "boxy bulge", ()),
            ("a27_no_bulge", "edge-on no bulge", ()),
        ],
    ),
    _q(
        "t10_arms_winding",
        "How tightly wound do the spiral arms appear?",
        10,
        "spiral galaxy",
        [
            ("a28_tight", "tightly wound spiral arms", ("tight arms", "tightly wound")),
            ("a29_medium", "medium wound spiral arms", ("medium arms", "medium wound")),
            ("a30_loose", "loosely wound spiral arms", ("loose arms", "loosely wound")),
        ],
    ),
    _q(
        "t11_arms_number",
        "How many spiral arms are there?",
        11,
        "spiral galaxy",
        [
            ("a31_1", "1 spiral arm", ("1 spiral arms", "one spiral arm")),
            ("a32_2", "2 spiral arms", ("two spiral arms",)),
            ("a33_3", "3 spiral arms", ("three spiral arms",)),
            ("a34_4", "4 spiral arms", ("four spiral arms",)),
            ("a36_more_than_4", "more than 4 spiral arms", ("more than four spiral arms",)),
            ("a37_cant_tell", "can't tell spiral arm count", ("cant tell",)),
        ],
    ),
)

ANSWERS: tuple[Answer, ...] = tuple(a for q in TREE for a in q.answers)
ANSWER_TAGS: tuple[str, ...] = tuple(a.tag for a in ANSWERS)
#: Every tag a prompt may hold, in a fixed order (the tag encoder's vocabulary).
ALL_TAGS: tuple[str, ...] = DOMAIN_TAGS + ANSWER_TAGS
_BY_TAG: dict[str, Answer] = {a.tag: a for a in ANSWERS}
_ALIASES: dict[str, str] = {t: t for t in ALL_TAGS}
_ALIASES.update({alias: a.tag for a in ANSWERS for alias in a.aliases})


def answer(tag: str) -> Answer:
    """The :class:`Answer` of a tag or alias (``ValueError`` naming close tags if unknown)."""
    return _BY_TAG[canonical_tag(tag)]


def question_of(tag: str) -> Question:
    """The :class:`Question` a tag answers."""
    task = answer(tag).task
    return next(q for q in TREE if q.task == task)


def canonical_tag(text: str) -> str:
    """Resolve a tag or alias (case- and space-insensitive) to its canonical tag."""
    key = " ".join(str(text).strip().lower().split())
    if key in _ALIASES:
        return _ALIASES[key]
    close = difflib.get_close_matches(key, list(_ALIASES), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown morphology tag {text!r}{hint}")


def fraction_column(ans: Answer, suffix: str = "debiased") -> str:
    """The catalog column holding an answer's vote fraction, e.g. ``..._a38_dust_lane_debiased``."""
    return f"{ans.column}_{suffix}"


FRACTION_COLUMNS: tuple[str, ...] = tuple(fraction_column(a) for a in ANSWERS)


def validate_weight(tag: str, weight: float) -> float:
    """Return ``weight`` as float, or raise ``ValueError`` if NaN, inf or outside [0, 3]."""
    try:
        value = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"weight of {tag!r} must be a number, got {weight!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"weight of {tag!r} must be finite, got {value}")
    if not 0.0 <= value <= MAX_WEIGHT:
        raise ValueError(f"weight of {tag!r} must be within [0, {MAX_WEIGHT:g}], got {value:g}")
    return value


def validate_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Canonicalise tags and check weights; returns a new ``{tag: weight}`` dict."""
    out: dict[str, float] = {}
    for tag, weight in weights.items():
        canon = canonical_tag(tag)
        out[canon] = validate_weight(canon, weight)
    return out


def cumulative_fractions(row: Mapping[str, float], suffix: str = "debiased") -> dict[str, float]:
    """Each answer's vote fraction times the fractions of its parent path (NaN counts as 0)."""
    out: dict[str, float] = {}
    for ans in ANSWERS:  # TREE order visits parents before children
        value = row.get(fraction_column(ans, suffix), 0.0)
        value = float(value) if value is not None else 0.0
        value = min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
        out[ans.tag] = value * (out[ans.parent] if ans.parent else 1.0)
    return out


def vote_fractions_to_weights(
    row: Mapping[str, float], suffix: str = "debiased", threshold: float = DEFAULT_THRESHOLD, domain: str | None = None
) -> dict[str, float]:
    """Turn a catalog/Hart16 row into weighted tags following the tree.

    A child's weight is its fraction times its parent path's (the probability that a
    volunteer reaches and picks it); answers below ``threshold`` are dropped. ``domain``
    adds a survey tag with weight 1.
    """
    weights = {tag: round(w, 4) for tag, w in cumulative_fractions(row, suffix).items() if w >= threshold}
    if domain:
        weights = {domain_tag(domain): 1.0, **weights}
    return weights


def domain_tag(name: str) -> str:
    """Validate a survey/domain tag (``sdss``, ``demo``, ...)."""
    key = str(name).strip().lower()
    if key not in DOMAIN_TAGS:
        raise ValueError(f"unknown survey/domain tag {name!r}; known: {', '.join(DOMAIN_TAGS)}")
    return key


_SPAN = re.compile(r"[{(]([^{}()]*)[})]")


def _parse_segment(segment: str) -> tuple[str, float]:
    weight = 1.0
    spans = _SPAN.findall(segment)
    if len(spans) > 1:
        raise ValueError(f"prompt segment {segment!r} has more than one weighted span")
    if spans:
        inner = spans[0]
        if ":" in inner:
            inner, raw = inner.rsplit(":", 1)
            try:
                weight = float(raw)
            except ValueError:
                raise ValueError(f"weight {raw.strip()!r} in {segment!r} is not a number") from None
        else:
            weight = BARE_EMPHASIS
        segment = _SPAN.sub(lambda _: inner, segment)
    if any(ch in segment for ch in "{}():"):
        raise ValueError(f"unbalanced brackets or stray ':' in prompt segment {segment!r}")
    return segment, weight


def parse_prompt(text: str) -> dict[str, float]:
    """Parse ``"sdss, smooth, {dust lane:1.3}"`` into ``{"sdss": 1.0, "smooth": 1.0, "dust lane": 1.3}``.

    Accepts ``{tag:w}``, ``(tag:w)``, bare ``{tag}`` (weight 1.1) and extra words around a
    span (``{completely round:1.3} galaxy``). Raises ``ValueError`` on unknown tags or bad
    weights.
    """
    if not isinstance(text, str):
        raise ValueError(f"prompt must be text, got {type(text).__name__}")
    weights: dict[str, float] = {}
    for segment in text.split(","):
        if not segment.strip():
            continue
        words, weight = _parse_segment(segment)
        if not words.strip():
            raise ValueError(f"empty tag in prompt segment {segment.strip()!r}")
        key = " ".join(words.lower().split())
        if key not in _ALIASES and key.endswith(" galaxy") and key[:-7] in _ALIASES:
            key = key[:-7]  # "{completely round:1.3} galaxy", "{ring} galaxy"
        tag = canonical_tag(key)
        weights[tag] = validate_weight(tag, weight)
    return weights


def _format_weight(weight: float) -> str:
    return repr(float(weight))


def format_prompt(weights: Mapping[str, float]) -> str:
    """Format ``{tag: weight}`` as prompt text: domain tags first, then tree order.

    Weight 1 is written bare; any other weight as ``{tag:w}`` with the shortest exact float
    text, so ``parse_prompt(format_prompt(w)) == w``.
    """
    clean = validate_weights(weights)
    parts = []
    for tag in ALL_TAGS:
        if tag in clean:
            w = clean[tag]
            parts.append(tag if w == 1.0 else f"{{{tag}:{_format_weight(w)}}}")
    return ", ".join(parts)


def top_level_tag(weights: Mapping[str, float]) -> str | None:
    """The strongest answer of task t01 (smooth / features / star) in a weight dict."""
    first = TREE[0].answers
    present = [(weights.get(a.tag, 0.0), a.tag) for a in first if weights.get(a.tag, 0.0) > 0]
    return max(present)[1] if present else None


def missing_parents(weights: Mapping[str, float]) -> tuple[str, ...]:
    """Answers above a weighted answer in the decision tree that the prompt leaves out, in tree
    order (``spiral galaxy`` alone misses ``features or disk-shaped`` and ``not edge-on``). The
    model learned each answer with its parents, so a prompt without them is followed weakly at
    low guidance."""
    present = {canonical_tag(t) for t, w in weights.items() if t not in DOMAIN_TAGS and w > 0}
    missing = set()
    for tag in present:
        parent = answer(tag).parent
        while parent:
            if parent not in present:
                missing.add(parent)
            parent = answer(parent).parent
    return tuple(t for t in ANSWER_TAGS if t in missing)


def parent_answers(tag: str) -> tuple[str, ...]:
    """The answers above ``tag`` in the decision tree, in tree order (``merger`` -> ``odd feature``)."""
    return missing_parents({tag: 1.0})


def with_parents(weights: Mapping[str, float]) -> dict[str, float]:
    """``weights`` with its :func:`missing_parents` added (``sdss, spiral galaxy`` -> ``sdss,
    features or disk-shaped, not edge-on, spiral galaxy``), each at the largest weight of the
    answers below it, capped at 1: the least a training label would have, since a cumulative
    vote fraction is never above its parent's. Weights the prompt gives are kept."""
    clean = {canonical_tag(t): w for t, w in weights.items() if t not in DOMAIN_TAGS and w > 0}
    added = {}
    for tag in missing_parents(weights):
        below = [w for t, w in clean.items() if tag in parent_answers(t)]
        added[tag] = min(1.0, max(below))
    return {**weights, **added}
