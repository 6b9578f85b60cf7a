"""The matching model's design as data: comparisons, blocking rules and training plan.

Splink turns this into SQL only when a backend (DuckDB, Spark) is chosen, so the same model
runs on both and is stored, versioned, as JSON (``mpi_model``). Bump :data:`DESIGN_VERSION`
whenever a comparison or blocking rule changes: a stored model trained on an older design is
then retrained instead of being read with columns it does not know.

Why these comparisons (each measured on FEBRL3/4 and the demo population, docs/mpi.md):

* names: exact (with term-frequency adjustment: a shared "Smith" says less than a shared
  "Szczepanski"), Jaro-Winkler ≥ 0.92 / ≥ 0.80, metaphone equal, and given/family swapped;
  the family name also matches a recorded maiden name (married-name re-registrations).
* birth date: exact, day and month transposed, one edit (a keying error), within a month,
  within a year.
* SSN: exact, one or two edits (transposed digits); street and house number, city, postal
  code (term-frequency adjusted), phone, e-mail, sex.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

DESIGN_VERSION = 2

#: Pairs sharing all columns of any of these keys are compared; every other pair is a non-match
#: without a look. Each key is narrow enough for 1M patients on one machine (design 2 split the
#: name, phone and postal-code + family keys, which grow quadratically with the population:
#: 55 M pairs from postal code + family name alone at 1M); together they catch one error anywhere (a typo in a name is caught by SSN, by birth date + the other name, ...).
#: The real-time lookup uses the very same keys (``keys.py``), so both paths see the same pairs.
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("ssn",),
    ("given_name", "family_name", "birth_year"),
    ("given_name", "family_name", "postal_code"),
    ("given_name", "family_name", "house_number"),
    ("given_name", "family_name", "city"),
    ("birth_date", "family_phonetic"),
    ("birth_date", "given_phonetic"),
    ("birth_date", "postal_code"),
    ("birth_date", "house_number"),
    ("birth_date", "city"),
    ("birth_year", "house_number", "street"),
    ("birth_year", "given_name", "postal_code"),
    ("phone", "given_phonetic"),
    ("phone", "birth_year"),
    ("email",),
    ("postal_code", "house_number", "given_phonetic"),
    ("postal_code", "family_name", "birth_year"),
    ("postal_code", "family_name", "given_phonetic"),
    ("postal_code", "family_name", "house_number"),
)
#: Given and family name recorded the wrong way round (looked up as the swapped name key).
SWAPPED_NAMES = "l.given_name = r.family_name and l.family_name = r.given_name"
BLOCKING_RULES: list[Any] = [block_on(*key) for key in BLOCKING_KEYS] + [SWAPPED_NAMES]

#: High-precision rules used to estimate how often two random records match (Splink's method).
DETERMINISTIC_RULES: list[Any] = [
    block_on("ssn"),
    block_on("given_name", "family_name", "birth_date"),
    "l.given_name = r.family_name and l.family_name = r.given_name and l.birth_date = r.birth_date",
]
DETERMINISTIC_RECALL = 0.8

#: Blocking rules for the EM sessions: each leaves the other comparisons free to be estimated.
EM_RULES: list[Any] = [block_on("birth_date"), block_on("postal_code", "family_phonetic")]


def _name(col: str, phonetic_col: str, other: str) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=col,
        comparison_levels=[
            cll.NullLevel(col),
            cll.ExactMatchLevel(col).configure(tf_adjustment_column=col, tf_adjustment_weight=1.0),
            cll.JaroWinklerLevel(col, 0.92),
            cll.CustomLevel(f"{phonetic_col}_l = {phonetic_col}_r", "phonetic match"),
            cll.ColumnsReversedLevel(col, other),
            cll.JaroWinklerLevel(col, 0.80),
            cll.ElseLevel(),
        ],
        comparison_description=f"{col}: exact, Jaro-Winkler, metaphone, swapped",
    )


def _family() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="family_name",
        comparison_levels=[
            cll.NullLevel("family_name"),
            cll.ExactMatchLevel("family_name").configure(
                tf_adjustment_column="family_name", tf_adjustment_weight=1.0
            ),
            cll.JaroWinklerLevel("family_name", 0.92),
            cll.CustomLevel("family_phonetic_l = family_phonetic_r", "phonetic match"),
            cll.CustomLevel(
                "family_name_l = maiden_name_r or maiden_name_l = family_name_r", "maiden name match"
            ),
            cll.ColumnsReversedLevel("family_name", "given_name"),
            cll.JaroWinklerLevel("family_name", 0.80),
            cll.ElseLevel(),
        ],
        comparison_description="family_name: exact, Jaro-Winkler, metaphone, maiden name, swapped",
    )


_SWAPPED = (
    "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4) "
    "and substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) "
    "and substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2)"
)


def _birth_date() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            cll.CustomLevel(_SWAPPED, "day and month transposed"),
            cll.DamerauLevenshteinLevel("birth_date", 1),
            cll.AbsoluteDateDifferenceLevel("birth_date", input_is_string=True, threshold=1, metric="month"),
            cll.AbsoluteDateDifferenceLevel("birth_date", input_is_string=True, threshold=1, metric="year"),
            cll.ElseLevel(),
        ],
        comparison_description="birth_date: exact, transposed, one edit, within a month, a year",
    )


def _levels(col: str, edits: list[int], tf: bool = False) -> cl.CustomComparison:
    exact: Any = cll.ExactMatchLevel(col)
    if tf:
        exact = exact.configure(tf_adjustment_column=col, tf_adjustment_weight=1.0)
    return cl.CustomComparison(
        output_column_name=col,
        comparison_levels=[
            cll.NullLevel(col),
            exact,
            *[cll.DamerauLevenshteinLevel(col, n) for n in edits],
            cll.ElseLevel(),
        ],
        comparison_description=f"{col}: exact" + "".join(f", {n} edit(s)" for n in edits),
    )


def _street() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="street",
        comparison_levels=[
            cll.NullLevel("street"),
            cll.ExactMatchLevel("street").configure(tf_adjustment_column="street", tf_adjustment_weight=1.0),
            cll.JaroWinklerLevel("street", 0.9),
            cll.ElseLevel(),
        ],
        comparison_description="street: exact, Jaro-Winkler >= 0.9",
    )


def comparisons() -> list[Any]:
    return [
        _name("given_name", "given_phonetic", "family_name"),
        _family(),
        _birth_date(),
        _levels("ssn", [1, 2]),
        cl.ExactMatch("sex"),
        _levels("house_number", [1], tf=True),
        _street(),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        _levels("postal_code", [1], tf=True),
        _levels("phone", [1]),
        cl.ExactMatch("email"),
    ]


def settings_creator() -> SettingsCreator:
    """The untrained model (m/u still at their defaults)."""
    return SettingsCreator(
        unique_id_column_name="unique_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=BLOCKING_RULES,
        comparisons=comparisons(),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,  # Splink keeps the gamma (level) columns only with these
        additional_columns_to_retain=[],
    )
