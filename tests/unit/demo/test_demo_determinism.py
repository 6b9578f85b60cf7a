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

from chartkeeper.demo import demo_truth, generate_bundles, planted_duplicates
from chartkeeper.demo.generator import Generator

# sha256 over orjson.dumps of each item, in order.
BUNDLES_30_SEED_1 = "e214d70984a24a39ed873bc87d32ad26f06adc9dfeae4c7c7d7800914e73fc7e"
TRUTH_30_SEED_1 = "73f591a0809e58e002f99fec0ec08e1ab6b63e0ec48e813472fb8ee359af797c"
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
