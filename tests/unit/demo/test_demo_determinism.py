"""The demo population's exact content is pinned: a refactor must not silently change the data.

Populations are reproducible from (patients, seed) alone, and tests, demos and benchmarks elsewhere
rely on that (planted truth, known patient ids). If a change to the generator is *meant* to change
the data, update the constants below in the same commit and say so in its message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson
import pytest

from chartkeeper.demo import demo_truth, generate_bundles, generator, planted_duplicates
from chartkeeper.demo.generator import FREQUENT_SLOT, Generator

# sha256 over orjson.dumps of each item, in order.
BUNDLES_30_SEED_1 = "b6976b1db1f1253dde4b988a20b90ca1e1ba6ba94c65d0acca0985479fe9e1b8"
TRUTH_30_SEED_1 = "de0eba73bb3256ca66302d9fd3c527e38a7b9c091e812ae1191fb681e0f3eed9"
# The same population before frequent patients existed (no slot frequent).
BUNDLES_30_SEED_1_NO_FREQUENT = "e214d70984a24a39ed873bc87d32ad26f06adc9dfeae4c7c7d7800914e73fc7e"
DUPLICATES_2000_SEED_1 = "a37b1e01cb9053c02d280a6cdbfb0b2912b9f90d2f9665bb1858ac3a19cc770a"
TWIN_SLOT = 807  # the first twin registration of a 3000-patient population with seed 1
TWIN_BUNDLE = "e8d9f0a31f7caef7efc2e787eef196ac61a1fd67ad974f55d5a19773f3fe0323"


def _sha256(items: Iterable[Any]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(orjson.dumps(item))
    return digest.hexdigest()


def test_small_population_is_pinned() -> None:
    assert _sha256(generate_bundles(30, 1)) == BUNDLES_30_SEED_1


def test_a_frequent_patient_changes_only_its_own_chart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slot 7 is followed closely (a chart of 1,000+ resources for the chart page and
    ``$everything`` to be measured on); choosing it by slot leaves every other chart as it was."""
    frequent = Generator(30, 1, 200, None).patient_bundle(FREQUENT_SLOT)
    assert len(frequent["entry"]) >= 1_000
    monkeypatch.setattr(generator, "FREQUENT_SLOT", -1)
    assert len(Generator(30, 1, 200, None).patient_bundle(FREQUENT_SLOT)["entry"]) < 1_000
    assert _sha256(generate_bundles(30, 1)) == BUNDLES_30_SEED_1_NO_FREQUENT


def test_planted_truth_is_pinned() -> None:
    assert _sha256([demo_truth(30, 1).to_dict()]) == TRUTH_30_SEED_1


def test_duplicate_variations_are_pinned() -> None:
    """177 duplicates: covers the variation kinds that 30 patients are too few to reach."""
    pairs = planted_duplicates(2000, 1)
    assert len(pairs) == 177
    assert _sha256(pairs) == DUPLICATES_2000_SEED_1


def test_twin_registration_is_pinned() -> None:
    assert Generator(3000, 1, 200, None).role(TWIN_SLOT) == ("twin", 470)
    bundles = generate_bundles(3000, 1, start=TWIN_SLOT, stop=TWIN_SLOT + 1, include_shared=False)
    assert _sha256(bundles) == TWIN_BUNDLE
