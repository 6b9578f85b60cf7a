"""Hand-compiled FHIRPath invariants of the core spec that matter for clinical records.

Why hand-compiled: a general FHIRPath engine would cost more per node than all other checks
together, while the error-severity invariants of the clinical resources are a few dozen short
expressions. Each one here is a plain Python predicate over the JSON object (True = holds),
written from the expression shown in its comment; the key's human text, severity and context
path come from the spec via the structure file, and a unit test checks that every key used here
exists there at the same context.

Not covered (the structural walk or a dedicated module does them, or they need what a record
store cannot know): ele-1 (empty values, done by the walker), ext-1 here, ref-1/dom-2..5 (local
references, done per resource by the validator), txt-1/txt-2 (:mod:`xhtml`), bdl-* (:mod:`bundle`),
invariants of conformance resources (StructureDefinition, CapabilityStatement, TestScript ...)
and those needing ``resolve()`` (ctm-1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chartkeeper.fhir.validation.dates import compare

Node = dict[str, Any]
Predicate = Callable[[Node], bool]

UCUM = "http://unitsofmeasure.org"
QUANTITY_TYPES = ("Quantity", "Age", "Count", "Distance", "Duration", "SimpleQuantity", "MoneyQuantity")


def has(node: Node, name: str) -> bool:
    """FHIRPath ``name.exists()`` for a property (a primitive may be present only as ``_name``)."""
    return name in node or "_" + name in node


def has_any(node: Node, names: Iterable[str]) -> bool:
    return any(name in node or "_" + name in node for name in names)


def items(value: Any) -> list[Any]:
    """A property's values as a list (FHIRPath collections are flat)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def has_coding(concept: Any, system: str, codes: tuple[str, ...]) -> bool:
    if not isinstance(concept, dict):
        return False
    return any(
        isinstance(c, dict) and c.get("system") == system and c.get("code") in codes
        for c in items(concept.get("coding"))
    )


def _xor(a: bool, b: bool) -> bool:
    return a != b


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def period_ok(node: Node) -> bool:
    """per-1: start.hasValue().not() or end.hasValue().not() or (start <= end)"""
    start, end = node.get("start"), node.get("end")
    if not isinstance(start, str) or not isinstance(end, str):
        return True
    order = compare(start, end)
    return order is not None and order <= 0


def range_ok(node: Node) -> bool:
    """rng-2: low.empty() or high.empty() or (low <= high); quantities in different units are not compared."""
    low, high = node.get("low"), node.get("high")
    if not isinstance(low, dict) or not isinstance(high, dict):
        return True
    lv, hv = _number(low.get("value")), _number(high.get("value"))
    if lv is None or hv is None:
        return True
    if (low.get("code"), low.get("unit")) != (high.get("code"), high.get("unit")):
        return True
    return lv <= hv


def ucum_quantity(node: Node, *, positive: bool = False, integer: bool = False) -> bool:
    """age-1 / dis-1 / cnt-3: coded if valued, system UCUM when present (Age: value > 0, Count: code 1)."""
    value = node.get("value")
    if "value" in node and "code" not in node:
        return False
    if "system" in node and node.get("system") != UCUM:
        return False
    number = _number(value)
    if positive and number is not None and number <= 0:
        return False
    if integer:
        if "code" in node and node.get("code") != "1":
            return False
        if isinstance(value, float) and not value.is_integer():
            return False
    return True


def duration_ok(node: Node) -> bool:
    """drt-1: code.exists() implies ((system = %ucum) and value.exists())"""
    return "code" not in node or (node.get("system") == UCUM and has(node, "value"))


def ratio_ok(node: Node) -> bool:
    """rat-1: (numerator.empty() xor denominator.exists()) and (numerator.exists() or extension.exists())"""
    num, den = "numerator" in node, "denominator" in node
    return _xor(not num, den) and (num or "extension" in node)


def timing_repeat_rules() -> list[tuple[str, Predicate]]:
    def when_codes(node: Node) -> list[Any]:
        return items(node.get("when"))

    return [
        ("tim-1", lambda n: not has(n, "duration") or has(n, "durationUnit")),
        ("tim-2", lambda n: not has(n, "period") or has(n, "periodUnit")),
        ("tim-4", lambda n: (_number(n.get("duration")) or 0) >= 0),
        ("tim-5", lambda n: (_number(n.get("period")) or 0) >= 0),
        ("tim-6", lambda n: not has(n, "periodMax") or has(n, "period")),
        ("tim-7", lambda n: not has(n, "durationMax") or has(n, "duration")),
        ("tim-8", lambda n: not has(n, "countMax") or has(n, "count")),
        (
            "tim-9",
            lambda n: not has(n, "offset")
            or (has(n, "when") and not any(w in ("C", "CM", "CD", "CV") for w in when_codes(n))),
        ),
        ("tim-10", lambda n: not has(n, "timeOfDay") or not has(n, "when")),
    ]


def observation_rules(value_keys: tuple[str, ...]) -> list[tuple[str, Predicate]]:
    def obs7(node: Node) -> bool:
        """value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"""
        if not has_any(node, value_keys) or "component" not in node:
            return True
        code = node.get("code")
        own = items(code.get("coding")) if isinstance(code, dict) else []
        for component in items(node.get("component")):
            ccode = component.get("code") if isinstance(component, dict) else None
            if isinstance(ccode, dict) and any(c in own for c in items(ccode.get("coding"))):
                return False
        return True

    return [
        ("obs-6", lambda n: "dataAbsentReason" not in n or not has_any(n, value_keys)),
        ("obs-7", obs7),
    ]


def _distinct(values: list[Any]) -> bool:
    seen: set[str] = set()
    for value in values:
        if isinstance(value, str):
            if value in seen:
                return False
            seen.add(value)
    return True


def _collect(node: Any, child: str, field: str, out: list[Any]) -> list[Any]:
    """``field`` of every ``child`` object, recursively (Questionnaire items, CodeSystem concepts)."""
    for item in items(node.get(child)) if isinstance(node, dict) else []:
        if isinstance(item, dict):
            out.append(item.get(field))
            _collect(item, child, field, out)
    return out


def conformance_rules() -> dict[str, list[tuple[str, Predicate]]]:
    """Invariants of conformance resources a record store may hold (value sets, capabilities ...)."""
    return {
        "Questionnaire": [("que-2", lambda n: _distinct(_collect(n, "item", "linkId", [])))],
        "CodeSystem": [("csd-1", lambda n: _distinct(_collect(n, "concept", "code", [])))],
        "ValueSet.compose.include": [
            ("vsd-1", lambda n: "valueSet" in n or has(n, "system")),
            ("vsd-2", lambda n: not ("concept" in n or "filter" in n) or has(n, "system")),
            ("vsd-3", lambda n: "concept" not in n or "filter" not in n),
        ],
        "ValueSet.expansion.contains": [
            ("vsd-6", lambda n: has(n, "code") or has(n, "display")),
            ("vsd-9", lambda n: has(n, "code") or n.get("abstract") is True),
            ("vsd-10", lambda n: not has(n, "code") or has(n, "system")),
        ],
        "SearchParameter": [
            ("spd-1", lambda n: not has(n, "xpath") or has(n, "xpathUsage")),
            ("spd-2", lambda n: "chain" not in n or n.get("type") == "reference"),
        ],
        "OperationDefinition.parameter": [
            ("opd-1", lambda n: has(n, "type") or "part" in n),
            ("opd-2", lambda n: not has(n, "searchType") or n.get("type") == "string"),
            ("opd-3", lambda n: "targetProfile" not in n or n.get("type") in ("Reference", "canonical")),
        ],
        "ConceptMap.group.element.target": [
            (
                "cmd-1",
                lambda n: has(n, "comment")
                or "equivalence" not in n
                or n.get("equivalence") not in ("narrower", "inexact"),
            )
        ],
        "ConceptMap.group.unmapped": [
            ("cmd-2", lambda n: n.get("mode") != "fixed" or has(n, "code")),
            ("cmd-3", lambda n: n.get("mode") != "other-map" or has(n, "url")),
        ],
        "CapabilityStatement": [
            ("cpb-1", lambda n: any(k in n for k in ("rest", "messaging", "document"))),
            (
                "cpb-2",
                lambda n: any(k in n for k in ("description", "_description", "software", "implementation")),
            ),
            (
                "cpb-3",
                lambda n: n.get("kind") == "instance"
                or not any(isinstance(m, dict) and "endpoint" in m for m in items(n.get("messaging"))),
            ),
            ("cpb-14", lambda n: n.get("kind") != "instance" or "implementation" in n),
            (
                "cpb-15",
                lambda n: n.get("kind") != "capability" or ("implementation" not in n and "software" in n),
            ),
            (
                "cpb-16",
                lambda n: n.get("kind") != "requirements"
                or ("implementation" not in n and "software" not in n),
            ),
        ],
        "NamingSystem": [
            (
                "nsd-1",
                lambda n: n.get("kind") != "root"
                or all(not isinstance(u, dict) or u.get("type") != "uuid" for u in items(n.get("uniqueId"))),
            )
        ],
    }


CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"


def build(choice_keys: Callable[[str, str], tuple[str, ...]]) -> dict[str, list[tuple[str, Predicate]]]:
    """Context path -> [(invariant key, predicate)]. ``choice_keys(def, base)`` names a choice's JSON keys."""
    abatement = choice_keys("Condition", "abatement")
    fmh_age = choice_keys("FamilyMemberHistory", "age")
    fmh_born = choice_keys("FamilyMemberHistory", "born")
    sr_obs_value = choice_keys("Observation", "value")
    ces_item = "CoverageEligibilityResponse.insurance.item"

    rules: dict[str, list[tuple[str, Predicate]]] = {
        "Period": [("per-1", period_ok)],
        "Range": [("rng-2", range_ok)],
        "Ratio": [("rat-1", ratio_ok)],
        "ContactPoint": [("cpt-2", lambda n: not has(n, "value") or has(n, "system"))],
        "Attachment": [("att-1", lambda n: not has(n, "data") or has(n, "contentType"))],
        "Extension": [
            (
                "ext-1",
                lambda n: _xor(
                    "extension" in n, any(k.startswith("value") or k.startswith("_value") for k in n)
                ),
            )
        ],
        "Expression": [("exp-1", lambda n: has(n, "expression") or has(n, "reference"))],
        "TriggerDefinition": [
            ("trd-1", lambda n: "data" not in n or not any(k.startswith("timing") for k in n)),
            ("trd-2", lambda n: "condition" not in n or "data" in n),
            (
                "trd-3",
                lambda n: (n.get("type") != "named-event" or has(n, "name"))
                and (n.get("type") != "periodic" or any(k.startswith("timing") for k in n))
                and (not str(n.get("type", "")).startswith("data-") or "data" in n),
            ),
        ],
        "DataRequirement.codeFilter": [("drq-1", lambda n: _xor(has(n, "path"), has(n, "searchParam")))],
        "DataRequirement.dateFilter": [("drq-2", lambda n: _xor(has(n, "path"), has(n, "searchParam")))],
        "Timing.repeat": timing_repeat_rules(),
        "Age": [("age-1", lambda n: ucum_quantity(n, positive=True))],
        "Distance": [("dis-1", ucum_quantity)],
        "Count": [("cnt-3", lambda n: ucum_quantity(n, integer=True))],
        "Duration": [("drt-1", duration_ok)],
        "Patient.contact": [
            ("pat-1", lambda n: any(k in n for k in ("name", "telecom", "address", "organization")))
        ],
        "Observation": observation_rules(sr_obs_value),
        "Observation.referenceRange": [
            ("obs-3", lambda n: any(k in n for k in ("low", "high", "text", "_text")))
        ],
        "Condition": [
            (
                "con-4",
                lambda n: not has_any(n, abatement)
                or has_coding(
                    n.get("clinicalStatus"), CONDITION_CLINICAL, ("resolved", "remission", "inactive")
                ),
            ),
            (
                "con-5",
                lambda n: not has_coding(n.get("verificationStatus"), CONDITION_VER, ("entered-in-error",))
                or "clinicalStatus" not in n,
            ),
        ],
        "Condition.stage": [("con-1", lambda n: "summary" in n or "assessment" in n)],
        "Condition.evidence": [("con-2", lambda n: "code" in n or "detail" in n)],
        "AllergyIntolerance": [
            (
                "ait-1",
                lambda n: has_coding(n.get("verificationStatus"), ALLERGY_VER, ("entered-in-error",))
                or "clinicalStatus" in n,
            ),
            (
                "ait-2",
                lambda n: not has_coding(n.get("verificationStatus"), ALLERGY_VER, ("entered-in-error",))
                or "clinicalStatus" not in n,
            ),
        ],
        "Appointment": [
            ("app-2", lambda n: has(n, "start") == has(n, "end")),
            (
                "app-3",
                lambda n: (has(n, "start") and has(n, "end"))
                or n.get("status") in ("proposed", "cancelled", "waitlist"),
            ),
            (
                "app-4",
                lambda n: "cancelationReason" not in n or n.get("status") in ("noshow", "cancelled"),
            ),
        ],
        "Appointment.participant": [("app-1", lambda n: "type" in n or "actor" in n)],
        "AppointmentResponse": [("apr-1", lambda n: "participantType" in n or "actor" in n)],
        "CarePlan.activity": [("cpl-3", lambda n: "detail" not in n or "reference" not in n)],
        "Composition.section": [
            ("cmp-1", lambda n: any(k in n for k in ("text", "entry", "section"))),
            ("cmp-2", lambda n: "emptyReason" not in n or "entry" not in n),
        ],
        "List": [
            ("lst-1", lambda n: "emptyReason" not in n or "entry" not in n),
            (
                "lst-2",
                lambda n: n.get("mode") == "changes"
                or not any(isinstance(e, dict) and has(e, "deleted") for e in items(n.get("entry"))),
            ),
            (
                "lst-3",
                lambda n: n.get("mode") == "working"
                or not any(isinstance(e, dict) and has(e, "date") for e in items(n.get("entry"))),
            ),
        ],
        "MedicationAdministration.dosage": [
            ("mad-1", lambda n: "dose" in n or any(k.startswith("rate") for k in n))
        ],
        "MedicationDispense": [
            (
                "mdd-1",
                lambda n: not isinstance(n.get("whenHandedOver"), str)
                or not isinstance(n.get("whenPrepared"), str)
                or (compare(n["whenHandedOver"], n["whenPrepared"]) or 0) >= 0,
            )
        ],
        "Organization": [("org-1", lambda n: "identifier" in n or has(n, "name"))],
        "Organization.address": [("org-2", lambda n: n.get("use") != "home")],
        "Organization.telecom": [("org-3", lambda n: n.get("use") != "home")],
        "FamilyMemberHistory": [
            ("fhs-1", lambda n: not has_any(n, fmh_age) or not has_any(n, fmh_born)),
            ("fhs-2", lambda n: has_any(n, fmh_age) or "estimatedAge" not in n),
        ],
        "Goal.target": [("gol-1", lambda n: not any(k.startswith("detail") for k in n) or "measure" in n)],
        "Group": [("grp-1", lambda n: "member" not in n or n.get("actual") is True)],
        "Immunization.education": [("imm-1", lambda n: has(n, "documentType") or has(n, "reference"))],
        "ImmunizationRecommendation.recommendation": [
            ("imr-1", lambda n: "vaccineCode" in n or "targetDisease" in n)
        ],
        "ServiceRequest": [("prr-1", lambda n: "orderDetail" not in n or "code" in n)],
        "QuestionnaireResponse.item": [("qrs-1", lambda n: not ("answer" in n and "item" in n))],
        "Questionnaire.item": [
            (
                "que-1",
                lambda n: (n.get("type") != "group" or "item" in n)
                and (n.get("type") != "display" or "item" not in n),
            ),
            ("que-3", lambda n: n.get("type") != "display" or "code" not in n),
            ("que-4", lambda n: "answerOption" not in n or not has(n, "answerValueSet")),
            (
                "que-5",
                lambda n: n.get("type")
                in (
                    "choice",
                    "open-choice",
                    "decimal",
                    "integer",
                    "date",
                    "dateTime",
                    "time",
                    "string",
                    "quantity",
                )
                or ("answerValueSet" not in n and "answerOption" not in n),
            ),
            ("que-6", lambda n: n.get("type") != "display" or not (has(n, "required") or has(n, "repeats"))),
            ("que-8", lambda n: n.get("type") not in ("group", "display") or "initial" not in n),
            ("que-9", lambda n: n.get("type") != "display" or not has(n, "readOnly")),
            (
                "que-10",
                lambda n: n.get("type")
                in ("boolean", "decimal", "integer", "string", "text", "url", "open-choice")
                or not has(n, "maxLength"),
            ),
            ("que-11", lambda n: "answerOption" not in n or "initial" not in n),
            ("que-12", lambda n: len(items(n.get("enableWhen"))) <= 2 or has(n, "enableBehavior")),
            ("que-13", lambda n: n.get("repeats") is True or len(items(n.get("initial"))) <= 1),
        ],
        "RiskAssessment.prediction": [
            (
                "ras-2",
                lambda n: not isinstance(n.get("probabilityDecimal"), (int, float))
                or n["probabilityDecimal"] <= 100,
            )
        ],
        ces_item: [("ces-1", lambda n: _xor("category" in n, "productOrService" in n))],
        "Consent": [("ppc-1", lambda n: "policy" in n or "policyRule" in n)],
        "Linkage": [("lnk-1", lambda n: len(items(n.get("item"))) > 1)],
        "AuditEvent.entity": [("sev-1", lambda n: not has(n, "name") or not has(n, "query"))],
        "RequestGroup.action": [("rqg-1", lambda n: ("resource" in n) != ("action" in n))],
        "MeasureReport": [("mrp-1", lambda n: n.get("type") != "data-collection" or "group" not in n)],
        "InsurancePlan": [("ipn-1", lambda n: "identifier" in n or has(n, "name"))],
    }
    rules.update(conformance_rules())
    for quantity_type in QUANTITY_TYPES:  # qty-3 is inherited by every kind of Quantity
        rules.setdefault(quantity_type, []).insert(0, ("qty-3", quantity_code_has_system))
    return rules


def quantity_code_has_system(node: Node) -> bool:
    """qty-3: code.empty() or system.exists()"""
    return "code" not in node or has(node, "system")
