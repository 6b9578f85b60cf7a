"""Bulk export requests and jobs as plain data (what is asked, what has been done)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ExportLevel = Literal["system", "patient", "group"]
JobState = Literal["in-progress", "complete", "error"]

#: The ``_outputFormat`` values the Bulk Data spec asks servers to accept for NDJSON.
NDJSON_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """A kick-off request, already parsed by the shell.

    types: the ``_type`` list (empty: every type the caller may read).
    since: ``_since`` in microseconds since the epoch, if given.
    request_url: the kick-off URL as received, echoed in the manifest's ``request``.
    """

    level: ExportLevel
    request_url: str
    group_id: str | None = None
    types: tuple[str, ...] = ()
    since: int | None = None
    output_format: str = "application/fhir+ndjson"


@dataclass(frozen=True, slots=True)
class OutputFile:
    res_type: str
    name: str  # file name inside the job folder, e.g. "Observation-2.ndjson"
    count: int


@dataclass
class ExportJob:
    """One export's state, saved as ``job.json`` in its folder after every change."""

    job_id: str
    requester: str  # Caller.subject; only they may poll, download or cancel
    request_url: str
    level: ExportLevel
    types: list[str]
    since: int | None
    transaction_time: int
    created: int
    access_types: list[str] | None  # the requester's AccessFilter at kick-off
    access_patients: list[str] | None
    patient_ids: list[str] | None  # Group members; None for system and Patient level
    state: JobState = "in-progress"
    done: int = 0
    total: int = 0
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    finished: int | None = None
    #: ``host:pid`` of the server process running the job (``chartkeeper serve --workers N``
    #: runs several): only that process's exit makes an unfinished job "interrupted".
    runner: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportJob:
        return cls(**data)

    def output_files(self) -> list[OutputFile]:
        return [OutputFile(o["res_type"], o["name"], o["count"]) for o in self.outputs]

    def progress_text(self) -> str:
        """What ``X-Progress`` says while the job runs."""
        if self.total <= 0:
            return "starting"
        percent = min(99, int(100 * self.done / self.total))
        return f"{percent}% ({self.done} of {self.total} resources)"
