"""The hot searches are index look-ups on both databases, never a walk over a whole type.

SQLite: EXPLAIN QUERY PLAN of a fresh database (no statistics, the planner's worst case)
must drive from a parameter's index and probe the other parameters by key. PostgreSQL plans
from statistics, which an empty database lacks, so with sequential scans priced out the plan
must still find an index for every table it reads (proof that the indexes exist and fit).
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from chartkeeper.coding.hierarchy import with_icd10cm
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.fhir.search.terminology import default_terminology
from chartkeeper.store import migrate
from chartkeeper.store.engine import open_engine
from chartkeeper.store.models import UNRESTRICTED
from chartkeeper.store.search.run import page_statement

HOT = [
    ("Patient", [("family", "smith"), ("birthdate", "1970-01-01")]),
    ("Observation", [("patient", "p1"), ("code", "http://loinc.org|8302-2"), ("date", "ge2020")]),
    ("Observation", [("patient", "Patient/p1"), ("_sort", "-date"), ("_count", "50")]),
    ("Encounter", [("_id", "e1,e2")]),
    ("Condition", [("code:below", "http://hl7.org/fhir/sid/icd-10-cm|E11")]),
    ("Condition", [("code:in", "http://hl7.org/fhir/ValueSet/condition-clinical")]),
    ("Patient", [("identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345")]),
    ("Observation", [("subject:identifier", "http://hl7.org/fhir/sid/us-ssn|999-99-9999")]),
]
TERMS = with_icd10cm(default_terminology())


def _plan(engine: Engine, res_type: str, params: list[tuple[str, str]]) -> str:
    statement = page_statement(parse_search(res_type, params, terminology=TERMS), UNRESTRICTED, 21, 0)
    sql = str(
        statement.compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True, "render_postcompile": True}
        )
    )
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "\n".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        conn.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(str(row[0]) for row in conn.exec_driver_sql("EXPLAIN " + sql))


@pytest.mark.parametrize(("res_type", "params"), HOT)
def test_hot_searches_use_indexes(database_url: str, res_type: str, params: list[tuple[str, str]]) -> None:
    engine = open_engine(database_url)
    try:
        migrate.upgrade(engine)
        plan = _plan(engine, res_type, params)
    finally:
        engine.dispose()
    if engine.dialect.name == "sqlite":
        assert "SCAN " not in plan, plan
        assert "SEARCH resource USING INTEGER PRIMARY KEY" in plan or "sqlite_autoindex_resource_1" in plan, (
            plan
        )
    else:
        assert "Seq Scan" not in plan, plan


def test_prefix_columns_compare_in_code_point_order(database_url: str) -> None:
    """Prefix search is an index range, exact only in code-point order (migration 0003)."""
    engine = open_engine(database_url)
    try:
        migrate.upgrade(engine)
        if engine.dialect.name != "postgresql":
            return  # SQLite's default BINARY collation is code-point order
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                " WHERE (table_name, column_name) IN (('idx_string', 'value_normalized'), ('idx_uri', 'uri'))"
            ).all()
    finally:
        engine.dispose()
    assert sorted(rows) == [("idx_string", "value_normalized", "C"), ("idx_uri", "uri", "C")]
