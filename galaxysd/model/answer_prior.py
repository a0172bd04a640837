"""Questions a prompt leaves open, answered as the run's real training galaxies answer them.

``sdss, smooth`` answers Galaxy Zoo's first question but not the roundness question asked of
every smooth galaxy. The model learnt smooth galaxies with their roundness answers (a vote
fraction for each), so the prompt alone asks for a smooth galaxy whose volunteers gave no
roundness at all, a condition that training shows only through tag dropout: the draws come out
flatter and less varied than real smooth galaxies. With an answer prior each open question is
answered as a real galaxy answers it, walking down the tree: for every question below an answer
the prompt has (typed or answered this way), one real training galaxy of the prompt's survey
is drawn among those that have every answer on the question's path (cumulative vote fraction at
least :data:`PRESENCE`) and every other answer the prompt gives at least :data:`PRESENCE`
outside that question and below it, and its answers to that question are taken, each capped at the weight
of the answer it hangs under. Where fewer than :data:`MIN_MATCHES` real galaxies have all of
those, the question's path alone decides (no real ``sdss`` galaxy has a dust-lane label, so
``sdss, smooth, dust lane`` takes the roundness of any real smooth galaxy; ``demo, smooth,
dust lane`` that of the survey's real dusty ones). Sibling questions share a galaxy.

A question the prompt answers only in part is filled in part: with ``m`` the largest weight the
prompt gives any of its answers, as a share of that cap, the drawn answers count ``1 - m`` and
the typed ones are kept where larger. So a slider moved from 0 changes the answers smoothly
instead of switching the draw off, and a question answered in full (``m = 1``) stays as typed.
A slider of another question changes whom the draw is among where it crosses :data:`PRESENCE`,
so the drawn answers can change there.
Questions no answer of the prompt leads to (``odd feature`` for ``sdss, smooth``) stay as they
are; the draw depends only on the image's seed, so an image is reproducible whatever the batch.

The prior is the run's real training labels (simulated sources left out), one row per distinct
label vector with its count, in ``RUN/answer_prior.csv``; the training job writes it, and
``python -m galaxysd.training.prior_job --run RUN`` rebuilds it from the run's config.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from galaxysd import morphology
from galaxysd.atomic_files import write_atomic

PRIOR_FILE = "answer_prior.csv"
PRESENCE = 0.5  # a real galaxy "has" an answer from this cumulative fraction on
MIN_MATCHES = 20  # fewer matching real galaxies than this: the prompt is left as it is
DECIMALS = 1  # fractions to 0.1: the label threshold is 0.3, and it keeps the file small


def _path(tag: str) -> tuple[str, ...]:
    """``tag`` and the answers above it, root first."""
    return (*morphology.parent_answers(tag), tag)


@lru_cache(maxsize=None)
def _subtree(question: morphology.Question) -> frozenset[str]:
    """The answers of ``question`` and every answer below them."""
    own = {a.tag for a in question.answers}
    return frozenset(t for t in morphology.ANSWER_TAGS if t in own or own & set(morphology.parent_answers(t)))


class AnswerPrior:
    """Real training label vectors per survey tag, with counts (see the module docstring)."""

    def __init__(self, table: pd.DataFrame):
        missing = {"domain", "count"} - set(table.columns)
        if missing:
            raise ValueError(f"an answer prior needs the columns domain and count; missing {sorted(missing)}")
        self.tags = [t for t in morphology.ANSWER_TAGS if t in table.columns]
        values = table[self.tags].apply(pd.to_numeric, errors="coerce").fillna(0.0).clip(0.0, 1.0)
        counts = pd.to_numeric(table["count"], errors="coerce").fillna(0).clip(lower=0)
        self.table = pd.concat([table[["domain"]].astype(str), counts.rename("count"), values], axis=1)
        self.table = self.table[self.table["count"] > 0].reset_index(drop=True)

    @classmethod
    def from_conditions(cls, conditions: Sequence[np.ndarray], domains: Sequence[str], tags: Sequence[str]):
        """From per-source ``(N, len(tags))`` condition matrices (cumulative fractions, as the
        training batches hold them) and each source's survey tag."""
        answer_columns = [i for i, t in enumerate(tags) if t in morphology.ANSWER_TAGS]
        frames = []
        for matrix, domain in zip(conditions, domains):
            values = np.round(np.asarray(matrix, dtype=np.float64)[:, answer_columns], DECIMALS)
            frame = pd.DataFrame(values, columns=[tags[i] for i in answer_columns])
            frame.insert(0, "domain", morphology.domain_tag(domain))
            frames.append(frame)
        if not frames:
            raise ValueError("no real training galaxies to build an answer prior from")
        rows = pd.concat(frames, ignore_index=True)
        grouped = rows.groupby(list(rows.columns), sort=True).size().rename("count").reset_index()
        return cls(grouped[["domain", "count", *grouped.columns[1:-1]]])

    @classmethod
    def load(cls, path: str | Path) -> "AnswerPrior":
        """Read ``answer_prior.csv``; a clear ``ValueError`` when it cannot be read."""
        try:
            return cls(pd.read_csv(path))
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise ValueError(f"cannot read the answer prior {path}: {error}") from None

    def save(self, path: str | Path) -> Path:
        """Write it atomically as CSV; returns the path."""
        path = Path(path)
        write_atomic(path, self.table.to_csv(index=False, float_format="%g"))
        return path

    @cached_property
    def domains(self) -> set[str]:
        """The survey tags the prior has galaxies of."""
        return set(self.table["domain"])

    def matches(self, domain: str, present: Iterable[str]) -> pd.DataFrame:
        """The rows of ``domain`` with every answer of ``present`` at least :data:`PRESENCE`."""
        rows = self.table[self.table["domain"] == domain]
        for tag in present:
            rows = rows[rows[tag] >= PRESENCE] if tag in rows else rows.iloc[:0]
        return rows

    def draw(self, domain: str, answers: tuple[str, ...], seed: int) -> pd.Series | None:
        """One real galaxy of ``domain`` with every one of ``answers``, drawn by its count with
        ``seed`` (the same galaxy for the same answers and seed); ``None`` when fewer than
        :data:`MIN_MATCHES` real galaxies have them."""
        rows = self.matches(domain, answers)
        counts = rows["count"].to_numpy(dtype=np.float64)
        if counts.sum() < MIN_MATCHES:
            return None
        key = zlib.crc32("|".join(sorted(answers)).encode())
        rng = np.random.default_rng([int(seed) % 2**63, key])  # any integer seed, negative ones too
        return rows.iloc[int(rng.choice(len(rows), p=counts / counts.sum()))]

    def fill(self, weights: Mapping[str, float], seed: int) -> dict[str, float]:
        """``weights`` with its open questions answered by real galaxies drawn with ``seed``
        (see the module docstring); unchanged when nothing is open, the prompt names no survey
        of the prior, or fewer than :data:`MIN_MATCHES` real galaxies share a question's path."""
        typed = dict(weights)
        domain = next((t for t, w in typed.items() if t in morphology.DOMAIN_TAGS and w > 0), None)
        if domain is None or domain not in self.domains:
            return typed
        present = {t for t, w in typed.items() if t in self.tags and w >= PRESENCE}
        filled = dict(typed)
        for question in morphology.TREE:  # tree order: a parent's weight is final before its questions
            parent = question.parent
            cap = min(1.0, filled.get(parent, 0.0)) if parent else 0.0
            if cap <= 0:
                continue  # the root question, and questions under answers the prompt does not have
            answered = max((typed.get(a.tag, 0.0) for a in question.answers), default=0.0)
            share_open = 1.0 - min(1.0, answered / cap)
            if share_open <= 0:
                continue
            path = _path(parent)
            alike = tuple(sorted(set(path) | (present - _subtree(question))))
            galaxy = self.draw(domain, alike, seed) if len(alike) > len(path) else None
            if galaxy is None:
                galaxy = self.draw(domain, path, seed)
            if galaxy is None:
                continue
            for ans in question.answers:
                if ans.tag not in self.tags:
                    continue
                value = round(share_open * min(float(galaxy[ans.tag]), cap), 6)
                if value > typed.get(ans.tag, 0.0) and math.isfinite(value):
                    filled[ans.tag] = value
        return filled


def drawn_answers(prompt: Mapping[str, float], drawn: Mapping[str, float]) -> dict[str, float]:
    """The answers of one image's ``drawn`` weights that the prior set or raised above the
    ``prompt`` (with the parent answers generation adds), in tree order."""
    asked = morphology.with_parents(prompt)
    return {t: drawn[t] for t in morphology.ANSWER_TAGS if drawn.get(t, 0.0) > asked.get(t, 0.0) + 1e-9}


def write_answer_prior(run_dir: Path, conditions, domains, tags) -> Path:
    """Write ``RUN/answer_prior.csv`` from the real sources' condition matrices."""
    return AnswerPrior.from_conditions(conditions, domains, tags).save(Path(run_dir) / PRIOR_FILE)


def load_run_prior(model_dir: str | Path) -> AnswerPrior | None:
    """The answer prior of the run whose ``model/`` folder this is (``RUN/answer_prior.csv``),
    or ``None`` when the run has none."""
    path = Path(model_dir).parent / PRIOR_FILE
    return AnswerPrior.load(path) if path.is_file() else None


def fill_prompts(prior: AnswerPrior | None, prompts: Sequence[Mapping[str, float]], seeds: Sequence[int]):
    """Each prompt's open questions answered by a real galaxy drawn with its image's seed; a
    clear ``ValueError`` for a model without a prior."""
    if prior is None:
        raise ValueError(
            f"this model has no answer prior (RUN/{PRIOR_FILE}); build it with "
            "python -m galaxysd.training.prior_job --run RUN, or leave fill_open_questions off"
        )
    return [prior.fill(p, s) for p, s in zip(prompts, seeds)]
