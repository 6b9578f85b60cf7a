"""HL7 v3 datatypes → FHIR: timestamps, periods, quantities, identifiers, codes."""

from __future__ import annotations

import pytest
from lxml import etree

from chartkeeper.intake.ccda import datatypes as dt


def el(xml: str) -> etree._Element:
    return etree.fromstring(
        f'<x xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{xml}</x>'
    )[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2014", "2014"),
        ("201409", "2014-09"),
        ("20140916", "2014-09-16"),
        ("201409161904-0500", "2014-09-16T19:04:00-05:00"),
        ("20140916190405.25+0100", "2014-09-16T19:04:05.25+01:00"),
        ("20140916190405", "2014-09-16"),  # a time without a zone is cut to its date
    ],
)
def test_timestamps(value: str, expected: str) -> None:
    assert dt.ts_value(value) == expected


@pytest.mark.parametrize("value", ["201752", "200130212", "20150722230000-5000", "20140230", "abc"])
def test_bad_timestamps_are_errors(value: str) -> None:
    with pytest.raises(dt.DataError, match=repr(value)):
        dt.ts_value(value)


def test_period_and_inverted_period() -> None:
    assert dt.period(el('<effectiveTime><low value="2014"/><high value="2015"/></effectiveTime>')) == {
        "start": "2014",
        "end": "2015",
    }
    assert dt.period(el('<effectiveTime nullFlavor="UNK"/>')) is None
    with pytest.raises(dt.DataError, match="before low"):
        dt.period(el('<effectiveTime><low value="2015"/><high value="2014"/></effectiveTime>'))


def test_concept_maps_code_system_oids() -> None:
    concept = dt.concept(
        el(
            '<value code="E11.9" codeSystem="2.16.840.1.113883.6.90" displayName="Type 2 diabetes">'
            '<translation code="44054006" codeSystem="2.16.840.1.113883.6.96"/>'
            '<translation code="X1" codeSystem="1.2.3.4"/></value>'
        )
    )
    assert concept is not None
    assert [c["system"] for c in concept["coding"]] == [
        "http://hl7.org/fhir/sid/icd-10-cm",
        "http://snomed.info/sct",
        "urn:oid:1.2.3.4",
    ]
    assert dt.concept(el('<value nullFlavor="NI"/>')) is None
    with pytest.raises(dt.DataError, match="not an OID"):
        dt.concept(el('<value code="1" codeSystem="not an oid"/>'))


def test_quantity_identifier_name_telecom() -> None:
    assert dt.quantity(el('<value value="13.2" unit="g/dL"/>')) == {
        "value": 13.2,
        "unit": "g/dL",
        "system": "http://unitsofmeasure.org",
        "code": "g/dL",
    }
    assert dt.quantity(el('<value value="7" unit="1"/>')) == {"value": 7}
    with pytest.raises(dt.DataError, match="not a number"):
        dt.quantity(el('<value value="high" unit="g"/>'))
    assert dt.identifier(el('<id root="2.16.840.1.113883.4.1" extension="444222222"/>')) == {
        "system": "urn:oid:2.16.840.1.113883.4.1",
        "value": "444222222",
    }
    assert dt.identifier(el('<id root="2.16.840.1.113883.4.6" extension="99"/>')) == {
        "system": "http://hl7.org/fhir/sid/us-npi",
        "value": "99",
    }
    assert dt.identifier(el('<id root="1.2.3"/>')) == {
        "system": "urn:ietf:rfc:3986",
        "value": "urn:oid:1.2.3",
    }
    assert dt.human_name(
        el('<name use="L"><given>Eve</given><given>B</given><family>Betterhalf</family></name>')
    ) == {
        "use": "official",
        "family": "Betterhalf",
        "given": ["Eve", "B"],
    }
    assert dt.contact_point(el('<telecom use="HP" value="tel:+1(555)555-2003"/>')) == {
        "system": "phone",
        "value": "+1(555)555-2003",
        "use": "home",
    }
