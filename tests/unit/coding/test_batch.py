"""Batch suggestion over forked workers: the same answers, in the same order, as one process."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from chartkeeper.coding import batch
from chartkeeper.coding.ranker_training import draw
from chartkeeper.coding.suggest import default_suggester


def test_plan_workers_follows_the_batch_size_and_the_request() -> None:
    per = batch.MIN_PER_WORKER
    assert batch.plan_workers(0, None) == 1
    assert batch.plan_workers(per - 1, 8) == 1  # too few phrases for a second process
    assert batch.plan_workers(3 * per, 2) == 2
    assert batch.plan_workers(3 * per, 8) == 3  # never more workers than the batch pays for
    assert batch.plan_workers(100 * per, 1) == 1
    assert batch.plan_workers(100 * per, 0) == min(100, batch.available_cores())


def test_workers_give_what_one_process_gives_in_order() -> None:
    suggester = default_suggester()
    index_cases, inclusion_cases = draw(130, 3)
    # typos, negation, an empty line and repeats in the mix; more phrases than one chunk per worker
    phrases = [p for _r, p, _c in index_cases] + [t for t, _c in inclusion_cases]
    phrases += ["", "diabetse mellitus type 2", "no fever, chest pain", phrases[0], "DM2"]
    assert len(phrases) > 2 * batch.MIN_PER_WORKER
    assert batch.plan_workers(len(phrases), 2) == 2
    alone = [suggester.suggest(p, 3) for p in phrases]
    together = list(batch.suggest_all(suggester, phrases, 3, workers=2))
    assert together == alone
    assert sum(1 for found in together if found) > 0.9 * len(phrases)
    assert batch._shared is None  # the parent does not keep the workers' state


def test_a_worker_that_dies_fails_the_batch_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    suggester = default_suggester()
    real = type(suggester).suggest

    def dies_on(self: object, text: str, limit: int = 5) -> object:
        if text == "poison":
            os._exit(3)  # a worker killed mid-batch (out of memory, a signal)
        return real(self, text, limit)  # type: ignore[arg-type]

    monkeypatch.setattr(type(suggester), "suggest", dies_on)
    phrases = ["fever"] * (2 * batch.MIN_PER_WORKER) + ["poison"]
    with pytest.raises(BrokenProcessPool):
        list(batch.suggest_all(suggester, phrases, 1, workers=2))
