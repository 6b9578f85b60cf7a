"""Ingest throughput against the physical write limit, on SQLite and PostgreSQL.

Prints one JSON object. For the shared Synthea set (8,395 resources) it measures
``chartkeeper ingest`` (validation, reference resolution, indexing, versioning, all in) and,
in the same run on the same machine, the raw rate of writing the same JSON documents with
plain ``executemany`` (SQLite) and ``COPY`` (PostgreSQL) — the ceiling — and the ratio.
With ``--big-gb N`` it also ingests an N GB folder (copies of the set with fresh ids) in a
child process and reports its peak memory.

    python benchmarks/ingest.py [--pg postgresql://postgres@127.0.0.1:5432/test] [--big-gb 1.0]
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-r4"
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TARGET_RATE = 10_000
TARGET_RATIO = 1 / 3
TARGET_PEAK_MB = 500


def hwm_kb() -> int:
    """This process's own peak resident memory (VmHWM), in kB."""
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM")).split()[1])


def bundle_files() -> list[Path]:
    return sorted(p for p in SYNTHEA.glob("*.json") if p.name != "COUNTS.json")


def documents() -> list[bytes]:
    docs = []
    for path in bundle_files():
        for entry in orjson.loads(path.read_bytes())["entry"]:
            docs.append(orjson.dumps(entry["resource"]))
    return docs


def raw_sqlite(docs: list[bytes], folder: Path) -> float:
    con = sqlite3.connect(folder / "raw.db")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE doc (pk INTEGER PRIMARY KEY, content TEXT NOT NULL)")
    started = time.perf_counter()
    with con:
        con.executemany("INSERT INTO doc (content) VALUES (?)", ((d.decode(),) for d in docs))
    elapsed = time.perf_counter() - started
    con.close()
    return len(docs) / elapsed


def raw_postgres(docs: list[bytes], url: str) -> float:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=False) as con:
        con.execute("CREATE TEMP TABLE doc (pk bigserial PRIMARY KEY, content jsonb NOT NULL)")
        started = time.perf_counter()
        with con.cursor() as cur, cur.copy("COPY doc (content) FROM STDIN") as copy:
            for d in docs:
                copy.write_row((d.decode(),))
        con.commit()
        elapsed = time.perf_counter() - started
    return len(docs) / elapsed


def chartkeeper_ingest(url: str, paths: list[Path]) -> dict:
    from chartkeeper.intake.service import ingest
    from chartkeeper.store.repository import Store

    store = Store.open(url)
    store.init()
    report = ingest(store, paths)
    out = report.as_json()
    store.close()
    total = out["created"] + out["updated"] + out["unchanged"]
    return {
        "resources": total,
        "rejected": out["rejected"],
        "seconds": out["seconds"],
        "resources_per_s": round(total / out["seconds"]),
    }


def fresh_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"ck_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name, name


def drop_pg_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_big_folder(folder: Path, gigabytes: float) -> tuple[int, int]:
    """Copies of the Synthea bundles, each copy with its own ids, until the folder is big enough."""
    folder.mkdir()
    originals = [p.read_bytes() for p in bundle_files()]
    size, copy = 0, 0
    while size < gigabytes * 1e9:
        prefix = f"{copy:08x}".encode()
        for number, raw in enumerate(originals):
            data = UUID.sub(lambda m, p=prefix: p + m.group(0)[8:], raw)
            (folder / f"c{copy:04d}-{number:02d}.json").write_bytes(data)
            size += len(data)
        copy += 1
    return size, copy


def big_run(gigabytes: float, folder: Path) -> dict:
    big = folder / "big"
    size, copies = make_big_folder(big, gigabytes)
    url = f"sqlite:///{folder / 'big.db'}"
    script = (
        "import resource, json\n"
        "def hwm_kb():\n"
        "    # VmHWM: this process's own peak; ru_maxrss would include the parent's RSS at fork (Linux keeps it across exec)\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
        "from chartkeeper.intake.service import ingest\n"
        "from chartkeeper.store.repository import Store\n"
        f"s = Store.open({url!r}); s.init()\n"
        f"r = ingest(s, [{str(big)!r}]).as_json()\n"
        "print(json.dumps({'report': {k: r[k] for k in ('created', 'rejected', 'seconds')},\n"
        "  'peak_main_mb': hwm_kb() / 1024,\n"
        "  'peak_worker_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "folder_bytes": size,
        "copies_of_synthea": copies,
        "resources": result["report"]["created"],
        "rejected": result["report"]["rejected"],
        "seconds": result["report"]["seconds"],
        "resources_per_s": round(result["report"]["created"] / result["report"]["seconds"]),
        "peak_main_mb": round(result["peak_main_mb"], 1),
        "peak_worker_mb": round(result["peak_worker_mb"], 1),
        "target_peak_mb": TARGET_PEAK_MB,
        "meets_target": max(result["peak_main_mb"], result["peak_worker_mb"]) < TARGET_PEAK_MB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--big-gb", type=float, default=0.0, help="also ingest a folder of this many GB")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    docs = documents()
    out: dict = {
        "dataset": "shared synthea-r4",
        "resources": len(docs),
        "cores": len(__import__("os").sched_getaffinity(0)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = raw_sqlite(docs, folder)
        ours = chartkeeper_ingest(f"sqlite:///{folder / 'ck.db'}", bundle_files())
        out["sqlite"] = {
            "chartkeeper": ours,
            "raw_executemany_docs_per_s": round(raw),
            "ratio_to_raw": round(ours["resources_per_s"] / raw, 3),
            "target_resources_per_s": TARGET_RATE,
            "target_ratio": round(TARGET_RATIO, 3),
            "meets_target": ours["resources_per_s"] >= TARGET_RATE
            and ours["resources_per_s"] / raw >= TARGET_RATIO,
        }
        if not args.skip_pg:
            raw_pg = raw_postgres(docs, args.pg)
            url, name = fresh_pg_database(args.pg)
            try:
                ours_pg = chartkeeper_ingest(url, bundle_files())
            finally:
                drop_pg_database(args.pg, name)
            out["postgresql"] = {
                "chartkeeper": ours_pg,
                "raw_copy_docs_per_s": round(raw_pg),
                "ratio_to_raw": round(ours_pg["resources_per_s"] / raw_pg, 3),
                "target_ratio": round(TARGET_RATIO, 3),
                "meets_target": ours_pg["resources_per_s"] / raw_pg >= TARGET_RATIO,
            }
        if args.big_gb > 0:
            out["big_folder"] = big_run(args.big_gb, folder)
    out["peak_rss_mb_this_process"] = round(hwm_kb() / 1024, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
