"""``export``: every current resource as NDJSON, one file per type, plus a Bulk Data manifest.

The layout is what a FHIR Bulk Data ``$export`` produces (``Patient.ndjson`` ...), and the
manifest mirrors its completion response, so the folder can be handed to any bulk importer,
including ``chartkeeper ingest``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from chartkeeper.fhir.instant import format_instant, now_us
from chartkeeper.store.repository import Store


@dataclass
class ExportReport:
    folder: Path
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def manifest(self, transaction_time: str) -> dict[str, Any]:
        return {
            "transactionTime": transaction_time,
            "request": "chartkeeper export",
            "requiresAccessToken": False,
            "output": [{"type": t, "url": f"{t}.ndjson", "count": n} for t, n in sorted(self.counts.items())],
            "error": [],
        }


def export_ndjson(
    store: Store, folder: Path, types: list[str] | None = None, since: int | None = None
) -> ExportReport:
    """Write ``<Type>.ndjson`` for each type present (or asked for) into ``folder``."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    transaction_time = format_instant(now_us())
    report = ExportReport(folder)
    handles: dict[str, IO[bytes]] = {}
    try:
        wanted = set(types) if types else None
        for version in store.iter_current(since=since):
            if wanted is not None and version.res_type not in wanted:
                continue
            handle = handles.get(version.res_type)
            if handle is None:
                handle = handles[version.res_type] = (folder / f"{version.res_type}.ndjson").open("wb")
            handle.write(orjson.dumps(version.content) + b"\n")
            report.counts[version.res_type] = report.counts.get(version.res_type, 0) + 1
    finally:
        for handle in handles.values():
            handle.close()
    manifest = report.manifest(transaction_time)
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    report.seconds = time.perf_counter() - started
    return report
