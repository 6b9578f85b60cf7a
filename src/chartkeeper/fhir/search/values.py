"""Turn the values a branch yields into index rows, one converter per (param type, FHIR type).

The FHIR type of every branch is known at build time, so the converter is picked once at
load and never has to guess what a JSON object is (an Identifier and a ContactPoint both have
``system`` and ``value``). Converters are defensive about JSON shapes (a wrong shape yields no
row, never an exception) because extraction must not fail on any input that reaches it.

Decisions that the search side relies on:

* token, CodeableConcept: one row per coding (system, code, display); ``text`` gets its own
  row (None, None, text) unless it equals one of the codings' displays, so ``:text`` matches
  the ``display`` column of any row of the parameter.
* token, Identifier: (system, value, None), plus for ``:of-type`` a row under the derived
  parameter (``derived.py``) per coding of its type; ContactPoint: (None, value, None) as the spec's
  token table says; code/string/id/uri: (None, value, None); boolean: (None, "true"/"false", None).
* reference: contained (``#x``) references and references with only an ``identifier`` give no
  reference row; ``urn:uuid:`` or foreign references give a row with type and id None. A
  Reference's ``identifier`` gives a token row under the derived ``<code>:identifier``
  parameter (``derived.py``), for ``:identifier`` searches.
* quantity: value with (system, code) and, when the unit differs from the code, also with
  (system, unit), so a unit given without a system matches either. Money is (ISO 4217 system,
  currency). A Range gives its low and high as two rows.
* date: Period open ends become MIN_MICROS/MAX_MICROS; Timing covers its events (or its
  repeat.boundsPeriod); Age, Range and string onsets are not dates and give no row.
* number: a Range (RiskAssessment.probability) gives its low and high values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chartkeeper.fhir.search.derived import component_key, identifier_code, of_type_code, of_type_key
from chartkeeper.fhir.search.model import IndexValues
from chartkeeper.fhir.search.normalize import MAX_MICROS, MIN_MICROS, date_range, index_string
from chartkeeper.fhir.search.references import reference_parts

Converter = Callable[[str, list[Any], IndexValues], None]

_ISO_4217 = "urn:iso:std:iso:4217"


def _str(v: Any) -> str | None:
    return v if v.__class__ is str and v else None


# --- string -----------------------------------------------------------------------------------

_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


def _string_plain(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.strings.append
    for v in items:
        if v.__class__ is str and v:
            norm, exact = index_string(v)
            app((code, norm, exact))


def _parts(parts: tuple[str, ...]) -> Converter:
    def convert(code: str, items: list[Any], out: IndexValues) -> None:
        app = out.strings.append
        for item in items:
            if item.__class__ is not dict:
                continue
            for part in parts:
                v = item.get(part)
                if v is None:
                    continue
                for s in v if v.__class__ is list else (v,):
                    if s.__class__ is str and s:
                        norm, exact = index_string(s)
                        app((code, norm, exact))

    return convert


# --- token ------------------------------------------------------------------------------------


def _token_codeable(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.tokens.append
    for cc in items:
        if cc.__class__ is not dict:
            continue
        codings = cc.get("coding")
        text = _str(cc.get("text"))
        seen_text = False
        if codings.__class__ is list:
            for c in codings:
                if c.__class__ is dict:
                    s, v, d = _str(c.get("system")), _str(c.get("code")), _str(c.get("display"))
                    if s or v or d:
                        app((code, s, v, d))
                        if d is not None and d == text:
                            seen_text = True
        if text is not None and not seen_text:
            app((code, None, None, text))


def _token_coding(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.tokens.append
    for c in items:
        if c.__class__ is dict:
            s, v, d = _str(c.get("system")), _str(c.get("code")), _str(c.get("display"))
            if s or v or d:
                app((code, s, v, d))


def _token_identifier(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.tokens.append
    for ident in items:
        if ident.__class__ is dict:
            s, v = _str(ident.get("system")), _str(ident.get("value"))
            if s or v:
                app((code, s, v, None))
            kind = ident.get("type")
            if v is not None and kind.__class__ is dict:
                _of_type(code, kind, v, out)


def _of_type(code: str, kind: dict[str, Any], value: str, out: IndexValues) -> None:
    """``:of-type`` rows: (type system, type code + value) per coding of the Identifier's type."""
    codings: Any = kind.get("coding")
    if codings.__class__ is not list:
        return
    derived = of_type_code(code)
    for c in codings:
        if c.__class__ is dict:
            type_code = _str(c.get("code"))
            if type_code is not None:
                out.tokens.append((derived, _str(c.get("system")), of_type_key(type_code, value), None))


def _reference_identifier(code: str, ident: Any, out: IndexValues) -> None:
    """A Reference's ``identifier``, as a token row of the derived ``:identifier`` parameter."""
    if ident.__class__ is dict:
        s, v = _str(ident.get("system")), _str(ident.get("value"))
        if s or v:
            out.tokens.append((identifier_code(code), s, v, None))


def _token_contact_point(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.tokens.append
    for cp in items:
        if cp.__class__ is dict:
            v = _str(cp.get("value"))
            if v is not None:
                app((code, None, v, None))


def _token_primitive(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.tokens.append
    for v in items:
        if v.__class__ is str and v:
            app((code, None, v, None))


def _token_boolean(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.tokens.append
    for v in items:
        if v is True:
            app((code, None, "true", None))
        elif v is False:
            app((code, None, "false", None))


# --- reference --------------------------------------------------------------------------------


def _reference(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.references.append
    for r in items:
        if r.__class__ is dict:
            ref = r.get("reference")
            if ref.__class__ is str and ref and ref[0] != "#":
                rtype, rid = reference_parts(ref)
                app((code, rtype, rid, ref))
            ident = r.get("identifier")
            if ident is not None:
                _reference_identifier(code, ident, out)


def _reference_string(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.references.append
    for ref in items:
        if ref.__class__ is str and ref and ref[0] != "#":
            rtype, rid = reference_parts(ref)
            app((code, rtype, rid, ref))


def _reference_resource(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.references.append
    for res in items:
        if res.__class__ is dict:
            rtype, rid = _str(res.get("resourceType")), _str(res.get("id"))
            if rtype and rid:
                app((code, rtype, rid, f"{rtype}/{rid}"))


# --- date -------------------------------------------------------------------------------------


def _date_primitive(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.dates.append
    for v in items:
        if v.__class__ is str:
            r = date_range(v)
            if r is not None:
                app((code, r[0], r[1]))


def _period_range(p: dict[str, Any]) -> tuple[int, int] | None:
    start, end = p.get("start"), p.get("end")
    lo = date_range(start) if isinstance(start, str) else None
    hi = date_range(end) if isinstance(end, str) else None
    if lo is None and hi is None:
        return None
    low = lo[0] if lo is not None else MIN_MICROS
    high = hi[1] if hi is not None else MAX_MICROS
    if low > high:  # end before start: cover both rather than drop the value
        assert lo is not None and hi is not None  # only two real ends can invert
        low, high = min(lo[0], hi[0]), max(lo[1], hi[1])
    return low, high


def _date_period(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.dates.append
    for p in items:
        if p.__class__ is dict:
            r = _period_range(p)
            if r is not None:
                app((code, r[0], r[1]))


def _date_timing(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.dates.append
    for t in items:
        if t.__class__ is not dict:
            continue
        events = t.get("event")
        ranges = [date_range(e) for e in events if e.__class__ is str] if events.__class__ is list else []
        found = [r for r in ranges if r is not None]
        if found:
            app((code, min(r[0] for r in found), max(r[1] for r in found)))
            continue
        repeat = t.get("repeat")
        if repeat.__class__ is dict:
            bounds = repeat.get("boundsPeriod")
            if bounds.__class__ is dict:
                r = _period_range(bounds)
                if r is not None:
                    app((code, r[0], r[1]))


# --- quantity / number / uri ------------------------------------------------------------------


def _number_value(v: Any) -> float | None:
    if v.__class__ is int or v.__class__ is float:
        f = float(v)
        return f if f == f and f not in (float("inf"), float("-inf")) else None
    return None


def _quantity(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.quantities.append
    for q in items:
        if q.__class__ is not dict:
            continue
        value = _number_value(q.get("value"))
        if value is None:
            continue
        system, unit_code, unit = _str(q.get("system")), _str(q.get("code")), _str(q.get("unit"))
        app((code, system, unit_code or unit, value))
        if unit_code is not None and unit is not None and unit != unit_code:
            app((code, system, unit, value))


def _money(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.quantities.append
    for m in items:
        if m.__class__ is dict:
            value = _number_value(m.get("value"))
            if value is not None:
                currency = _str(m.get("currency"))
                app((code, _ISO_4217 if currency else None, currency, value))


def _quantity_range(code: str, items: list[Any], out: IndexValues) -> None:
    for r in items:
        if r.__class__ is dict:
            _quantity(code, [r.get("low"), r.get("high")], out)


def _number(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.numbers.append
    for v in items:
        f = _number_value(v)
        if f is not None:
            app((code, f))


def _number_range(code: str, items: list[Any], out: IndexValues) -> None:
    for r in items:
        if r.__class__ is dict:
            for end in (r.get("low"), r.get("high")):
                if end.__class__ is dict:
                    _number(code, [end.get("value")], out)


def _uri(code: str, items: list[Any], out: IndexValues) -> None:
    app = out.uris.append
    for v in items:
        if v.__class__ is str and v:
            app((code, v))


_QUANTITY_TYPES = ("Quantity", "SimpleQuantity", "MoneyQuantity", "Age", "Duration", "Distance", "Count")

#: (search-parameter type, FHIR type) -> converter. Pairs that are absent give no rows; the
#: build tool drops such branches and lists them.
CONVERTERS: dict[tuple[str, str], Converter] = {
    **{("string", t): _string_plain for t in ("string", "markdown", "code", "id", "uri", "url")},
    ("string", "HumanName"): _parts(_NAME_PARTS),
    ("string", "Address"): _parts(_ADDRESS_PARTS),
    ("token", "CodeableConcept"): _token_codeable,
    ("token", "Coding"): _token_coding,
    ("token", "Identifier"): _token_identifier,
    ("token", "ContactPoint"): _token_contact_point,
    ("token", "boolean"): _token_boolean,
    **{
        ("token", t): _token_primitive
        for t in ("code", "string", "id", "uri", "url", "canonical", "oid", "uuid", "markdown")
    },
    ("reference", "Reference"): _reference,
    **{("reference", t): _reference_string for t in ("canonical", "uri", "url")},
    ("reference", "Resource"): _reference_resource,
    **{("date", t): _date_primitive for t in ("date", "dateTime", "instant")},
    ("date", "Period"): _date_period,
    ("date", "Timing"): _date_timing,
    **{("quantity", t): _quantity for t in _QUANTITY_TYPES},
    ("quantity", "Money"): _money,
    ("quantity", "Range"): _quantity_range,
    **{("number", t): _number for t in ("decimal", "integer", "positiveInt", "unsignedInt")},
    ("number", "Range"): _number_range,
    **{("uri", t): _uri for t in ("uri", "url", "canonical", "oid", "uuid")},
}


def component_converter(value_key: str, kind: str) -> Converter:
    """Rows of a composite over repeating elements (``derived.COMPONENT_COMPOSITES``): for
    each element and each coding of its ``code``, the element's value under the derived
    parameters ``component_key(code, system, c)`` (with its system, "" when it has none) and
    ``component_key(code, None, c)`` (any system)."""
    convert = _quantity if kind == "quantity" else _token_codeable

    def rows(code: str, items: list[Any], out: IndexValues) -> None:
        for element in items:
            if element.__class__ is not dict:
                continue
            value, concept = element.get(value_key), element.get("code")
            if value is None or concept.__class__ is not dict:
                continue
            codings = concept.get("coding")
            if codings.__class__ is not list:
                continue
            for c in codings:
                if c.__class__ is dict and (v := _str(c.get("code"))) is not None:
                    system = _str(c.get("system")) or ""
                    convert(component_key(code, system, v), [value], out)
                    convert(component_key(code, None, v), [value], out)

    return rows


def converter(param_type: str, fhir_type: str) -> Converter | None:
    """The converter for a branch, or None when such values are not indexed."""
    return CONVERTERS.get((param_type, fhir_type))
