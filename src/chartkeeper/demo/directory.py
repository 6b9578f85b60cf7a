"""The shared directory of a population: Organizations, their Locations, Practitioners and roles.

The pool grows with the population: one Practitioner per ``shared_every`` registrations (at least 12),
one Organization (and one Location) per 8 Practitioners (at least 3). Every fourth Organization is a
hospital, the others are clinics; Practitioner ``k`` works at Organization ``k % n_org``. Only the
names and addresses are random (stream 7 of slot 0), so the pool costs one short pass to rebuild in
every shard.
"""

from __future__ import annotations

from collections.abc import Iterator

from chartkeeper.demo import names as N
from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import Resource, transaction
from chartkeeper.demo.ids import IdScheme, npi
from chartkeeper.demo.rand import Rand, pick, weighted
from chartkeeper.demo.truth import DemoTruth

SHARED_BUNDLE_SIZE = 500


class Directory:
    """Ids, names and addresses of the shared resources, and who works where."""

    def __init__(self, ids: IdScheme, patients: int, shared_every: int) -> None:
        self.ids = ids
        n_prac = max(12, -(-patients // shared_every))
        n_org = max(3, n_prac // 8)
        self.n_prac, self.n_org = n_prac, n_org
        r = ids.rng(0, 7).random
        self.org_ids = [ids.shared_id("Organization", i) for i in range(n_org)]
        self.loc_ids = [ids.shared_id("Location", i) for i in range(n_org)]
        self.prac_ids = [ids.shared_id("Practitioner", i) for i in range(n_prac)]
        self.org_names: list[str] = []
        self.org_city: list[tuple[str, str, str, str]] = []
        self.org_street: list[str] = []
        self.hospitals = [o for o in range(n_org) if o % 4 == 0]
        self.clinics = [o for o in range(n_org) if o % 4 != 0]
        self.prac_names: list[str] = []
        self.prac_given: list[str] = []
        self.prac_family: list[str] = []
        self.prac_sex: list[str] = []
        for o in range(n_org):
            self._add_organization(r, o)
        for _ in range(n_prac):
            self._add_practitioner(r)

    def _add_organization(self, r: Rand, o: int) -> None:
        city = N.LOCAL_CITIES[o % len(N.LOCAL_CITIES)] if o < 40 else pick(r, N.LOCAL_CITIES)
        if o % 4 == 0:
            name = f"{city[0]} {pick(r, N.HOSPITAL_SUFFIXES)}"
        else:
            name = f"{pick(r, N.SURNAMES['general'])} {pick(r, N.CLINIC_SUFFIXES)}"
        if name in self.org_names:
            name = f"{name} {o + 1}"
        self.org_names.append(name)
        self.org_city.append(city)
        self.org_street.append(
            f"{1 + int(r() * 900)} {pick(r, N.STREET_NAMES)} {pick(r, N.STREET_SUFFIXES)[0]}"
        )

    def _add_practitioner(self, r: Rand) -> None:
        origin = weighted(r, list(N.ORIGIN_WEIGHTS))
        sex = "female" if r() < 0.5 else "male"
        pool = (N.GIVEN_FEMALE if sex == "female" else N.GIVEN_MALE)[origin if r() < 0.5 else "general"]
        given = pick(r, pool)
        family = pick(r, N.SURNAMES[origin])
        self.prac_given.append(given)
        self.prac_family.append(family)
        self.prac_sex.append(sex)
        self.prac_names.append(f"Dr. {given} {family}")

    def prac_in(self, org: int, r: Rand) -> int:
        """A random practitioner working at organization ``org``."""
        count = (self.n_prac - org + self.n_org - 1) // self.n_org
        return org + self.n_org * int(r() * count)

    def practitioner_ref(self, k: int) -> Resource:
        """A fresh displayed Reference to Practitioner ``k``."""
        return {"reference": f"Practitioner/{self.prac_ids[k]}", "display": self.prac_names[k]}

    def _specialty(self, k: int) -> tuple[str, str]:
        org = k % self.n_org
        j = k // self.n_org
        if org % 4 == 0:
            return V.SPECIALTIES[(5, 1, 4, 3, 6)[j % 5]]
        return V.SPECIALTIES[(0, 1, 2, 0)[j % 4]]

    def _work_address(self, org: int) -> Resource:
        city, state, zipc, _ = self.org_city[org]
        return {
            "use": "work",
            "line": [self.org_street[org]],
            "city": city,
            "state": state,
            "postalCode": zipc,
            "country": "US",
        }

    # --- resources ---------------------------------------------------------------------------------
    def _organization(self, o: int) -> Resource:
        area = self.org_city[o][3]
        return {
            "resourceType": "Organization",
            "id": self.org_ids[o],
            "identifier": [{"system": V.NPI, "value": npi(100000000 + (o * 7919 + 17) % 99999999)}],
            "active": True,
            "type": [{"coding": [{"system": V.ORG_TYPE, "code": "prov", "display": "Healthcare Provider"}]}],
            "name": self.org_names[o],
            "telecom": [{"system": "phone", "value": f"{area}-555-{1000 + o % 9000:04d}", "use": "work"}],
            "address": [self._work_address(o)],
        }

    def _location(self, o: int) -> Resource:
        hosp = o % 4 == 0
        code, display = ("HOSP", "Hospital") if hosp else ("PC", "primary care clinic")
        return {
            "resourceType": "Location",
            "id": self.loc_ids[o],
            "status": "active",
            "name": self.org_names[o] + (" Main Campus" if hosp else ""),
            "mode": "instance",
            "type": [{"coding": [{"system": V.ROLE_CODE, "code": code, "display": display}]}],
            "address": self._work_address(o),
            "managingOrganization": {"reference": f"Organization/{self.org_ids[o]}"},
        }

    def _practitioner(self, k: int) -> Resource:
        org = k % self.n_org
        area = self.org_city[org][3]
        return {
            "resourceType": "Practitioner",
            "id": self.prac_ids[k],
            "identifier": [{"system": V.NPI, "value": npi(100000000 + (k * 104729 + 31) % 99999999)}],
            "active": True,
            "name": [
                {
                    "use": "official",
                    "family": self.prac_family[k],
                    "given": [self.prac_given[k]],
                    "prefix": ["Dr."],
                    "suffix": ["MD"],
                }
            ],
            "telecom": [{"system": "phone", "value": f"{area}-555-{2000 + k % 8000:04d}", "use": "work"}],
            "address": [self._work_address(org)],
            "gender": self.prac_sex[k],
            "qualification": [{"code": {"text": "MD"}}],
        }

    def _role(self, k: int) -> Resource:
        org = k % self.n_org
        sp_code, sp_display = self._specialty(k)
        return {
            "resourceType": "PractitionerRole",
            "id": self.ids.shared_id("PractitionerRole", k),
            "active": True,
            "practitioner": self.practitioner_ref(k),
            "organization": {
                "reference": f"Organization/{self.org_ids[org]}",
                "display": self.org_names[org],
            },
            "code": [{"coding": [{"system": V.PRACTITIONER_ROLE, "code": "doctor", "display": "Doctor"}]}],
            "specialty": [{"coding": [{"system": V.SNOMED, "code": sp_code, "display": sp_display}]}],
            "location": [{"reference": f"Location/{self.loc_ids[org]}"}],
        }

    def resources(self) -> Iterator[Resource]:
        """All shared resources: Organizations, Locations, Practitioners, then PractitionerRoles."""
        yield from map(self._organization, range(self.n_org))
        yield from map(self._location, range(self.n_org))
        yield from map(self._practitioner, range(self.n_prac))
        yield from map(self._role, range(self.n_prac))

    def bundles(self, truth: DemoTruth | None) -> Iterator[Resource]:
        """The shared resources in transaction Bundles of at most ``SHARED_BUNDLE_SIZE`` entries."""
        batch: list[Resource] = []
        n = 0
        for res in self.resources():
            batch.append(res)
            if len(batch) == SHARED_BUNDLE_SIZE:
                yield transaction(self.ids.shared_id("Bundle", n), batch, truth)
                n += 1
                batch = []
        if batch:
            yield transaction(self.ids.shared_id("Bundle", n), batch, truth)
