"""Decode Hart et al. (2016) ``gz2_class`` strings (``Ei``, ``Ser``, ``SBb(r)``, ``Sc2m``,
``A``) into GZ2 answer tags: the consensus path down the decision tree for one galaxy."""

from __future__ import annotations

import re

_SMOOTH_ROUND = {"r": "completely round galaxy", "i": "in-between round galaxy", "c": "cigar-shaped galaxy"}
_EDGE_BULGE = {"r": "rounded bulge", "b": "boxy bulge", "n": "edge-on no bulge"}
_BULGE = {
    "a": "dominant bulge prominence",
    "b": "obvious bulge prominence",
    "c": "just noticeable bulge prominence",
    "d": "no bulge",
}
_ARMS = {
    "1": "1 spiral arm",
    "2": "2 spiral arms",
    "3": "3 spiral arms",
    "4": "4 spiral arms",
    "+": "more than 4 spiral arms",
    "?": "can't tell spiral arm count",
}
_WINDING = {"t": "tightly wound spiral arms", "m": "medium wound spiral arms", "l": "loosely wound spiral arms"}
_ODD = {
    "r": "ring",
    "l": "lens or arc",
    "d": "disturbed",
    "i": "irregular",
    "o": "other odd feature",
    "m": "merger",
    "u": "dust lane",
}
_GZ2_CLASS = re.compile(
    r"^(?:(?P<artifact>A)|E(?P<round>[ric])|Se(?P<edge>[rbn])"
    r"|S(?P<bar>B)?(?P<bulge>[abcd])(?:(?P<arms>[1234+?])(?P<wind>[tml]))?)"
    r"(?:\((?P<odd>[rldioum])\))?$"
)


def gz2_class_to_tags(gz2_class: str) -> dict[str, float]:
    """Decode a Hart16 ``gz2_class`` string (``Ei``, ``Ser``, ``SBb(r)``, ``Sc2m``, ``A``) into tags."""
    match = _GZ2_CLASS.match(str(gz2_class).strip())
    if not match:
        raise ValueError(f"cannot decode gz2_class {gz2_class!r}")
    g = match.groupdict()
    tags: list[str] = []
    if g["artifact"]:
        tags.append("star or artifact")
    elif g["round"]:
        tags += ["smooth", _SMOOTH_ROUND[g["round"]]]
    elif g["edge"]:
        tags += ["features or disk-shaped", "edge-on galaxy", _EDGE_BULGE[g["edge"]]]
    else:
        tags += [
            "features or disk-shaped",
            "not edge-on",
            "bar-shaped structure in the galaxy center" if g["bar"] else "no bar",
            _BULGE[g["bulge"]],
        ]
        if g["arms"]:
            tags += ["spiral galaxy", _WINDING[g["wind"]], _ARMS[g["arms"]]]
        else:
            tags.append("no spiral arms")
    if g["odd"]:
        tags += ["odd feature", _ODD[g["odd"]]]
    return {tag: 1.0 for tag in tags}
