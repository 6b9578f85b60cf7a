"""The identity every service call carries: who, through which client, with which scopes.

Shells build a Caller once per request (from a bearer token or a web session) and pass it
down; services ask it ``permits`` before acting and ``access_filter`` to put the caller's
limits into SQL. The audit trail records the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from chartkeeper.security.scopes import Action, ScopeSet
from chartkeeper.store.models import AccessFilter

CallerKind = Literal["user", "client", "local"]


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller.

    subject: stable identity, ``user/<username>``, ``client/<name>`` or ``local/<os user>``.
    patient: the launch context for ``patient/`` scopes (a Patient id), if any.
    source_address: the network peer, for the audit trail.
    purpose_of_use: a v3 PurposeOfUse code (TREAT, HOPERAT, ...), when the caller says one.
    """

    subject: str
    kind: CallerKind
    display: str
    scopes: ScopeSet
    roles: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None
    patient: str | None = None
    source_address: str | None = None
    purpose_of_use: str | None = None

    def permits(self, res_type: str, action: Action) -> bool:
        """May this caller do ``action`` on some resources of ``res_type``?"""
        return self.scopes.permits(res_type, action)

    def access_filter(self, action: Action = Action.READ) -> AccessFilter:
        """The rows this caller may see for ``action`` (READ for reads, SEARCH for searches).

        Types come from every scope granting the action. When a type is granted only through
        ``patient/`` scopes, the whole filter is limited to the launch patient's compartment
        (deny rather than widen when contexts are mixed); without a launch patient nothing
        is visible through ``patient/`` scopes.
        """
        broad = self.scopes.granted_types(action, ("user", "system"))
        narrow = self.scopes.granted_types(action, ("patient",))
        if broad is None:
            return AccessFilter(types=None, patient_ids=None)
        narrow_only = None if narrow is None else narrow - broad
        if narrow_only is not None and not narrow_only:
            return AccessFilter(types=broad, patient_ids=None)
        if self.patient is None:
            return AccessFilter(types=broad, patient_ids=None) if broad else AccessFilter(types=frozenset())
        types = None if narrow is None else broad | narrow
        return AccessFilter(types=types, patient_ids=frozenset({self.patient}))


def local_caller(os_user: str = "local") -> Caller:
    """The operator at the command line (ingest, export, init): full access, still audited."""
    return Caller(
        subject=f"local/{os_user}",
        kind="local",
        display=f"{os_user} (command line)",
        scopes=ScopeSet.parse("system/*.cruds"),
        roles=frozenset({"admin"}),
    )
