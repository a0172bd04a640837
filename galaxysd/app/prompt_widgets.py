"""The prompt widgets shared by the Generate, Real vs synthetic and Interpolate pages: preset
choice, the ``{tag:w}`` prompt box, the survey choice and one slider per GZ2 answer, all kept
in sync through ``st.session_state``.

Sliders keep each GZ2 question consistent (:mod:`galaxysd.question_weights`), and sliders of
answers that the run's training data never labels (its ``data_report.csv``) say so.
"""

from __future__ import annotations

import streamlit as st

from galaxysd.app.ui import (
    CUSTOM,
    DEFAULT_PROMPT,
    DOMAIN_KEY,
    ERROR_KEY,
    NO_DOMAIN,
    PRESET_KEY,
    PROMPT_KEY,
    SLIDER_MAX,
    SLIDER_PREFIX,
    SLIDER_STEP,
    WEIGHTS_KEY,
)
from galaxysd.evaluation.run_results import eval_prompts, run_domains
from galaxysd.morphology import (
    ANSWER_TAGS,
    DOMAIN_TAGS,
    TREE,
    format_prompt,
    missing_parents,
    parse_prompt,
    with_parents,
)
from galaxysd.question_weights import set_answer
from galaxysd.runs import RunDir
from galaxysd.surveys import survey_look
from galaxysd.training.data_report import labelled_tags, read_data_report, simulated_only_tags

UNLABELLED = "(not labelled in training)"
SIMULATED = "(simulated in training)"


def current_weights(run: RunDir) -> dict[str, float]:
    """The prompt shared by the pages (a spiral in the run's main survey at first)."""
    if WEIGHTS_KEY not in st.session_state:
        domain = (run_domains(run) or ["sdss"])[0]
        st.session_state[WEIGHTS_KEY] = {domain: 1.0, **parse_prompt(DEFAULT_PROMPT)}
    return dict(st.session_state[WEIGHTS_KEY])


def _domain_of(weights: dict[str, float]) -> str:
    return next((t for t in weights if t in DOMAIN_TAGS), NO_DOMAIN)


def _set_weights(weights: dict[str, float]) -> None:
    """Make ``weights`` the prompt, and show it in the prompt box and on every slider."""
    st.session_state[WEIGHTS_KEY] = weights
    st.session_state[PROMPT_KEY] = format_prompt(weights)
    for tag in ANSWER_TAGS:
        st.session_state[SLIDER_PREFIX + tag] = min(float(weights.get(tag, 0.0)), SLIDER_MAX)
    st.session_state[DOMAIN_KEY] = _domain_of(weights)
    st.session_state.pop(ERROR_KEY, None)


def _on_prompt() -> None:
    try:
        weights = parse_prompt(st.session_state[PROMPT_KEY])
    except ValueError as error:
        st.session_state[ERROR_KEY] = str(error)
        return
    st.session_state[PRESET_KEY] = CUSTOM
    _set_weights(weights)


def _on_slider(tag: str) -> None:
    value = round(float(st.session_state[SLIDER_PREFIX + tag]), 2)
    weights = set_answer(st.session_state[WEIGHTS_KEY], tag, value)  # the question's other answers follow
    st.session_state[PRESET_KEY] = CUSTOM
    _set_weights(weights)


def _on_domain() -> None:
    weights = {t: w for t, w in st.session_state[WEIGHTS_KEY].items() if t not in DOMAIN_TAGS}
    if st.session_state[DOMAIN_KEY] != NO_DOMAIN:
        weights = {st.session_state[DOMAIN_KEY]: 1.0, **weights}
    _set_weights(weights)


def _on_add_parents() -> None:
    st.session_state[PRESET_KEY] = CUSTOM
    _set_weights(with_parents(st.session_state[WEIGHTS_KEY]))


def _parent_hint(weights: dict[str, float]) -> None:
    """Name the answers above the prompt's answers in the decision tree that it leaves out, which
    generation adds (:func:`galaxysd.morphology.with_parents`), and offer to write them in."""
    missing = missing_parents(weights)
    if missing:
        st.caption(
            f"This prompt leaves out {', '.join(missing)}, above its answers in the decision tree. "
            "Generation adds them, each at the weight of the answer below it (at most 1), as every "
            "training label has them; write them in to set their weights yourself."
        )
        st.button("Write them in", key="add_parents", on_click=_on_add_parents)


def _on_preset(presets: dict[str, dict[str, float]]) -> None:
    if st.session_state[PRESET_KEY] in presets:
        _set_weights(presets[st.session_state[PRESET_KEY]])


def prompt_box(run: RunDir) -> dict[str, float]:
    """Preset choice and the ``{tag:w}`` prompt box; returns the current weights."""
    weights = current_weights(run)
    presets = {f"{p.key}: {p.label}": p.weights for p in eval_prompts(run)}
    st.session_state.setdefault(PROMPT_KEY, format_prompt(weights))
    if st.session_state.get(PRESET_KEY) not in presets:
        st.session_state[PRESET_KEY] = CUSTOM
    st.selectbox(
        "Preset prompt (the paper's A-P)", [CUSTOM, *presets], key=PRESET_KEY, on_change=_on_preset, args=(presets,)
    )
    st.text_area(
        "Prompt",
        key=PROMPT_KEY,
        on_change=_on_prompt,
        height=90,
        help="Comma-separated tags; weight one with {tag:1.3}. Press Ctrl+Enter to apply.",
    )
    if st.session_state.get(ERROR_KEY):
        st.error(f"Prompt not applied: {st.session_state[ERROR_KEY]}")
    _parent_hint(weights)
    return weights


def tag_sliders(run: RunDir) -> dict[str, float]:
    """Survey choice and one 0-2 slider per GZ2 answer, grouped by question, synced with the
    prompt box both ways; returns the current weights."""
    weights = current_weights(run)
    domains = run_domains(run)
    st.session_state.setdefault(DOMAIN_KEY, _domain_of(weights))
    options = [*domains, *(d for d in DOMAIN_TAGS if d not in domains), NO_DOMAIN]
    st.selectbox(
        "Survey",
        options,
        key=DOMAIN_KEY,
        on_change=_on_domain,
        format_func=lambda tag: (
            f"{tag} (not in this run's training data)" if tag in DOMAIN_TAGS and tag not in domains else tag
        ),
        help=f"This run was trained on: {', '.join(domains) or 'unknown'}",
    )
    look = survey_look(st.session_state.get(DOMAIN_KEY, ""))
    if look:
        st.caption(f"Looks like: {look}")
    report = read_data_report(run)
    chosen = st.session_state.get(DOMAIN_KEY)
    in_report = report is not None and chosen in set(report["domain"])
    scope = chosen if in_report else None  # the chosen survey's sources, or all of them
    labelled = labelled_tags(report, scope) if report is not None else None
    simulated = simulated_only_tags(report, scope) if report is not None else set()
    if labelled is not None:
        st.caption(
            "Moving an answer rescales the other answers of its question, as vote fractions do. "
            f"Answers marked {UNLABELLED} have no labelled galaxy in this run's training data"
            + (f" for `{chosen}`" if in_report else "")
            + ": the model never learned them, so they change little."
            + (f" Answers marked {SIMULATED} were learned from simulated examples only." if simulated else "")
        )
    for question in TREE:
        with st.expander(question.text, expanded=question is TREE[0]):
            for ans in question.answers:
                key = SLIDER_PREFIX + ans.tag
                st.session_state.setdefault(key, min(float(weights.get(ans.tag, 0.0)), SLIDER_MAX))
                unlabelled = labelled is not None and ans.tag not in labelled
                mark = UNLABELLED if unlabelled else SIMULATED if ans.tag in simulated else ""
                st.slider(
                    f"{ans.tag} {mark}".strip(),
                    0.0,
                    SLIDER_MAX,
                    step=SLIDER_STEP,
                    key=key,
                    on_change=_on_slider,
                    args=(ans.tag,),
                    help=f"asked when: {question.parent}" if question.parent else None,
                )
    return current_weights(run)
