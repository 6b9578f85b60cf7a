"""C-CDA intake throughput, with the raw lxml parse rate of the same documents as the limit.

Prints one JSON object. The shared C-CDA samples that Chartkeeper accepts are copied ``--copies``
times (each copy differs by a trailing comment, so it is a new document with its own resources,
about the same patients and authors — as a feed of new documents for known patients is) and
ingested with ``chartkeeper ingest`` (safe parse, mapping, validation, conditional matching,
indexing, versioning, write; default workers). In the same run, on one core: the raw lxml parse
rate of the same bytes (the limit no C-CDA intake can pass) and the parse + map rate.

    python benchmarks/ccda.py [--copies 20] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from lxml import etree

from chartkeeper.intake.ccda import CcdaError, map_document
from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store

ROOT = Path(__file__).resolve().parents[1]
CCDA = ROOT.parent / "shared" / "data" / "ccda"


def accepted_samples() -> list[bytes]:
    docs = []
    for path in sorted(p for p in CCDA.rglob("*") if p.is_file() and not p.name.endswith(".json")):
        raw = path.read_bytes()
        try:
            map_document(raw)
        except CcdaError:
            continue
        docs.append(raw)
    return docs


def write_copies(docs: list[bytes], copies: int, folder: Path) -> list[bytes]:
    written = []
    for n in range(copies):
        for i, raw in enumerate(docs):
            data = raw + f"\n<!-- copy {n} -->\n".encode()
            (folder / f"c{n:04d}-{i:02d}.xml").write_bytes(data)
            written.append(data)
    return written


def lxml_rate(docs: list[bytes]) -> float:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    started = time.perf_counter()
    for raw in docs:
        etree.fromstring(raw, parser)
    return len(docs) / (time.perf_counter() - started)


def map_rate(docs: list[bytes]) -> tuple[float, int]:
    started = time.perf_counter()
    resources = sum(len(map_document(raw).bundle["entry"]) for raw in docs)
    return len(docs) / (time.perf_counter() - started), resources


def run_ingest(url: str, folder: Path, documents: int) -> dict[str, object]:
    store = Store.open(url)
    store.init()
    report = ingest(store, [folder]).as_json()
    store.close()
    written = report["created"] + report["updated"] + report["unchanged"]
    seconds = report["seconds"]
    return {
        "documents": documents,
        "rejected": report["rejected"],
        "resources_written": written,
        "seconds": seconds,
        "documents_per_s": round(documents / seconds, 1),
        "resources_per_s": round(written / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--pg", default=None, help="PostgreSQL admin URL; a scratch database is made")
    args = parser.parse_args()
    samples = accepted_samples()
    out: dict[str, object] = {"samples": len(samples), "copies": args.copies}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        docs = write_copies(samples, args.copies, folder)
        out["megabytes"] = round(sum(map(len, docs)) / 1e6, 1)
        out["lxml_parse_docs_per_s_one_core"] = round(lxml_rate(docs), 1)
        rate, resources = map_rate(docs[: len(samples) * 2])
        out["parse_and_map_docs_per_s_one_core"] = round(rate, 1)
        out["resources_per_document"] = round(resources / (len(samples) * 2), 1)
        sqlite = run_ingest(f"sqlite:///{tmp}/bench.db", folder, len(docs))
        sqlite["ratio_to_lxml_parse"] = round(
            float(sqlite["documents_per_s"]) / out["lxml_parse_docs_per_s_one_core"], 4
        )  # type: ignore[arg-type]
        out["sqlite"] = sqlite
        if args.pg:
            name = f"ck_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True) as con:
                con.execute(f'CREATE DATABASE "{name}"')
            try:
                url = args.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
                out["postgresql"] = run_ingest(url, folder, len(docs))
            finally:
                with psycopg.connect(args.pg, autocommit=True) as con:
                    con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(out))


if __name__ == "__main__":
    main()
