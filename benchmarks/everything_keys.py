"""The key look-up of ``Patient/$everything`` on a loaded database, beside its floor.

Prints one JSON object: for the patient with the largest compartment (or ``--patient``), the
time of ``store.versions.everything_keys`` (the patient, its compartment, and the
practitioners, organizations, locations and medications it references) and, in the same run
on the same connection, the time of the bare compartment query (one indexed look-up by
``patient_id``): the floor the full look-up is compared with. Runs on a database loaded by
``benchmarks/api.py --keep`` (SQLite file or PostgreSQL URL).

    python benchmarks/everything_keys.py sqlite:////tmp/apibench/api-10000.db [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from sqlalchemy import func, select

from chartkeeper.store import versions
from chartkeeper.store.models import UNRESTRICTED, EverythingScope
from chartkeeper.store.repository import Store
from chartkeeper.store.schema import resource


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--patient", help="Patient id (default: the largest compartment)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    store = Store.open(args.database_url)
    with store.reading() as conn:
        patient = (
            args.patient
            or conn.execute(
                select(resource.c.patient_id)
                .where(resource.c.patient_id.is_not(None))
                .group_by(resource.c.patient_id)
                .order_by(func.count().desc())
                .limit(1)
            ).scalar_one()
        )
        members = select(resource.c.pk).where(resource.c.patient_id == patient, resource.c.deleted.is_(False))
        full: list[float] = []
        floor: list[float] = []
        keys: list[int] = []
        for _ in range(args.runs + 1):  # the first run warms the cache and is not counted
            started = time.perf_counter()
            keys = versions.everything_keys(conn, EverythingScope(patient, UNRESTRICTED))
            full.append(time.perf_counter() - started)
            started = time.perf_counter()
            conn.execute(members).all()
            floor.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "database": store.dialect,
                "patient": patient,
                "keys": len(keys),
                "everything_keys": _ms(full[1:]),
                "compartment_query_floor": _ms(floor[1:]),
            },
            indent=2,
        )
    )
    store.close()


if __name__ == "__main__":
    main()
