"""CDA narrative → FHIR XHTML: the CDA elements become HTML, anything unsafe is dropped."""

from __future__ import annotations

from lxml import etree

from chartkeeper.fhir.validation.xhtml import check_div
from chartkeeper.intake.ccda.narrative import section_div


def text(inner: str) -> etree._Element:
    return etree.fromstring(f'<text xmlns="urn:hl7-org:v3">{inner}</text>')


def test_cda_elements_become_html_and_pass_fhir_rules() -> None:
    div = section_div(
        text(
            '<paragraph styleCode="Bold">Hb <content ID="r1">13.2</content> g/dL</paragraph>'
            '<list listType="ordered"><caption>c</caption><item>one</item></list>'
            '<table border="1"><thead><tr><th>A</th></tr></thead><tbody><tr><td colspan="2">1 &lt; 2</td></tr>'
            '</tbody></table><br/><linkHtml href="https://example.org/x">link</linkHtml>'
        )
    )
    assert div is not None
    assert check_div(div) is None
    assert '<p style="font-weight:bold">Hb <span id="r1">13.2</span> g/dL</p>' in div
    assert "<ol><li>one</li></ol>" in div
    assert '<td colspan="2">1 &lt; 2</td>' in div
    assert '<a href="https://example.org/x">link</a>' in div


def test_unsafe_content_is_dropped() -> None:
    div = section_div(
        text(
            '<paragraph onclick="evil()">x<script xmlns="http://www.w3.org/1999/xhtml">alert(1)</script></paragraph>'
            '<linkHtml href="javascript:alert(1)">y</linkHtml><renderMultiMedia referencedObject="m1"/>'
            '<content ID="1bad id" style="background:url(x)">z</content>'
        )
    )
    assert div is not None
    assert check_div(div) is None
    assert "onclick" not in div and "javascript" not in div and "<script" not in div
    assert "background" not in div and "1bad" not in div
    assert "alert(1)" in div  # the script's text survives as harmless text inside a span


def test_empty_narrative_gives_nothing() -> None:
    assert section_div(text("  ")) is None
    assert section_div(text("<br/>")) is None
    assert section_div(None) is None
