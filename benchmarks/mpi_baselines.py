"""The two baselines of benchmarks/mpi.py, exactly as their projects document them for FEBRL.

* Splink: the FEBRL3 (dedupe) and FEBRL4 (link) example notebooks of Splink's documentation
  (docs/demos/examples/duckdb/febrl3 and febrl4, "detailed model"), on the FEBRL data shipped in
  the ``recordlinkage`` package (the notebooks download the same files).
* recordlinkage toolkit: its documented "link two datasets" / "deduplication" recipe (block on
  given name; exact given name, date of birth, suburb, state; Jaro-Winkler >= 0.85 on surname
  and address; a match when more than 3 agree), and the same features classified by its
  unsupervised ECM classifier. The better of the two is reported as the toolkit's best.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import duckdb
import pandas as pd


def _splink_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index().rename(columns={"index": "rec_id"})
    out.columns = [c.strip() for c in out.columns]
    for col in ("date_of_birth", "soc_sec_id", "postcode"):
        out[col] = out[col].astype("string").str.strip()
    out["cluster"] = out["rec_id"].str.extract(r"^([^-]+-[^-]+)", expand=False)
    return out


def splink_febrl(frames: list[pd.DataFrame]) -> tuple[list[tuple[str, str, float]], float]:
    """Splink's documented example for FEBRL3 (one frame) or FEBRL4 (two frames)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    dfs = [_splink_frame(f) for f in frames]
    api = DuckDBAPI(connection=duckdb.connect())
    if len(dfs) == 1:
        blocking = [block_on(c) for c in ("soc_sec_id", "given_name", "surname", "date_of_birth", "postcode")]
        settings = SettingsCreator(
            unique_id_column_name="rec_id",
            link_type="dedupe_only",
            blocking_rules_to_generate_predictions=blocking,
            comparisons=[
                cl.NameComparison("given_name"),
                cl.NameComparison("surname"),
                cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
                cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
                cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            ],
            retain_intermediate_calculation_columns=True,
        )
        deterministic: list[Any] = [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
        ]
        recall, em = 0.9, [block_on("date_of_birth"), block_on("postcode")]
    else:
        blocking = [
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ]
        settings = SettingsCreator(
            unique_id_column_name="rec_id",
            link_type="link_only",
            blocking_rules_to_generate_predictions=blocking,
            comparisons=[
                cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
                cl.NameComparison("surname").configure(term_frequency_adjustments=True),
                cl.DateOfBirthComparison(
                    "date_of_birth",
                    input_is_string=True,
                    datetime_format="%Y%m%d",
                    invalid_dates_as_null=True,
                ),
                cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
                cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                    term_frequency_adjustments=True
                ),
            ],
            retain_intermediate_calculation_columns=True,
        )
        deterministic = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
        recall, em = 0.8, [block_on("date_of_birth"), block_on("postcode")]
    linker = Linker([api.register(d) for d in dfs], settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    for rule in em:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=len(dfs) == 2
        )
    pred = linker.inference.predict(threshold_match_probability=0.2).as_pandas_dataframe()
    pairs = [
        (str(a), str(b), float(p))
        for a, b, p in zip(pred.rec_id_l, pred.rec_id_r, pred.match_probability, strict=True)
    ]
    return pairs, time.perf_counter() - started


def recordlinkage_febrl(frames: list[pd.DataFrame]) -> dict[str, tuple[set[tuple[str, str]], float]]:
    """The toolkit's documented recipe: (rule: sum > 3) and (ECM classifier) on the same features."""
    import recordlinkage

    started = time.perf_counter()
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    pairs = indexer.index(*frames)
    compare = recordlinkage.Compare()
    compare.exact("given_name", "given_name", label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", threshold=0.85, label="address_1")
    features = compare.compute(pairs, *frames)
    shared = time.perf_counter() - started
    rule = features[features.sum(axis=1) > 3].index
    ecm_start = time.perf_counter()
    ecm = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
    ecm_seconds = time.perf_counter() - ecm_start
    as_pairs = lambda index: {(str(a), str(b)) for a, b in index}  # noqa: E731
    return {"rule": (as_pairs(rule), shared), "ecm": (as_pairs(ecm), shared + ecm_seconds)}
