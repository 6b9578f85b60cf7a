"""Safe XML: no external entities, no DTD, no network, no entity bombs; precise errors."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from chartkeeper.intake.ccda import CcdaError, map_document, parse_xml

V3_DOC = '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>{body}</title></ClinicalDocument>'


def _listening_socket() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    return server


def _assert_no_connection(server: socket.socket) -> None:
    time.sleep(0.05)
    with pytest.raises(BlockingIOError):
        server.accept()


def test_external_file_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    raw = (
        f'<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        + V3_DOC.format(body="&xxe;")
    ).encode()
    with pytest.raises(CcdaError) as caught:
        map_document(raw)
    assert "DOCTYPE is not allowed" in str(caught.value)
    assert "TOP-SECRET" not in str(caught.value)
    assert caught.value.code == "security"


def test_external_dtd_and_network_entity_are_refused_without_connecting() -> None:
    server = _listening_socket()
    port = server.getsockname()[1]
    try:
        for raw in (
            f'<!DOCTYPE ClinicalDocument SYSTEM "http://127.0.0.1:{port}/evil.dtd">'
            + V3_DOC.format(body="x"),
            f'<!DOCTYPE ClinicalDocument [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]>'
            + V3_DOC.format(body="x"),
            f'<!DOCTYPE ClinicalDocument [<!ENTITY e SYSTEM "http://127.0.0.1:{port}/e">]>'
            + V3_DOC.format(body="&e;"),
        ):
            with pytest.raises(CcdaError):
                parse_xml(raw.encode())
        _assert_no_connection(server)
    finally:
        server.close()


def test_billion_laughs_is_refused_quickly() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    raw = f"<!DOCTYPE ClinicalDocument [{entities}]>" + V3_DOC.format(body="&lol9;")
    started = time.perf_counter()
    with pytest.raises(CcdaError):
        parse_xml(raw.encode())
    assert time.perf_counter() - started < 5  # a bound on damage, not a speed test


def test_malformed_xml_names_line_and_column() -> None:
    raw = b'<ClinicalDocument xmlns="urn:hl7-org:v3">\n  <title>x</titel>\n</ClinicalDocument>'
    with pytest.raises(CcdaError) as caught:
        parse_xml(raw)
    message = str(caught.value)
    assert message.startswith("malformed XML at line 2, column ")
    assert "titel" in message or "mismatch" in message.lower()
    assert caught.value.code == "structure"


def test_size_limit() -> None:
    with pytest.raises(CcdaError, match="the limit is 100"):
        parse_xml(b"<a/>" * 100, max_bytes=100)


def test_non_cda_xml_is_rejected_clearly() -> None:
    with pytest.raises(CcdaError, match="not a C-CDA document: the root element is"):
        map_document(b'<?xml version="1.0"?><note><to>x</to></note>')
    with pytest.raises(CcdaError, match="without a C-CDA document templateId"):
        map_document(V3_DOC.format(body="plain CDA").encode())


def test_xml_by_name_or_content(tmp_path: Path) -> None:
    from chartkeeper.intake.sources import sniff

    utf16 = tmp_path / "doc.CDA"
    utf16.write_bytes(
        '<?xml version="1.0" encoding="UTF-16"?><ClinicalDocument xmlns="urn:hl7-org:v3"/>'.encode("utf-16")
    )
    assert sniff(utf16) == "xml"
    assert parse_xml(utf16.read_bytes()).tag == "{urn:hl7-org:v3}ClinicalDocument"
    misnamed = tmp_path / "summary.txt"
    misnamed.write_bytes(b'\n  <ClinicalDocument xmlns="urn:hl7-org:v3"/>')
    assert sniff(misnamed) == "xml"
    json_named_xml = tmp_path / "bundle.xml"
    json_named_xml.write_bytes(b'{"resourceType": "Patient"}')
    assert sniff(json_named_xml) == "json"
