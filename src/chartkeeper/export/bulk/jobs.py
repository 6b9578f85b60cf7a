"""Export jobs on disk: one folder per job with ``job.json`` and the NDJSON files.

Files, not database rows, because the output is files anyway and a folder is the unit that
gets expired or cancelled; ``job.json`` is replaced atomically (write, then rename) so a
crash never leaves a half-written state for a poller to read.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson

from chartkeeper.errors import NotFound
from chartkeeper.export.bulk.models import ExportJob

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_FILE_NAME = re.compile(r"^[A-Z][A-Za-z]{1,63}(-[0-9]{1,6})?\.ndjson$")


class JobFolder:
    """The folder of every export job, under one root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, job_id: str) -> Path:
        if not _JOB_ID.match(job_id):
            raise NotFound(f"no export job {job_id!r}")
        return self.root / job_id

    def save(self, job: ExportJob, *, create: bool = True) -> bool:
        """Write ``job.json``; with ``create=False`` (the runner) a removed folder is not made
        again and False says so: the job was cancelled, perhaps by another server process."""
        folder = self.path(job.job_id)
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "job.json.tmp"
        try:
            tmp.write_bytes(orjson.dumps(job.to_json()))
            os.replace(tmp, folder / "job.json")
        except FileNotFoundError:
            if create:
                raise
            return False
        return True

    def exists(self, job_id: str) -> bool:
        return (self.path(job_id) / "job.json").is_file()

    def load(self, job_id: str) -> ExportJob:
        try:
            data = orjson.loads((self.path(job_id) / "job.json").read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError) as exc:
            raise NotFound(f"no export job {job_id!r}") from exc
        return ExportJob.from_json(data)

    def file(self, job_id: str, name: str) -> Path:
        """The path of one output file; NotFound for anything that is not one (no traversal)."""
        if not _FILE_NAME.match(name):
            raise NotFound(f"no file {name!r} in export job {job_id!r}")
        path = self.path(job_id) / name
        if not path.is_file():
            raise NotFound(f"no file {name!r} in export job {job_id!r}")
        return path

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.path(job_id), ignore_errors=True)

    def all_jobs(self) -> Iterator[ExportJob]:
        if not self.root.is_dir():
            return
        for child in sorted(self.root.iterdir()):
            if _JOB_ID.match(child.name):
                try:
                    yield self.load(child.name)
                except NotFound:
                    continue
