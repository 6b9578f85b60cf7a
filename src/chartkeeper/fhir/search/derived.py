"""Index rows derived from a parameter's values for modifiers that need more than its own rows.

Written by extraction beside the parameter's rows, in the token table, under a derived code
that no FHIR parameter has (it contains ``:``), so adding them needed no migration and they
never mix with the parameter's own rows (see docs/adr/0013):

* reference ``:identifier``: ``<ref>:identifier`` rows (Reference.identifier system, value);
* token ``:of-type``: ``identifier:of-type`` style rows ``(type system, of_type_key(type
  code, value))`` for each coding of an Identifier's type, so the whole
  ``system|code|value`` search is one index look-up on (hash, code).
* composites over a repeating element (``COMPONENT_COMPOSITES``): the value of each element
  under ``<composite>$<system>|<code>`` and ``<composite>$<code>`` for each coding of the
  element's code, so "this code with that value on the same element" is one index look-up.
"""

from __future__ import annotations


def identifier_code(code: str) -> str:
    """The derived parameter holding the identifiers of reference parameter ``code``."""
    return f"{code}:identifier"


def of_type_code(code: str) -> str:
    """The derived parameter holding (type, value) of the Identifiers of token ``code``."""
    return f"{code}:of-type"


def of_type_key(type_code: str, value: str) -> str:
    r"""One code column for a type code and an identifier value, unambiguous: ``\`` and ``|``
    in the type code are escaped, so the first unescaped ``|`` ends it."""
    escaped = type_code.replace("\\", "\\\\").replace("|", "\\|")
    return f"{escaped}|{value}"


#: Composites over a repeating element whose index rows tie the parts of one element
#: together: (resource type, composite code) -> (element key, value element, value kind).
#: The first component is the element's ``code`` (a CodeableConcept); rows of the second
#: component's kind are written under a derived parameter per code (``component_key``).
COMPONENT_COMPOSITES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("Observation", "component-code-value-quantity"): ("component", "valueQuantity", "quantity"),
    ("Observation", "component-code-value-concept"): ("component", "valueCodeableConcept", "token"),
}


def component_key(composite: str, system: str | None, code: str) -> str:
    """The derived parameter holding the values of elements coded ``system|code``
    (``system`` None: the key for "any system", the search form ``code``; "" for no system)."""
    if system is None:
        return f"{composite}${code}"
    return f"{composite}${system}|{code}"
