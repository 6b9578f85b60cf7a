"""Clinical notes and reports: DocumentReference content and DiagnosticReport presentedForm.

Text attachments are decoded here and handed over as plain strings; the shell must show them
as escaped text (a note may contain markup, and markup from a feed is never trusted).
"""

from __future__ import annotations

from typing import Any

from chartkeeper.chart import text
from chartkeeper.chart.models import Document

Json = dict[str, Any]
MAX_INLINE_TEXT = 200_000


def attachments(resource: Json) -> list[Json]:
    """The attachments of a DocumentReference (content[].attachment) or DiagnosticReport."""
    if resource.get("resourceType") == "DocumentReference":
        return [c.get("attachment", {}) for c in resource.get("content", [])]
    return list(resource.get("presentedForm", []))


def as_text(attachment: Json) -> str | None:
    """The attachment as text when it is ``text/*`` (or untyped) and inline; else None."""
    content_type = str(attachment.get("contentType", "text/plain"))
    if not content_type.startswith("text/"):
        return None
    raw = text.decode_attachment(attachment)
    if raw is None:
        return None
    return raw[:MAX_INLINE_TEXT].decode("utf-8", errors="replace")


def documents(resources: list[Json]) -> list[Document]:
    """One Document per attachment (the first text one shown inline), newest first."""
    found = []
    for res in resources:
        title = (
            text.concept(res.get("type"))
            or text.concept(res.get("code"))
            or res.get("description")
            or "Document"
        )
        for index, attachment in enumerate(attachments(res)):
            if not attachment:
                continue
            found.append(
                Document(
                    res_type=str(res["resourceType"]),
                    res_id=str(res.get("id", "")),
                    title=str(attachment.get("title") or title),
                    when=text.day(text.effective(res)),
                    content_type=str(attachment.get("contentType", "application/octet-stream")),
                    text=as_text(attachment),
                    attachment_index=index if attachment.get("data") else None,
                )
            )
    return sorted(found, key=lambda d: d.when, reverse=True)
