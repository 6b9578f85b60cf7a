"""``chartkeeper code ...``: ICD-10-CM look-up, search, suggestion, validation, queue and DNFB."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from chartkeeper.cli import common
from chartkeeper.cli.common import console, fail

code_app = typer.Typer(
    help="Diagnosis coding (ICD-10-CM FY2026): look-up, search, suggestion, validation, coding queue, DNFB.",
    no_args_is_help=True,
)
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Limit = Annotated[int, typer.Option("--limit", help="At most this many results.")]


def _print_json(data: Any) -> None:
    print(orjson.dumps(data).decode())


def _service(ctx: typer.Context) -> Any:
    """The coding service over the database's own hash-chained audit trail: what the operator
    reads and codes from the command line is audited like any other access."""
    from chartkeeper.coding.service import CodingService
    from chartkeeper.security.audit import AuditTrail

    store = common.open_store(ctx)
    return CodingService(store, AuditTrail(store))


def _caller() -> Any:
    import getpass

    from chartkeeper.security.caller import local_caller

    return local_caller(getpass.getuser())


@code_app.command("lookup")
def lookup(
    code: Annotated[str, typer.Argument(help="An ICD-10-CM code, with or without the dot (E11.9, E119).")],
    json_out: JsonOut = False,
) -> None:
    """Everything the tabular list says about a code: hierarchy, billability, notes, 7th characters."""
    from chartkeeper.coding.lookup import describe

    info = common.guard(lambda: describe(code))
    if json_out:
        _print_json(info)
        return
    print(f"{info['code']}  {info['description']}")
    print(f"  {info['kind']}, {'billable' if info['billable'] else 'not billable'}  ({info['release']})")
    if "problem" in info:
        print(f"  {info['problem']['rule']}: {info['problem']['message']}")
    for key in ("chapter", "block"):
        if info.get(key):
            print(f"  {key}: {info[key]['code']} {info[key]['description']}")
    for name in (
        "includes",
        "inclusion_term",
        "excludes1",
        "excludes2",
        "code_first",
        "use_additional_code",
        "code_also",
        "notes",
    ):
        for value in info.get(name, []):
            print(f"  {name.replace('_', ' ')}: {value}")
    for name, groups in info.get("inherited_notes", {}).items():
        for group in groups:
            for value in group["notes"]:
                print(f"  {name.replace('_', ' ')} (from {group['at']}): {value}")
    if "seventh_character" in info:
        seventh = info["seventh_character"]
        values = ", ".join(f"{k} {v}" for k, v in sorted(seventh["values"].items()))
        print(f"  7th character (from {seventh['at']}): {values}")
    for child in info["children"][:40]:
        print(f"    {child['code']:10} {child['description']}")


@code_app.command("browse")
def browse(
    code: Annotated[
        str | None, typer.Argument(help="A chapter, block or code; none for the chapters.")
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """The hierarchy one level down from CODE (the 22 chapters when no code is given)."""
    from chartkeeper.coding.lookup import browse as run

    rows = common.guard(lambda: run(code))
    if json_out:
        _print_json(rows)
        return
    for row in rows:
        mark = " *" if row.get("billable") else ""
        print(f"{row['code']:10} {row['description']}{mark}")


@code_app.command("search")
def search(
    text: Annotated[
        str, typer.Argument(help="Words to look for (any order; typos and abbreviations are fine).")
    ],
    limit: Limit = 20,
    json_out: JsonOut = False,
) -> None:
    """Search tabular descriptions and inclusion terms; headers included."""
    from chartkeeper.coding.search import search as run

    results = common.guard(lambda: run(text, limit))
    if json_out:
        _print_json([r.as_json(detail=True) for r in results])
        return
    for r in results:
        print(f"{r.code:10} {r.score:.3f}  {r.description}")


@code_app.command("suggest")
def suggest(
    text: Annotated[str | None, typer.Argument(help="A diagnosis phrase or a sentence of a note.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="One phrase per line; one JSON list per output line.")
    ] = None,
    limit: Limit = 5,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", help="With --file: processes to spread the phrases over (0: one per core)."
        ),
    ] = 0,
    json_out: JsonOut = False,
) -> None:
    """Ranked billable ICD-10-CM codes for free text, with score and the matched index/tabular terms."""
    from chartkeeper.coding.suggest import default_suggester

    if (text is None) == (file is None):
        fail("give either TEXT or --file FILE")
    if limit < 1:
        fail("--limit must be at least 1")
    if workers < 0:
        fail("--workers must be 0 (one per core) or more")
    suggester = common.guard(default_suggester)
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror}")
        from chartkeeper.coding.batch import suggest_all

        out = sys.stdout
        for results in suggest_all(suggester, lines, limit, workers):
            out.write(orjson.dumps([r.as_json() for r in results]).decode() + "\n")
        return
    assert text is not None
    results = suggester.suggest(text, limit)
    if json_out:
        _print_json([r.as_json() for r in results])
        return
    if not results:
        console.print("no suggestion")
    for r in results:
        print(f"{r.code:10} {r.score:.3f}  {r.description}")
        print(f"{'':10}        via {r.source}: {'; '.join(r.matched)}")


@code_app.command("check")
def check(
    codes: Annotated[list[str], typer.Argument(help="Codes, as on one encounter (first = principal).")],
    sex: Annotated[str | None, typer.Option("--sex", help="male or female.")] = None,
    age: Annotated[int | None, typer.Option("--age", help="Age in years.")] = None,
    json_out: JsonOut = False,
) -> None:
    """Check codes without a database: valid, billable, and every finding with its rule."""
    from chartkeeper.coding.validate import check_codes

    if sex is not None and sex not in ("male", "female"):
        fail("--sex must be male or female")
    valid, billable, findings = common.guard(lambda: check_codes(codes, sex, age))
    if json_out:
        _print_json({"valid": valid, "billable": billable, "findings": [f.as_json() for f in findings]})
        return
    print(f"valid: {'yes' if valid else 'no'}; billable: {'yes' if billable else 'no'}")
    for f in findings:
        print(f"  {f.severity} {f.rule}: {f.message} [{f.source}]")


@code_app.command("validate")
def validate(
    ctx: typer.Context,
    patient: Annotated[str | None, typer.Option("--patient", help="Only this Patient id.")] = None,
    json_out: JsonOut = False,
) -> None:
    """Validate the diagnoses in the store (Condition, Encounter.diagnosis, Claim.diagnosis)."""
    service = _service(ctx)
    report = common.guard(lambda: service.validate(_caller(), patient))
    findings = report.findings
    if json_out:
        _print_json(
            {
                "encounters": len(report.reviews),
                "ready_to_bill": sum(1 for r in report.reviews if r.ready_to_bill),
                "findings": [f.as_json() for f in findings],
            }
        )
        return
    for f in findings:
        where = f.resource or f.encounter or ""
        print(f"{f.severity:8} {f.rule:28} {where}  {f.message}")
    console.print(f"{len(findings)} findings on {len(report.reviews)} encounters")


@code_app.command("queue")
def queue(
    ctx: typer.Context,
    patient: Annotated[str | None, typer.Option("--patient", help="Only this Patient id.")] = None,
    limit: Limit = 50,
    json_out: JsonOut = False,
) -> None:
    """Encounters to code: diagnoses missing, uncoded (e.g. SNOMED CT only) or invalid; oldest first."""
    service = _service(ctx)
    items = common.guard(lambda: service.queue(_caller(), patient, limit))
    if json_out:
        _print_json([i.as_json() for i in items])
        return
    for item in items:
        print(f"Encounter/{item.encounter_id}  {(item.start or '')[:10]}  {item.state}")
        for reason in item.reasons:
            print(f"    {reason}")
        for dx in item.diagnoses:
            for s in dx.get("suggestions", [])[:1]:
                print(f"    suggest {s['code']} {s['description']} for {dx['resource']} ({dx['text']})")


@code_app.command("assign")
def assign(
    ctx: typer.Context,
    encounter: Annotated[str, typer.Argument(help="The Encounter id.")],
    codes: Annotated[list[str], typer.Argument(help="ICD-10-CM codes in sequence (first = principal).")],
    json_out: JsonOut = False,
) -> None:
    """Code an encounter: each change is a new resource version, with a Provenance, audited."""
    service = _service(ctx)
    result = common.guard(lambda: service.assign(_caller(), encounter, codes))
    if json_out:
        _print_json(
            {
                "encounter": result.encounter_id,
                "written": list(result.written),
                "created": list(result.created),
            }
        )
        return
    console.print(f"Encounter/{encounter} coded: {' '.join(codes)} ({len(result.written)} resources written)")


@code_app.command("dnfb")
def dnfb(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Count ages to this date (YYYY-MM-DD); default today.")
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Claim readiness and the DNFB report: finished encounters not ready to bill, age in days, reason."""
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    service = _service(ctx)
    ready, rows = common.guard(lambda: service.dnfb(_caller(), day))
    if json_out:
        _print_json({"as_of": day.isoformat(), "ready_to_bill": ready, "dnfb": [r.as_json() for r in rows]})
        return
    for row in rows:
        print(
            f"Encounter/{row.encounter_id}  {(row.discharged or '')[:10]}  {row.age_days:>6} d  {row.reason}"
        )
    console.print(f"{ready} encounters ready to bill; {len(rows)} discharged, not final billed (as of {day})")
