"""Fuzzing C-CDA intake with mutated real documents (elements dropped or duplicated,
attributes and text garbled, bytes truncated): only clear rejections or valid resources, never an
unhandled exception, and — checked in the store on both databases — never a partial write."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from chartkeeper.fhir.validation import validate_resource
from chartkeeper.intake.ccda import map_document
from chartkeeper.intake.ccda.prepare import prepare_ccda
from chartkeeper.intake.models import CcdaUnit
from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store

from conftest import SHARED_DATA

CCDA = SHARED_DATA / "ccda"
SAMPLES = [
    (CCDA / name).read_bytes()
    for name in (
        "microsoft-fhir-converter/sample.ccda",
        "hl7-c-cda-examples/Documents/Progress Note/Progress_Note.xml",
        "hl7-c-cda-examples/Documents/Discharge Summary/Discharge_Summary.xml",
        "onc-2015-certification/McKesson Paragon/SusanTurner.xml",
        "onc-2015-certification/MedHost Enterprise/CCD_2222444_35351_1179.xml",
    )
]
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
ODD_VALUES = ["", " ", "-1", "0", "NaN", "1e999", "99999999999999999999", "2.16.840.1", "true", "UNK", "<&>"]
OPS = ("drop", "duplicate", "attribute", "text", "truncate", "rename")


def _store_is_empty(criteria: Any) -> list[str]:
    """The resolver of an empty store: no conditional match ever finds anything."""
    return []


def mutate(raw: bytes, choose: Any) -> bytes:
    """Apply 1 to 5 mutations; ``choose(kind, bound)`` draws an int in [0, bound] (hypothesis or a Random)."""
    root = etree.fromstring(raw, _PARSER)
    truncate_at = None
    for _ in range(choose("count", 4) + 1):
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        target = elements[choose("element", len(elements) - 1)]
        parent = target.getparent()
        op = OPS[choose("op", len(OPS) - 1)]
        if op == "drop" and parent is not None:
            parent.remove(target)
        elif op == "duplicate" and parent is not None:
            parent.insert(parent.index(target), copy.deepcopy(target))
        elif op == "attribute" and target.attrib:
            names = sorted(target.attrib)
            name = names[choose("attr", len(names) - 1)]
            target.set(name, ODD_VALUES[choose("value", len(ODD_VALUES) - 1)])
        elif op == "text":
            target.text = ODD_VALUES[choose("value", len(ODD_VALUES) - 1)]
        elif op == "rename" and parent is not None:
            target.tag = "{urn:hl7-org:v3}" + ("value", "code", "id", "effectiveTime", "x")[choose("tag", 4)]
        elif op == "truncate":
            truncate_at = choose("cut", 100)
    out = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if truncate_at is not None:
        out = out[: len(out) * truncate_at // 100]
    return out


def _check_prepared(raw: bytes) -> None:
    prepared = prepare_ccda(CcdaUnit("fuzz.xml", raw), resolver=_store_is_empty)
    if prepared.rejects:
        assert not prepared.writes
        for reject in prepared.rejects:
            assert reject.raw == raw
            for issue in reject.issues:
                assert issue.code != "exception", issue.message  # a mapping bug, not a bad document
                assert issue.message.strip()
        return
    assert prepared.writes
    for write in prepared.writes:
        assert write.content is not None
        errors = [i for i in validate_resource(orjson.loads(write.content)) if i.is_error]
        assert not errors, errors


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sample=st.sampled_from(range(len(SAMPLES))), data=st.data())
def test_mutated_documents_give_clear_errors_or_valid_resources(sample: int, data: st.DataObject) -> None:
    raw = mutate(SAMPLES[sample], lambda kind, bound: data.draw(st.integers(0, bound), label=kind))
    _check_prepared(raw)


def _random_mutants(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [
        mutate(SAMPLES[i % len(SAMPLES)], lambda kind, bound: rng.randint(0, bound)) for i in range(count)
    ]


@pytest.mark.parametrize("seed", [7])
def test_no_partial_writes_in_the_store(store: Store, tmp_path: Path, seed: int) -> None:
    mutants = _random_mutants(30, seed)
    paths = []
    for i, raw in enumerate(mutants):
        path = tmp_path / f"mutant-{i:02d}.xml"
        path.write_bytes(raw)
        paths.append(path)
    report = ingest(store, paths, workers=1)
    rejected = {Path(m.split(": ", 1)[0]).name for m in report.messages}
    assert report.rejected == len(rejected)
    assert 0 < len(rejected) < len(paths)  # the sample exercises both outcomes
    for path in paths:
        try:
            mapped = map_document(path.read_bytes())
        except Exception:
            assert path.name in rejected
            continue
        own = [
            e["resource"] for e in mapped.bundle["entry"] if e["request"]["method"] == "PUT"
        ]  # resources only this document writes (shared people and organizations are conditional)
        present = [_exists(store, r["resourceType"], r["id"]) for r in own]
        if path.name in rejected:
            assert not any(present), f"{path.name}: rejected but partly written"
        else:
            assert all(present), f"{path.name}: accepted but not all written"


def _exists(store: Store, res_type: str, res_id: str) -> bool:
    try:
        store.read(res_type, res_id)
    except Exception:
        return False
    return True
