"""The one error HL7 v2 intake raises on purpose: it says which segment and field is wrong.

It carries what an ACK's ERR segment needs (segment id, field position, HL7 table 0357
error code) and the acknowledgement code: AR (rejected: the message cannot be processed at
all, e.g. an unusable header or an unsupported type) or AE (error: the content is wrong).
"""

from __future__ import annotations

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.outcome import Issue

#: HL7 table 0357 (message error condition codes) that we use.
SEGMENT_SEQUENCE_ERROR = 100
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_VERSION = 203
APPLICATION_ERROR = 207


class V2Error(InvalidInput):
    """``PID-7: '19991399' is not a date`` — what is wrong, and where, in HL7 terms."""

    def __init__(
        self, segment: str, field: int | None, reason: str, ack_code: str = "AE", code: int = DATA_TYPE_ERROR
    ) -> None:
        self.segment = segment
        self.field = field
        self.reason = reason
        self.ack_code = ack_code
        self.code = code
        super().__init__(f"{self.where}: {reason}", [self.issue()])

    @property
    def where(self) -> str:
        return self.segment if self.field is None else f"{self.segment}-{self.field}"

    def issue(self) -> Issue:
        kind = "required" if self.code == REQUIRED_FIELD_MISSING else "value"
        if self.code in (UNSUPPORTED_MESSAGE_TYPE, UNSUPPORTED_VERSION):
            kind = "not-supported"
        elif self.code == SEGMENT_SEQUENCE_ERROR:
            kind = "structure"
        return Issue("error", kind, self.reason, self.where)
