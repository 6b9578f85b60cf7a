"""Who works which queue in the workspace (a page checks these before calling its service).

The services check scopes as well (merging needs Patient update, coding needs Condition and
Encounter update and Provenance create), so a role listed here without the scopes would still
be refused; the role check is what gives a person the friendly 403 page and hides the links.

* Intake quarantine: clerks and interface analysts look; analysts retry or discard.
* Possible duplicates (MPI review, merge/distinct): HIM clerks, who register patients and keep
  the index clean, and interface analysts, who may correct what feeds wrote.
* Coding queue and the DNFB report: coders.
"""

from __future__ import annotations

from chartkeeper.intake.quarantine import VIEW_ROLES as QUARANTINE_ROLES

DUPLICATE_ROLES = frozenset({"clerk", "integrator"})
CODING_ROLES = frozenset({"coder"})
#: anyone who works at least one queue sees the overview (each section only for its own roles)
QUEUE_ROLES = QUARANTINE_ROLES | DUPLICATE_ROLES | CODING_ROLES
