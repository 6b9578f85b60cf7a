"""Immunizations given at office visits: the childhood schedule at well-child visits, seasonal flu,
COVID-19 (from 2021), and adult Td/Tdap, pneumococcal and zoster vaccines. The chart remembers what
was given (``Chart.vax_given``, ``flu_seasons`` ...) so no vaccine is repeated too early.
"""

from __future__ import annotations

from datetime import date

from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import cc
from chartkeeper.demo.chart import Chart, Visit
from chartkeeper.demo.clock import COVID_VACCINE_START, SHINGRIX_START, dt

_VACCINE_CODE = {k: cc(V.CVX, c, d, d) for k, (c, d) in V.VACCINES.items()}


def immunization(c: Chart, vkey: str, v: Visit) -> None:
    """Write an Immunization with vaccine ``vkey`` (V.VACCINES) and a random lot number."""
    r = c.r
    c.res.append(
        {
            "resourceType": "Immunization",
            "id": c.nid("Immunization"),
            "status": "completed",
            "vaccineCode": _VACCINE_CODE[vkey],
            "patient": {"reference": c.pref},
            "encounter": {"reference": v.eref},
            "occurrenceDateTime": dt(v.day, v.minute + 30),
            "primarySource": True,
            "lotNumber": f"{chr(65 + int(r() * 26))}{chr(65 + int(r() * 26))}{int(r() * 100000):05d}",
            "performer": [{"actor": {"reference": f"Practitioner/{c.d.prac_ids[v.prac]}"}}],
        }
    )


def immunize(c: Chart, v: Visit) -> None:
    """Write the vaccines given at an office visit."""
    wellness = v.purpose == "wellness"
    if v.age < 19 and wellness:
        _catch_up_childhood(c, v)
    _seasonal(c, v)
    if wellness and v.age >= 19:
        _adult(c, v)


def _catch_up_childhood(c: Chart, v: Visit) -> None:
    """The childhood doses now due; at most 5 per visit, and none more than 3 years overdue."""
    age_days = v.day - c.p.birth
    given = 0
    for i, (vkey, due) in enumerate(V.CHILD_SCHEDULE):
        if i in c.vax_given or due > age_days:
            continue
        c.vax_given.add(i)
        if age_days - due < 3 * 365 and given < 5:
            immunization(c, vkey, v)
            given += 1


def _seasonal(c: Chart, v: Visit) -> None:
    """Flu once per season (September-March), and up to three COVID-19 doses."""
    r, day, age = c.r, v.day, v.age
    d = date.fromordinal(day)
    month = d.month
    season = d.year - (1 if month < 7 else 0)
    if (month >= 9 or month <= 3) and age >= 0.5 and season not in c.flu_seasons and r() < 0.55:
        c.flu_seasons.add(season)
        immunization(c, "flu", v)
    if day >= COVID_VACCINE_START and age >= 5 and c.covid_doses < 3 and r() < 0.25:
        c.covid_doses += 1
        immunization(c, "covid", v)


def _adult(c: Chart, v: Visit) -> None:
    """Td/Tdap every 10 years; pneumococcal from 65 and zoster from 50, once."""
    r, day, age = c.r, v.day, v.age
    if day - c.last_td > 3650 and r() < 0.3:
        c.last_td = day
        immunization(c, "tdap" if r() < 0.5 else "td", v)
    if age >= 65 and not c.pneumo and r() < 0.5:
        c.pneumo = True
        immunization(c, "ppsv23" if r() < 0.5 else "pcv13", v)
    if age >= 50 and not c.zoster and r() < 0.3:
        c.zoster = True
        immunization(c, "zoster" if day >= SHINGRIX_START else "zoster_live", v)
