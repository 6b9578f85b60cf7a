"""Writing one export job's NDJSON files, with progress and cancellation.

Runs on a background thread of the server. It reads through the Store with the requester's
AccessFilter captured at kick-off, so the export holds exactly what that caller could read.
"""

from __future__ import annotations

import logging
import threading
from typing import IO

import orjson

from chartkeeper.export.bulk.jobs import JobFolder
from chartkeeper.export.bulk.models import ExportJob
from chartkeeper.fhir.instant import now_us
from chartkeeper.store.models import AccessFilter
from chartkeeper.store.repository import Store

#: Resources per NDJSON file; a type with more is split into ``Type-2.ndjson`` and so on,
#: so one download never has to be the whole table.
MAX_PER_FILE = 50_000
_SAVE_EVERY = 2_000
_log = logging.getLogger(__name__)


def job_access(job: ExportJob) -> AccessFilter:
    return AccessFilter(
        types=None if job.access_types is None else frozenset(job.access_types),
        patient_ids=None if job.access_patients is None else frozenset(job.access_patients),
    )


class _TypeWriter:
    """The files of one resource type, opened lazily and rolled over at MAX_PER_FILE."""

    def __init__(self, folder: JobFolder, job: ExportJob, res_type: str, max_per_file: int) -> None:
        self.folder, self.job, self.res_type, self.max_per_file = folder, job, res_type, max_per_file
        self.handle: IO[bytes] | None = None
        self.part = 0
        self.count = 0

    def write(self, line: bytes) -> None:
        if self.handle is None or self.count >= self.max_per_file:
            self.close()
            self.part += 1
            self.count = 0
            name = f"{self.res_type}.ndjson" if self.part == 1 else f"{self.res_type}-{self.part}.ndjson"
            self.handle = (self.folder.path(self.job.job_id) / name).open("wb")
        self.handle.write(line)
        self.count += 1

    def close(self) -> None:
        if self.handle is None:
            return
        self.handle.close()
        name = self.handle.name.rsplit("/", 1)[-1]
        self.job.outputs.append({"res_type": self.res_type, "name": name, "count": self.count})
        self.handle = None


def run_job(
    store: Store, folder: JobFolder, job: ExportJob, cancel: threading.Event, max_per_file: int = MAX_PER_FILE
) -> None:
    """Export every requested type; the job ends complete, in error, or removed if cancelled.

    A cancel may come from another server process (``serve --workers N``): it removes the
    job's folder, so a save that finds the folder gone stops the job like ``cancel`` does."""
    access = job_access(job)
    patients = None if job.patient_ids is None else frozenset(job.patient_ids)
    try:
        job.total = sum(
            store.count_for_export(t, access, since=job.since, patient_ids=patients) for t in job.types
        )
        if not folder.save(job, create=False):
            cancel.set()
            return
        for res_type in job.types:
            writer = _TypeWriter(folder, job, res_type, max_per_file)
            try:
                for version in store.iter_for_export(res_type, access, since=job.since, patient_ids=patients):
                    if cancel.is_set():
                        return
                    writer.write(orjson.dumps(version.content) + b"\n")
                    job.done += 1
                    if job.done % _SAVE_EVERY == 0 and not folder.save(job, create=False):
                        cancel.set()
                        return
            finally:
                writer.close()
        job.state = "complete"
    except Exception as exc:  # any failure becomes the job's error, never a silently lost thread
        if not folder.exists(job.job_id):  # cancelled elsewhere while a file was open
            cancel.set()
            return
        _log.error("export job %s failed: %s", job.job_id, type(exc).__name__)
        job.state = "error"
        job.error = f"export failed: {type(exc).__name__}"
    finally:
        if cancel.is_set():
            folder.remove(job.job_id)
        else:
            job.finished = now_us()
            if not folder.save(job, create=False):
                folder.remove(job.job_id)
