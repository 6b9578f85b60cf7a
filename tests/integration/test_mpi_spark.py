"""The Spark path (local[2]) gives the same pairs and scores as DuckDB for the same stored model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chartkeeper.mpi import engine
from chartkeeper.mpi.features import features
from mpi_people import population


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = engine.local_spark(cores=2, memory="1g")
    yield session
    session.stop()


@pytest.mark.slow
def test_spark_and_duckdb_find_the_same_pairs(spark: Any) -> None:
    people, truth = population(150, 15)
    df = engine.frame([features(p) for p in people])
    model, _summary = engine.train(df, engine.duckdb_api())
    on_duckdb = engine.predict(model, df, engine.duckdb_api(), 0.01)
    on_spark = engine.predict(model, df, engine.spark_api(spark), 0.01)

    def scores(frame: Any) -> dict[tuple[str, str], float]:
        return {
            tuple(sorted((str(a), str(b)))): float(p)  # type: ignore[misc]
            for a, b, p in zip(frame.unique_id_l, frame.unique_id_r, frame.match_probability, strict=True)
        }

    duck, spk = scores(on_duckdb), scores(on_spark)
    assert set(duck) == set(spk)
    assert all(abs(duck[k] - spk[k]) < 1e-6 for k in duck)
    assert len({k for k, p in duck.items() if p >= 0.5} & truth) >= 14
