"""Required bindings and known code systems, checked against the codes compiled into the structure file.

Why only these: a record store cannot call a terminology server on every write, but the codes
of required bindings (statuses, genders, modes ...) decide how a resource is read, and the
core FHIR code systems are small and fixed for R4. Value sets over external systems (UCUM,
BCP-47, MIME types, ISO 4217) are not expanded and so not checked (listed in the structure
file's ``unexpanded_valuesets``).

Unknown codes in core FHIR code systems (``http://hl7.org/fhir/...``) are errors; in
terminology.hl7.org systems they are warnings, because those systems keep growing after R4 and
real data may use newer codes that the reference validator (which asks a server) accepts.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.fhir.outcome import Issue, Severity
from chartkeeper.fhir.validation.structure import ElementSpec, Structure


def _coding_text(codings: list[Any]) -> str:
    shown = []
    for coding in codings[:5]:
        if isinstance(coding, dict):
            shown.append(f"{coding.get('system', '')}#{coding.get('code', '')}")
    return ", ".join(shown)


def make_concept_binding_check(structure: Structure) -> Any:
    """Post-check for CodeableConcept / Coding elements bound with strength required."""

    def check(node: dict[str, Any], spec: ElementSpec, path: str, ctx: Any) -> None:
        url = spec.valueset
        systems = structure.valuesets.get(url) if url is not None else None
        if systems is None:
            return
        codings = [node] if spec.type_name == "Coding" else node.get("coding")
        if not isinstance(codings, list) or not codings:
            ctx.issues.append(
                Issue(
                    "error",
                    "code-invalid",
                    f"No code provided, and a code must be provided from the value set '{url}'",
                    path,
                )
            )
            return
        for coding in codings:
            if isinstance(coding, dict):
                system, code = coding.get("system"), coding.get("code")
                if type(system) is str and type(code) is str and code in systems.get(system, ()):
                    return
        ctx.issues.append(
            Issue(
                "error",
                "code-invalid",
                f"None of the codings provided are in the value set '{url}', and a coding from this "
                f"value set is required (codes = {_coding_text(codings)})",
                path,
            )
        )

    return check


def make_coding_check(structure: Structure) -> Any:
    """Object check for every Coding: a code in a code system the spec defines completely must exist there."""
    codesystems = structure.codesystems
    lowered = {
        url: frozenset(code.lower() for code in codes)
        for url, (case_sensitive, codes) in codesystems.items()
        if not case_sensitive
    }

    def check(node: dict[str, Any], path: str, ctx: Any) -> None:
        system = node.get("system")
        if type(system) is not str:
            return
        known = codesystems.get(system)
        if known is None:
            return
        code = node.get("code")
        if type(code) is not str or code in known[1]:
            return
        if not known[0] and code.lower() in lowered[system]:
            return
        severity: Severity = "error" if system.startswith("http://hl7.org/fhir/") else "warning"
        message = f"Unknown code '{code[:100]}' in the CodeSystem '{system}'"
        ctx.issues.append(Issue(severity, "code-invalid", message, f"{path}.code"))

    return check
