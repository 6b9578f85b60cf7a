"""What the audit trail costs per access, against the cheapest durable write in the same run.

Prints one JSON object. For each database it measures, per record:
``prepare`` (build the AuditEvent, validate it, extract its index rows: no database),
``record`` (``AuditTrail.record``: prepare + its own transaction with the resource, version,
index rows and chain link, committed), and the peer ``raw_insert``: one ~1 KB JSON row
inserted and committed in its own transaction with SQLAlchemy Core on the same engine —
the floor for "written durably before the response". ``verify`` is the chain check per record.

    python benchmarks/audit.py [--n 2000] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Column, Integer, MetaData, Table, Text, create_engine, insert, text

from chartkeeper.security.audit import AuditTrail, audit_write
from chartkeeper.security.audit_batch import GroupCommitAuditTrail
from chartkeeper.security.audit_event import build_audit_event
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store.repository import Store

CALLER = Caller(
    subject="user/cora",
    kind="user",
    display="Cora Coder",
    scopes=ScopeSet.parse("user/Observation.rs"),
    source_address="10.1.2.3",
    purpose_of_use="HOPERAT",
)


def event(i: int) -> AccessEvent:
    return AccessEvent(
        CALLER, "read", "success", (f"Observation/obs-{i}/_history/1",), (f"patient-{i % 97}",)
    )


def per_us(seconds: float, n: int) -> float:
    return round(seconds / n * 1e6, 1)


def measure(url: str, n: int) -> dict[str, Any]:
    store = Store.open(url)
    store.init()
    trail = AuditTrail(store)
    for i in range(50):  # warm up caches, the connection pool, validators
        trail.record(event(i))

    start = time.perf_counter()
    for i in range(n):
        audit_write(build_audit_event(event(i), str(uuid.uuid4()), 0))
    prepare = time.perf_counter() - start

    start = time.perf_counter()
    for i in range(n):
        trail.record(event(i))
    record = time.perf_counter() - start

    group = GroupCommitAuditTrail(trail)
    threads = 16
    workers = [
        threading.Thread(target=lambda k=k: [group.record(event(k * n + i)) for i in range(n // threads)])
        for k in range(threads)
    ]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    grouped = time.perf_counter() - start
    grouped_n = threads * (n // threads)

    raw_table = Table("bench_raw", MetaData(), Column("pk", Integer, primary_key=True), Column("doc", Text))
    raw_table.create(store.engine, checkfirst=True)
    doc = orjson.dumps(build_audit_event(event(0), str(uuid.uuid4()), 0)).decode()
    start = time.perf_counter()
    for _ in range(n):
        with store.engine.begin() as conn:
            conn.execute(insert(raw_table).values(doc=doc))
    raw = time.perf_counter() - start

    start = time.perf_counter()
    report = trail.verify_chain()
    verify = time.perf_counter() - start
    assert report.ok, report.problems
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_raw"))
    store.close()
    return {
        "records": n,
        "document_bytes": len(doc),
        "prepare_us": per_us(prepare, n),
        "record_us": per_us(record, n),
        "raw_insert_us": per_us(raw, n),
        "record_over_raw": round(record / raw, 2),
        "group_commit_threads": threads,
        "group_commit_us": per_us(grouped, grouped_n),
        "group_commit_records_per_s": round(grouped_n / grouped),
        "group_commit_batches": group.batches,
        "verify_us": per_us(verify, report.records),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--pg", help="PostgreSQL admin URL; a scratch database is created and dropped")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite_wal"] = measure(f"sqlite:///{Path(tmp) / 'audit.db'}", args.n)
    if args.pg:
        admin_url = args.pg.replace("postgresql://", "postgresql+psycopg://", 1)
        name = f"ck_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            out["postgresql"] = measure(admin_url.rsplit("/", 1)[0] + f"/{name}", args.n)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
