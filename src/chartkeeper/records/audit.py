"""Scope checks and audit records, done by the service so that no shell can forget them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from chartkeeper.errors import ChartkeeperError, Forbidden, NotAuthenticated
from chartkeeper.records.models import Hidden
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent, AuditAction, AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store.models import StoredVersion

log = logging.getLogger(__name__)


def require(caller: Caller, res_type: str, action: Action) -> None:
    """Forbidden unless some scope of the caller grants ``action`` on ``res_type``."""
    if not caller.permits(res_type, action):
        raise Forbidden(f"the caller's scopes do not permit {action.name.lower()} on {res_type}")


@dataclass
class Trail:
    """What one interaction touched, collected while it runs and recorded when it ends."""

    resources: list[str] = field(default_factory=list)
    patients: dict[str, None] = field(default_factory=dict)

    def touch(
        self, res_type: str, res_id: str | None, version: int | None = None, patient: str | None = None
    ) -> None:
        if res_id is None:
            return
        ref = f"{res_type}/{res_id}" + (f"/_history/{version}" if version is not None else "")
        self.resources.append(ref)
        if res_type == "Patient":
            self.patients[res_id] = None
        if patient:
            self.patients[patient] = None

    def touch_version(self, version: StoredVersion, patient: str | None = None) -> None:
        self.touch(version.res_type, version.res_id, version.version_id, patient)


@contextmanager
def audited(
    sink: AuditSink,
    caller: Caller,
    action: AuditAction,
    *,
    query: str | None = None,
    operation: str | None = None,
) -> Iterator[Trail]:
    """Record one AccessEvent for the block: success, denied (scopes, compartment) or failed.

    The record is written before the result goes back to the shell; if the sink fails, the
    interaction fails with it (an access that cannot be audited is not served).
    """
    trail = Trail()
    outcome = "success"
    detail: str | None = None
    try:
        yield trail
    except (Forbidden, NotAuthenticated, Hidden) as exc:
        outcome, detail = "denied", str(exc)
        raise
    except ChartkeeperError as exc:
        outcome, detail = "failed", str(exc)
        raise
    except Exception:
        outcome, detail = "failed", "internal error"
        raise
    finally:
        event = AccessEvent(
            caller=caller,
            action=action,
            outcome=outcome,  # type: ignore[arg-type]
            resources=tuple(trail.resources),
            patients=tuple(trail.patients),
            query=query,
            detail=detail,
            operation=operation,
        )
        sink.record(event)
