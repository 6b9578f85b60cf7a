"""JSON parsing that reports failures as FHIR issues (what went wrong and where: line/column).

Why here: every input (a file, an HTTP body, an NDJSON line) enters through this function, and a
syntax error must reach the user as an OperationOutcome issue like any other validation problem.
A UTF-8 byte order mark is skipped, as the reference validator does.
"""

from __future__ import annotations

import orjson

from chartkeeper.fhir.outcome import Issue

_BOM = b"\xef\xbb\xbf"


def parse_json_issues(raw: bytes) -> tuple[object | None, list[Issue]]:
    """Parse bytes as JSON (orjson).

    On failure return (None, [fatal Issue saying what and where: line/column]).
    """
    body = raw[3:] if raw.startswith(_BOM) else raw
    try:
        return orjson.loads(body), []
    except orjson.JSONDecodeError as exc:
        line, column = exc.lineno, exc.colno
        near = _excerpt(body, exc.pos)
        message = f"Error parsing JSON: {exc.msg} at line {line}, column {column}"
        if near:
            message += f" (near {near!r})"
        return None, [Issue("fatal", "structure", message, None)]


def _excerpt(body: bytes, pos: int) -> str:
    text = bytes(body).decode("utf-8", "replace")
    start = max(0, pos - 20)
    return text[start : pos + 20].replace("\n", " ").strip()
