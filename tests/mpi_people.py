"""Small synthetic registrations for the MPI tests: people, planted duplicates, a few charts."""

from __future__ import annotations

import random
from typing import Any

from chartkeeper.intake.prepare import resource_write
from chartkeeper.store.repository import Store

GIVEN = [
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
]
FAMILY = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
]
STREETS = [
    "oak street",
    "maple avenue",
    "cedar road",
    "pine lane",
    "elm drive",
    "washington street",
    "lake road",
]
SSN = "http://hl7.org/fhir/sid/us-ssn"


def person(rng: random.Random, pid: str) -> dict[str, Any]:
    birth = f"{rng.randint(1930, 2015)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"system": "urn:oid:1.2.3.4", "value": f"MRN{rng.randint(10**6, 10**7)}"},
            {
                "system": SSN,
                "value": f"{rng.randint(100, 899)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
            },
        ],
        "name": [
            {"use": "official", "family": rng.choice(FAMILY).title(), "given": [rng.choice(GIVEN).title()]}
        ],
        "gender": rng.choice(["male", "female"]),
        "birthDate": birth,
        "telecom": [{"system": "phone", "value": f"617-555-{rng.randint(1000, 9999)}"}],
        "address": [
            {
                "line": [f"{rng.randint(1, 999)} {rng.choice(STREETS).title()}"],
                "city": "Boston",
                "postalCode": f"02{rng.randint(100, 199)}",
            }
        ],
    }


def duplicate(rng: random.Random, original: dict[str, Any], pid: str) -> dict[str, Any]:
    """A re-registration: new id and MRN, and one data-entry difference."""
    dup: dict[str, Any] = {**original, "id": pid}
    dup["identifier"] = [
        {"system": "urn:oid:1.2.3.4", "value": f"MRN{rng.randint(10**6, 10**7)}"},
        original["identifier"][1],
    ]
    kind = rng.choice(["typo", "swap", "moved", "exact"])
    if kind == "typo":
        family = original["name"][0]["family"]
        dup["name"] = [
            {**original["name"][0], "family": family[:2] + family[3:2:-1] + family[2] + family[4:]}
        ]
    elif kind == "swap":
        y, m, d = original["birthDate"].split("-")
        if int(d) <= 12:
            dup["birthDate"] = f"{y}-{d}-{m}"
    elif kind == "moved":
        dup["address"] = [{"line": ["12 New Street"], "city": "Cambridge", "postalCode": "02139"}]
    return dup


def population(n: int, dups: int, seed: int = 7) -> tuple[list[dict[str, Any]], set[tuple[str, str]]]:
    """``n`` people plus ``dups`` duplicates of the first ones; the true pairs (ids sorted)."""
    rng = random.Random(seed)
    people = [person(rng, f"p{i:04d}") for i in range(n)]
    truth = set()
    for i in range(dups):
        dup = duplicate(rng, people[i], f"d{i:04d}")
        people.append(dup)
        truth.add(tuple(sorted((people[i]["id"], dup["id"]))))
    return people, truth  # type: ignore[return-value]


def observation(oid: str, patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }


def write(store: Store, resources: list[dict[str, Any]]) -> None:
    store.apply([resource_write(r["resourceType"], r["id"], r) for r in resources])
