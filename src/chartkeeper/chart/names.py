"""Name matching for the patient finder: folding, prefix probes and similarity scores.

Pure functions (no store): what "Haely" has to do with "Haley" is decided here and tested alone.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import jellyfish
from rapidfuzz import fuzz

#: first sounds written in more than one way
_SOUND_ALIKE = {
    "c": ("k", "s"),
    "k": ("c", "q"),
    "q": ("k",),
    "s": ("c", "z"),
    "z": ("s",),
    "f": ("ph",),
    "ph": ("f",),
    "j": ("g",),
    "g": ("j",),
    "i": ("y",),
    "y": ("i",),
    "w": ("v",),
    "v": ("w",),
}


@lru_cache(maxsize=65536)
def fold(value: str) -> str:
    """Lower case, accents removed, letters only: "Ordóñez" -> "ordonez"."""
    decomposed = unicodedata.normalize("NFKD", value)
    return re.sub(r"[^a-z]", "", "".join(c for c in decomposed if not unicodedata.combining(c)).lower())


def name_tokens(value: str) -> list[str]:
    return [t for t in (fold(part) for part in re.split(r"[\s,\-']+", value)) if t]


def prefixes(token: str) -> set[str]:
    """The starts-with probes for one typed name (see the module docstring)."""
    found = {token[:2]} if len(token) >= 2 else {token}
    if len(token) >= 3:
        found.add(token[0] + token[2])
    for start, alikes in _SOUND_ALIKE.items():
        if token.startswith(start):
            found.update(alike + token[len(start) : len(start) + 1] for alike in alikes)
    return found


def similarity(typed: str, stored: str) -> float:
    """0-100: the better of edit similarity and "sounds the same" (equal Metaphone: 90)."""
    score = fuzz.ratio(typed, stored)
    if typed and stored and jellyfish.metaphone(typed) == jellyfish.metaphone(stored):
        score = max(score, 90.0)
    if len(typed) >= 3 and stored.startswith(typed):
        score = max(score, 85.0)
    return float(score)


def score(tokens: list[str], patient: dict[str, Any]) -> float:
    """How well the typed names match the patient's names: the mean, over typed names, of the
    best similarity with any of the patient's given or family names."""
    stored = [
        t
        for n in patient.get("name", [])
        for part in [n.get("family", ""), *n.get("given", [])]
        for t in name_tokens(str(part))
    ]
    if not stored:
        return 0.0
    return sum(max(similarity(t, s) for s in stored) for t in tokens) / len(tokens)
