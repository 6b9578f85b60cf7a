"""Splink, the established Fellegi-Sunter engine, on DuckDB (default) or Spark (large populations).

Everything here works on comparison records (see ``features``) and the model as JSON, never on
the store: the scan and the real-time path read and write the database, this module computes.
Training follows Splink's documented recipe: the prior from high-precision rules, u by random
sampling, m by expectation maximisation over blocked pairs (term-frequency adjustment applied
at prediction).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

import pandas as pd
from splink import DuckDBAPI, Linker

from chartkeeper.mpi import settings as design
from chartkeeper.mpi.features import COLUMNS

#: Columns whose exact matches are term-frequency adjusted (kept in sync with ``settings``).
TF_COLUMNS = ("given_name", "family_name", "house_number", "street", "city", "postal_code")
_QUIET = logging.ERROR


class DatabaseApi(Protocol):
    def register(self, table: Any, **kwargs: Any) -> Any: ...


def duckdb_api(threads: int = 2, memory_limit: str = "6GB") -> DuckDBAPI:
    """An in-memory DuckDB with the machine's limits set (2 cores, a memory ceiling)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads={int(threads)}")
    con.execute(f"SET memory_limit='{memory_limit}'")
    con.execute("SET preserve_insertion_order=false")
    return DuckDBAPI(connection=con)


def local_spark(cores: int = 2, memory: str = "2g") -> Any:
    """A local Spark session with Splink's similarity UDFs (Jaro-Winkler, Damerau-Levenshtein)."""
    import tempfile

    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("chartkeeper-mpi")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="chartkeeper-spark-"))  # Splink checkpoints
    return spark


def spark_api(spark: Any) -> Any:
    """Splink on a Spark session (for populations beyond one machine's memory)."""
    from splink import SparkAPI

    return SparkAPI(spark_session=spark, num_partitions_on_repartition=8)  # type: ignore[no-untyped-call]


def frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Comparison records as a table with every column present, as strings."""
    df = pd.DataFrame.from_records(list(records), columns=list(COLUMNS))
    return df.astype(object).where(df.notna(), None)


def _register(api: Any, df: pd.DataFrame) -> Any:
    if type(api).__name__ == "SparkAPI":
        from pyspark.sql.types import StringType, StructField, StructType

        schema = StructType([StructField(c, StringType(), True) for c in COLUMNS])
        return api.register(api.spark.createDataFrame(df, schema=schema))
    return api.register(df)


def train(df: pd.DataFrame, api: Any, seed: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    """Estimate the model on these records: (Splink model JSON, a summary of the training)."""
    started = time.perf_counter()
    linker = Linker(_register(api, df), design.settings_creator(), log_level=_QUIET)
    linker.training.estimate_probability_two_random_records_match(
        design.DETERMINISTIC_RULES, recall=design.DETERMINISTIC_RECALL
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    sessions = []
    for rule in design.EM_RULES:
        name = rule if isinstance(rule, str) else rule.get_blocking_rule("duckdb").blocking_rule_sql
        before = linker.misc.save_model_to_json()
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
        except ValueError as exc:
            # Too few pairs for some level (small stores). Splink leaves a failed session's
            # reduced settings behind, so continue from the model as it was before it.
            sessions.append({"blocking": name, "error": str(exc).splitlines()[0]})
            linker = Linker(_register(api, df), before, log_level=_QUIET)
        else:
            sessions.append({"blocking": name, "error": None})
    model = linker.misc.save_model_to_json()
    summary = {
        "em_sessions": sessions,
        "engine": "splink-" + type(api).__name__,
        "records": len(df),
        "seconds": round(time.perf_counter() - started, 2),
        "probability_two_random_records_match": model.get("probability_two_random_records_match"),
    }
    return model, summary


def for_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The stored model rendered for another SQL dialect: the design's SQL in that dialect with
    the trained parameters (m, u, the prior) copied level by level. The stored JSON is DuckDB's."""
    if dialect == model.get("sql_dialect"):
        return model
    out: dict[str, Any] = design.settings_creator().get_settings(dialect).as_dict()  # type: ignore[no-untyped-call]
    out["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    for mine, trained in zip(out["comparisons"], model["comparisons"], strict=True):
        for level, learned in zip(mine["comparison_levels"], trained["comparison_levels"], strict=True):
            for key in ("m_probability", "u_probability"):
                if key in learned:
                    level[key] = learned[key]
    return out


def predict(model: dict[str, Any], df: pd.DataFrame, api: Any, min_probability: float) -> pd.DataFrame:
    """Every blocked pair scoring at least ``min_probability``: ids, probability, weight, gammas."""
    if type(api).__name__ == "SparkAPI":
        model = for_dialect(model, "spark")
    linker = Linker(_register(api, df), model, log_level=_QUIET)
    result = linker.inference.predict(threshold_match_probability=min_probability)
    wanted = ["unique_id_l", "unique_id_r", "match_probability", "match_weight"]
    wanted += [f"gamma_{c['output_column_name']}" for c in model["comparisons"]]
    if type(api).__name__ == "SparkAPI":
        out = result.as_spark_dataframe().select(*wanted).toPandas()
    else:
        out = result.as_duckdbpyrelation().select(*wanted).df()
    result.drop_table_from_database_and_remove_from_cache()
    return out


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Per comparison, its gamma value → the level's label (Splink numbers non-null levels
    from n-1 down to 0 in order, the null level -1)."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        by_value: dict[int, str] = {-1: "missing"}
        for rank, level in enumerate(non_null):
            by_value[len(non_null) - 1 - rank] = str(level.get("label_for_charts") or level["sql_condition"])
        labels[comparison["output_column_name"]] = by_value
    return labels


def term_frequencies(df: pd.DataFrame) -> list[tuple[str, str, float]]:
    """(column, value, share of non-null values): Splink's own definition of a term frequency."""
    rows: list[tuple[str, str, float]] = []
    for col in TF_COLUMNS:
        counts = df[col].dropna().value_counts(normalize=True)
        rows.extend((col, str(value)[:255], float(share)) for value, share in counts.items())
    return rows


class PairScorer:
    """Scores one record against a few candidates with a stored model (the real-time path).

    Uses Splink's ``compare_records`` with its SQL cached per model version (building the SQL
    costs far more than running it on a handful of rows) on one warm DuckDB connection. Term
    frequencies travel with the records as ``tf_<column>`` values.
    """

    def __init__(self, model: dict[str, Any], cache_key: str) -> None:
        import duckdb

        self.model = model
        self.cache_key = cache_key
        self.con = duckdb.connect()
        self.con.execute("SET threads=1")
        self.api = DuckDBAPI(connection=self.con)

    def score(self, left: dict[str, Any], right: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        from splink.internals.realtime import compare_records

        if not right:
            return []
        result = compare_records([left], list(right), self.model, self.api, sql_cache_key=self.cache_key)
        rows: list[dict[str, Any]] = result.as_record_list()
        self._clear()
        return rows

    def score_pairs(self, pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
        """Score many (left, right) pairs in one Splink call (a bulk ingest's batch): each pair
        is numbered on both sides and joined on that number, so no cross product is scored."""
        from splink.internals.realtime import compare_records

        if not pairs:
            return []
        left = [{**a, "pair_no": n} for n, (a, _b) in enumerate(pairs)]
        right = [{**b, "pair_no": n} for n, (_a, b) in enumerate(pairs)]
        result = compare_records(
            left,
            right,
            self.model,
            self.api,
            sql_cache_key=f"{self.cache_key}-pairs",
            join_condition="l.pair_no = r.pair_no",
        )
        rows: list[dict[str, Any]] = result.as_record_list()
        self._clear()
        return rows

    def _clear(self) -> None:
        """Drop the per-call tables Splink left behind (a long-running process must not grow)."""
        con = self.con
        for name, kind in con.execute(
            "select table_name, table_type from information_schema.tables where table_name like '__splink__%'"
        ).fetchall():
            con.execute(f'DROP {"VIEW" if kind == "VIEW" else "TABLE"} IF EXISTS "{name}"')
