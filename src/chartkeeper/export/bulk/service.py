"""The bulk export service: kick off, poll, download, cancel — with scopes and audit.

Shells (the FHIR API) parse the HTTP request into an ExportRequest and call this; the scope
checks, the requester's access filter and the audit records all happen here, once.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from chartkeeper.errors import Forbidden, InvalidInput, NotFound
from chartkeeper.export.bulk.jobs import JobFolder
from chartkeeper.export.bulk.models import NDJSON_FORMATS, ExportJob, ExportRequest
from chartkeeper.export.bulk.runner import MAX_PER_FILE, run_job
from chartkeeper.fhir.instant import now_us
from chartkeeper.fhir.search.params import patient_compartment_params, resource_types
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent, AuditOutcome, AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store.repository import Store

#: Finished jobs and their files are removed this long after they finish.
DEFAULT_RETENTION_US = 24 * 3600 * 1_000_000


@dataclass(frozen=True, slots=True)
class JobView:
    """What a status poll returns: the job, plus whether it is still running."""

    job: ExportJob
    running: bool


class BulkExportService:
    def __init__(
        self,
        store: Store,
        audit: AuditSink,
        root: Path,
        *,
        retention_us: int = DEFAULT_RETENTION_US,
        max_per_file: int = MAX_PER_FILE,
    ) -> None:
        self.store, self.audit, self.folder = store, audit, JobFolder(root)
        self.retention_us, self.max_per_file = retention_us, max_per_file
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-export")
        self._cancel: dict[str, threading.Event] = {}
        self._running: dict[str, Future[None]] = {}
        self._fail_interrupted()

    def close(self) -> None:
        for event in self._cancel.values():
            event.set()
        self._executor.shutdown(wait=True)

    # -- kick-off ---------------------------------------------------------------------------
    def kick_off(self, caller: Caller, request: ExportRequest) -> str:
        """Validate, check scopes, record the job and start it; return the job id."""
        try:
            job = self._new_job(caller, request)
        except (Forbidden, NotFound) as exc:
            self._audit(caller, "denied" if isinstance(exc, Forbidden) else "failed", request, str(exc))
            raise
        self.folder.save(job)
        cancel = self._cancel[job.job_id] = threading.Event()
        self._running[job.job_id] = self._executor.submit(
            run_job, self.store, self.folder, job, cancel, self.max_per_file
        )
        self._audit(caller, "success", request, f"job {job.job_id}: {', '.join(job.types)}", job)
        self._expire_old()
        return job.job_id

    def _new_job(self, caller: Caller, request: ExportRequest) -> ExportJob:
        if request.output_format not in NDJSON_FORMATS:
            raise InvalidInput(f"_outputFormat {request.output_format!r} is not supported (use ndjson)")
        patient_ids = self._group_members(caller, request.group_id) if request.level == "group" else None
        types = self._types(caller, request)
        access = caller.access_filter(Action.SEARCH)
        now = now_us()
        return ExportJob(
            job_id=uuid.uuid4().hex,
            requester=caller.subject,
            request_url=request.request_url,
            level=request.level,
            types=types,
            since=request.since,
            transaction_time=now,
            created=now,
            access_types=None if access.types is None else sorted(access.types),
            access_patients=None if access.patient_ids is None else sorted(access.patient_ids),
            patient_ids=patient_ids,
            runner=f"{socket.gethostname()}:{os.getpid()}",  # see ExportJob.runner
        )

    def _types(self, caller: Caller, request: ExportRequest) -> list[str]:
        known = resource_types()
        for res_type in request.types:
            if res_type not in known:
                raise InvalidInput(f"_type: {res_type!r} is not a FHIR R4 resource type")
            if not (caller.permits(res_type, Action.READ) and caller.permits(res_type, Action.SEARCH)):
                raise Forbidden(f"your scopes do not allow exporting {res_type}")
        candidates = list(request.types) or self.store.resource_types()
        if request.level != "system":
            candidates = [t for t in candidates if t == "Patient" or patient_compartment_params(t)]
        allowed = [
            t for t in candidates if caller.permits(t, Action.READ) and caller.permits(t, Action.SEARCH)
        ]
        if not allowed:
            raise Forbidden("your scopes allow exporting none of the requested resource types")
        return sorted(set(allowed))

    def _group_members(self, caller: Caller, group_id: str | None) -> list[str]:
        if group_id is None:
            raise InvalidInput("a Group-level export needs a Group id")
        if not caller.permits("Group", Action.READ):
            raise Forbidden("your scopes do not allow reading Group")
        group = self.store.read("Group", group_id)
        members = []
        for member in group.get("member", []):
            ref = member.get("entity", {}).get("reference", "")
            kind, _, member_id = ref.rpartition("/")
            if kind.rsplit("/", 1)[-1] == "Patient" and member_id:
                members.append(member_id)
        return sorted(set(members))

    # -- status, files, cancel --------------------------------------------------------------
    def status(self, caller: Caller, job_id: str) -> JobView:
        job = self._own_job(caller, job_id)
        return JobView(job, running=job.state == "in-progress")

    def file(self, caller: Caller, job_id: str, name: str) -> Path:
        """The path of an output file for its requester; audited as an export of that file."""
        job = self._own_job(caller, job_id)
        if job.state != "complete":
            raise NotFound(f"export job {job_id} is not complete")
        path = self.folder.file(job_id, name)
        outputs = {o.name: o for o in job.output_files()}
        count = outputs[name].count if name in outputs else 0
        self.audit.record(
            AccessEvent(
                caller=caller,
                action="export",
                outcome="success",
                query=job.request_url,
                detail=f"downloaded {name} ({count} resources) of job {job_id}",
                operation="$export",
                patients=tuple(job.patient_ids or ()),
            )
        )
        return path

    def cancel(self, caller: Caller, job_id: str) -> None:
        """Stop a running job or delete a finished one; afterwards its status is 404."""
        self._own_job(caller, job_id)
        event = self._cancel.pop(job_id, None)
        if event is not None:
            event.set()
        self.folder.remove(job_id)

    def _own_job(self, caller: Caller, job_id: str) -> ExportJob:
        job = self.folder.load(job_id)
        if job.requester != caller.subject:
            raise NotFound(f"no export job {job_id!r}")  # never confirm someone else's job exists
        return job

    # -- housekeeping -----------------------------------------------------------------------
    def _expire_old(self) -> None:
        cutoff = now_us() - self.retention_us
        for job in self.folder.all_jobs():
            future = self._running.get(job.job_id)
            if future is not None and not future.done():
                continue  # its runner may still be writing job.json
            if job.finished is not None and job.finished < cutoff:
                self.folder.remove(job.job_id)
                self._cancel.pop(job.job_id, None)
                self._running.pop(job.job_id, None)

    def _fail_interrupted(self) -> None:
        """A job left in progress by a stopped server will never finish: say so to its poller.
        A job another live server process on this host runs (``serve --workers N``) is left
        alone."""
        for job in self.folder.all_jobs():
            if job.state == "in-progress" and not _runner_alive(job.runner):
                job.state, job.error, job.finished = "error", "the server stopped during the export", now_us()
                self.folder.save(job)

    def _audit(
        self,
        caller: Caller,
        outcome: AuditOutcome,
        request: ExportRequest,
        detail: str,
        job: ExportJob | None = None,
    ) -> None:
        self.audit.record(
            AccessEvent(
                caller=caller,
                action="export",
                outcome=outcome,
                query=request.request_url,
                detail=detail,
                operation="$export",
                patients=tuple(job.patient_ids or ()) if job else (),
            )
        )


def _runner_alive(runner: str | None) -> bool:
    """Is the process named ``host:pid`` alive (another worker of this server)? Only a process
    on this host can be checked; a job from elsewhere, or from before runners were recorded,
    counts as interrupted, as it always did."""
    if runner is None:
        return False
    host, _, pid_text = runner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True
