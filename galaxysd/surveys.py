"""What each survey (domain) tag looks like, in one line, for menus and the README.

Every image source gets its own tag so that one source's rendering never leaks into
another's prompts: ``sdss`` means the standard SDSS gri colour cutouts only.
"""

from __future__ import annotations

from galaxysd.morphology import DOMAIN_TAGS

SURVEY_LOOKS: dict[str, str] = {
    "sdss": "standard SDSS gri colour cutouts (Galaxy Zoo 1 and the full GZ2 release): "
    "yellow-white bulges, blue arms, dark sky",
    "gz2cyan": "the GZ2 excerpt in ../shared/data: zoomed, strongly stretched, cyan-tinted renderings of SDSS",
    "demo": "the built-in synthetic survey: smooth model galaxies with planted features, on a grey noisy sky",
    "decals": "DESI Legacy Imaging Surveys grz cutouts (deeper than SDSS; no shipped data)",
    "hsc": "Hyper Suprime-Cam cutouts (much deeper, fainter galaxies; no shipped data)",
}
assert set(SURVEY_LOOKS) == set(DOMAIN_TAGS), "every survey tag needs a description"


def survey_look(tag: str) -> str:
    """The one-line description of a survey tag ("" for an unknown tag)."""
    return SURVEY_LOOKS.get(tag, "")
