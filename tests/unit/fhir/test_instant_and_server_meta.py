"""Server timestamps and server meta: the fast forms equal the plain datetime/JSON definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given
from hypothesis import strategies as st

from chartkeeper.fhir.instant import format_instant, parse_instant
from chartkeeper.fhir.resource import with_server_meta, with_server_meta_text, without_server_meta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: 0001-01-01 up to 9999-12-31T23:59:59.999999, in microseconds from 1970
MICROS = st.integers(min_value=-62_135_596_800_000_000, max_value=253_402_300_799_999_999)


@given(MICROS)
def test_format_instant_is_datetime_strftime_and_round_trips(micros: int) -> None:
    expected = (EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert format_instant(micros) == expected.rjust(27, "0")
    assert parse_instant(format_instant(micros)) == micros


def test_format_instant_known_values() -> None:
    assert format_instant(0) == "1970-01-01T00:00:00.000000Z"
    assert format_instant(-1) == "1969-12-31T23:59:59.999999Z"
    assert format_instant(1_764_412_345_123_456) == "2025-11-29T10:32:25.123456Z"


def test_with_server_meta_puts_version_first_and_keeps_client_meta() -> None:
    stored = {
        "status": "final",
        "meta": {"tag": [{"code": "t"}], "versionId": "9", "lastUpdated": "old"},
        "id": "o1",
        "resourceType": "Observation",
    }
    out = with_server_meta(stored, 3, 0)
    assert list(out) == ["resourceType", "id", "meta", "status"]
    assert out["meta"] == {
        "versionId": "3",
        "lastUpdated": "1970-01-01T00:00:00.000000Z",
        "tag": [{"code": "t"}],
    }
    assert without_server_meta(out) == {
        "resourceType": "Observation",
        "id": "o1",
        "meta": {"tag": [{"code": "t"}]},
        "status": "final",
    }
    assert with_server_meta({"resourceType": "Patient", "id": "p"}, 1, 0)["meta"]["versionId"] == "1"


JSON_LEAF = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
RESOURCE = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Observation", "Patient"]), "id": st.text(min_size=1, max_size=8)},
    optional={"status": JSON_VALUE, "code": JSON_VALUE, "meta": JSON_VALUE, "note": JSON_VALUE},
)


@given(RESOURCE, st.integers(min_value=1, max_value=10**6), MICROS)
def test_server_meta_on_text_equals_server_meta_on_the_parsed_resource(
    resource: dict[str, object], version: int, micros: int
) -> None:
    """Where it applies (no "meta" anywhere in the text), the text form parses to exactly what
    ``with_server_meta`` gives; everywhere else it declines and the caller parses."""
    serialized = orjson.dumps(resource).decode()
    text_form = with_server_meta_text(serialized, version, micros)
    if '"meta"' in serialized:
        assert text_form is None
    else:
        assert text_form is not None
        assert orjson.loads(text_form) == with_server_meta(resource, version, micros)


def test_server_meta_on_text_declines_what_it_cannot_do_without_parsing() -> None:
    assert with_server_meta_text('{"resourceType":"Patient","meta":{"tag":[]}}', 1, 0) is None
    assert with_server_meta_text('{"resourceType":"Patient","note":"see meta"}', 1, 0) is not None
    escaped = '{"resourceType":"Patient","note":"\\"meta\\""}'  # a value, not a key: fine
    assert orjson.loads(with_server_meta_text(escaped, 1, 0) or "null")["note"] == '"meta"'
    assert with_server_meta_text("[]", 1, 0) is None and with_server_meta_text("{}", 1, 0) is None
    assert with_server_meta_text('{"resourceType":"Patient","id":"p"}', 2, 0) == (
        '{"resourceType":"Patient","id":"p","meta":{"versionId":"2","lastUpdated":"1970-01-01T00:00:00.000000Z"}}'
    )
