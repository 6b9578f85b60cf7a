"""ICD-10-CM subsumption as the search parser's terminology port."""

from __future__ import annotations

from chartkeeper.coding.hierarchy import Icd10cmHierarchy, with_icd10cm
from chartkeeper.coding.models import ICD10CM_SYSTEM
from chartkeeper.fhir.search.terminology import Subsumed, default_terminology

H = Icd10cmHierarchy()


def test_below_a_category_or_subcategory_is_a_code_prefix() -> None:
    assert H.below("E11") == Subsumed(codes=("E11",), prefixes=("E11.",))
    assert H.below("E11.6") == Subsumed(codes=("E11.6",), prefixes=("E11.6",))
    assert H.below("e116") == Subsumed(codes=("E11.6",), prefixes=("E11.6",))  # written loosely


def test_below_a_block_expands_to_its_categories() -> None:
    found = H.below("E08-E13")
    assert found is not None
    assert found.codes == ("E08-E13", "E08", "E09", "E10", "E11", "E13")
    assert found.prefixes == ("E08.", "E09.", "E10.", "E11.", "E13.")


def test_seventh_character_codes_are_known_though_not_listed() -> None:
    assert H.below("S72.001A") == Subsumed(codes=("S72.001A",))
    above = H.above("S72.001A")
    assert above is not None and {"S72", "S72.0", "S72.00", "S72.001", "S72.001A"} <= set(above.codes)


def test_above_is_the_code_and_its_ancestors() -> None:
    assert H.above("E11.9") == Subsumed(codes=("4", "E08-E13", "E11", "E11.9"))


def test_unknown_codes() -> None:
    assert H.below("Z99.99") is None and H.above("E11.99") is None


def test_with_icd10cm_adds_the_system_to_a_terminology() -> None:
    terms = with_icd10cm(default_terminology())
    assert ICD10CM_SYSTEM in terms.hierarchies and ICD10CM_SYSTEM not in default_terminology().hierarchies
    assert terms.value_sets is default_terminology().value_sets
