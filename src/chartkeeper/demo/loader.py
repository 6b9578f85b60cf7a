"""Loading a generated demo population through the normal intake path (no shortcut)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson

from chartkeeper.demo import generate_bundles
from chartkeeper.intake.models import DocumentUnit, IngestReport
from chartkeeper.intake.service import ingest_units
from chartkeeper.store.repository import Store


def load_demo(
    store: Store,
    patients: int,
    seed: int = 1,
    *,
    workers: int = 0,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Generate ``patients`` patients for ``seed`` and ingest them; progress counts patients."""

    def units() -> Iterator[DocumentUnit]:
        for number, bundle in enumerate(generate_bundles(patients, seed)):
            yield DocumentUnit(f"demo(seed={seed})/bundle-{number}", orjson.dumps(bundle))

    def advance(_bytes: int) -> None:
        if progress is not None:
            progress(1)

    report = IngestReport()
    return ingest_units(store, units(), report, workers=workers, progress=advance)
