"""One error tree for the whole application.

Shells (CLI, API, web) turn these into a one-line message, an HTTP status with an
OperationOutcome, or an HL7 ACK; nothing below the shells knows how it will be shown.
"""

from __future__ import annotations

from typing import Any


class ChartkeeperError(Exception):
    """Base of every error Chartkeeper raises on purpose."""


class ConfigError(ChartkeeperError):
    """A setting is missing or malformed."""


class InvalidInput(ChartkeeperError):
    """Input that cannot be accepted; carries the FHIR issues (``fhir.outcome.Issue``) that say
    what and where. Typed loosely because the base layer sits below ``fhir``."""

    def __init__(self, message: str, issues: list[Any] | None = None) -> None:
        super().__init__(message)
        self.issues: list[Any] = list(issues or [])


class NotFound(ChartkeeperError):
    """The resource (or version) does not exist."""


class Gone(ChartkeeperError):
    """The resource existed and was deleted."""


class Conflict(ChartkeeperError):
    """A write lost a race or contradicts the stored state (version mismatch, duplicate)."""


class StoreUnavailable(ChartkeeperError):
    """The database cannot be reached or opened."""


class PreconditionFailed(Conflict):
    """A conditional request's precondition does not hold (``If-Match`` version, several
    matches for a conditional update/delete)."""


class NotAuthenticated(ChartkeeperError):
    """No caller identity, or credentials that are missing, expired, tampered or unknown."""


class Forbidden(ChartkeeperError):
    """The caller is known but its roles or scopes do not allow the action."""


class TooManyAttempts(ChartkeeperError):
    """Repeated failed log-ins: the account or source is locked for a while."""
