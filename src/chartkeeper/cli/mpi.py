"""``chartkeeper mpi ...``: the master patient index from the command line (parse, call, print)."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import orjson
import typer

from chartkeeper.cli import common
from chartkeeper.cli.common import console, fail
from chartkeeper.security.caller import Caller, local_caller

mpi_app = typer.Typer(
    help="Master patient index: find, review, merge and unmerge duplicate patients.", no_args_is_help=True
)

JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON (one object per line for lists).")]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded with who and when).")]


def _service(ctx: typer.Context) -> tuple[Any, Caller]:
    from chartkeeper.mpi.service import MpiService
    from chartkeeper.security.audit import AuditTrail

    store = common.open_store(ctx)
    # merges, unmerges and scans from the command line go to the hash-chained audit trail
    return MpiService(store, AuditTrail(store)), local_caller(getpass.getuser())


def _line(value: Any) -> None:
    print(orjson.dumps(value, default=str).decode())


@mpi_app.command("scan")
def scan(
    ctx: typer.Context,
    json_out: JsonOut = False,
    retrain: Annotated[bool, typer.Option("--retrain", help="Train a new model version first.")] = False,
    min_probability: Annotated[
        float, typer.Option("--min-probability", help="Report pairs scoring at least this.")
    ] = 0.01,
) -> None:
    """Score every current Patient; queue likely duplicates (one JSON line per pair with --json)."""
    service, caller = _service(ctx)
    report, pairs = common.guard(
        lambda: service.scan(caller, retrain=retrain, min_probability=min_probability)
    )
    if json_out:
        for pair in pairs:
            _line(pair.as_json())
    summary = report.as_json()
    console.print(
        f"mpi scan: {summary['patients']} patients, {summary['pairs']} pairs scored, {summary['links']} link, "
        f"{summary['reviews']} review, {summary['queued']} newly queued, {summary['merged']} merged "
        f"(model v{summary['model_version']}{', trained now' if summary['trained'] else ''}); "
        f"seconds: {orjson.dumps(summary['seconds']).decode()}"
    )


@mpi_app.command("train")
def train(
    ctx: typer.Context,
    sample: Annotated[
        int, typer.Option(help="Train on at most this many Patients (seeded sample).")
    ] = 200_000,
) -> None:
    """Train a new version of the matching model (EM-estimated m/u) on the current Patients."""
    service, caller = _service(ctx)
    version = common.guard(lambda: service.train(caller, sample))
    console.print(f"mpi model version {version} trained and stored")


@mpi_app.command("models")
def models(ctx: typer.Context, json_out: JsonOut = False) -> None:
    """Every stored model version: when, by whom, on how many Patients."""
    from chartkeeper.mpi.index import model_versions

    service, _caller = _service(ctx)
    for row in common.guard(lambda: model_versions(service.store)):
        if json_out:
            _line(row)
        else:
            print(
                f"v{row['version']}  design {row['design_version']}  {row['records']} patients  {row['created_by']}"
            )


@mpi_app.command("config")
def config(
    ctx: typer.Context,
    link: Annotated[
        float | None, typer.Option("--link", help="Probability at or above which a pair is certain.")
    ] = None,
    review: Annotated[
        float | None, typer.Option("--review", help="Probability at or above which a person looks.")
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option("--policy", help="review (queue certain pairs) or merge (merge them at once)."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why the change (kept with it).")] = None,
    json_out: JsonOut = False,
) -> None:
    """Show, or change, the link/review thresholds and the policy for certain pairs."""
    service, caller = _service(ctx)
    if link is None and review is None and policy is None:
        current = common.guard(lambda: service.config(caller))
    else:
        current = common.guard(
            lambda: service.set_config(
                caller, link_threshold=link, review_threshold=review, policy=policy, note=note
            )
        )
    data = {"link": current.link_threshold, "review": current.review_threshold, "policy": current.policy}
    if json_out:
        _line(data)
    else:
        print(f"link >= {data['link']}  review >= {data['review']}  policy {data['policy']}")


@mpi_app.command("queue")
def queue(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="At most this many pairs.")] = 50,
    json_out: JsonOut = False,
) -> None:
    """Pairs waiting for a decision, most probable first."""
    service, caller = _service(ctx)
    items = common.guard(lambda: service.queue(caller, limit))
    for item in items:
        row = {
            "pair": item.pair_id,
            "a": f"Patient/{item.a}",
            "b": f"Patient/{item.b}",
            "probability": round(item.probability, 6),
            "decision": item.decision,
            "source": item.source,
            "evidence": item.evidence,
        }
        if json_out:
            _line(row)
        else:
            print(
                f"{item.pair_id:>6}  {item.probability:.4f}  {item.decision:<6}  Patient/{item.a}  Patient/{item.b}"
            )


@mpi_app.command("decide")
def decide(
    ctx: typer.Context,
    pair: Annotated[str, typer.Argument(metavar="PAIR", help="Queue id, or Patient/a,Patient/b.")],
    verdict: Annotated[str, typer.Argument(metavar="merge|distinct", help="Same person (merge) or not.")],
    reason: Reason,
    keep: Annotated[
        str | None, typer.Option("--keep", help="For merge: the Patient that survives (default: the older).")
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Decide a pair once and for all (recorded who, when, why; never asked again)."""
    if verdict not in ("merge", "distinct"):
        fail("decide merge or distinct")
    service, caller = _service(ctx)
    pk, result = common.guard(lambda: service.decide(caller, pair, verdict, reason, keep))  # type: ignore[arg-type]
    if result is not None:
        _merged(result.as_json(), json_out)
    elif json_out:
        _line({"decision": pk, "verdict": verdict})
    else:
        print(f"decision {pk} recorded: distinct")


def _merged(data: dict[str, Any], json_out: bool) -> None:
    if json_out:
        _line(data)
    else:
        print(
            f"merge {data['merge']}: {data['source']} -> {data['target']}, {len(data['written'])} versions written"
        )


@mpi_app.command("merge")
def merge(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="The Patient to be replaced.")],
    target: Annotated[str, typer.Argument(metavar="TARGET", help="The Patient that survives.")],
    reason: Reason,
    json_out: JsonOut = False,
) -> None:
    """Merge SOURCE into TARGET (the same code as Patient/$merge and HL7 ADT^A40)."""
    service, caller = _service(ctx)
    result = common.guard(lambda: service.merge(caller, source, target, reason))
    _merged(result.as_json(), json_out)


@mpi_app.command("unmerge")
def unmerge(
    ctx: typer.Context,
    merge_id: Annotated[int, typer.Argument(metavar="MERGE", help="The merge id (see `mpi merges`).")],
    reason: Reason,
    json_out: JsonOut = False,
) -> None:
    """Undo a merge: every resource it changed gets its exact pre-merge content back."""
    service, caller = _service(ctx)
    result = common.guard(lambda: service.unmerge(caller, merge_id, reason))
    if json_out:
        _line(result.as_json())
    else:
        print(f"merge {merge_id} undone: {len(result.resources)} versions written")


@mpi_app.command("merges")
def merges(
    ctx: typer.Context,
    patient: Annotated[
        str | None, typer.Argument(metavar="[PATIENT]", help="Only merges involving it.")
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Merges, with who, when, why and whether they were undone."""
    service, caller = _service(ctx)
    for row in common.guard(lambda: service.merges(caller, patient)):
        if json_out:
            _line(row)
        else:
            print(
                f"{row['pk']:>5}  {row['state']:<8}  Patient/{row['source_id']} -> Patient/{row['target_id']}  {row['reason']}"
            )


@mpi_app.command("decisions")
def decisions(ctx: typer.Context, json_out: JsonOut = False) -> None:
    """Every review decision ever recorded (append-only)."""
    service, caller = _service(ctx)
    for row in common.guard(lambda: service.decisions(caller)):
        if json_out:
            _line(row)
        else:
            print(f"{row['decision']:<9} {row['a']} {row['b']}  by {row['decided_by']}: {row['reason']}")


@mpi_app.command("match")
def match(
    ctx: typer.Context,
    patients: Annotated[
        list[str] | None, typer.Argument(metavar="[PATIENT...]", help="Patient ids just written.")
    ] = None,
    pending: Annotated[
        bool,
        typer.Option("--pending", help="Match the Patients whose real-time match failed (`mpi pending`)."),
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Match these Patients against the index now (what every intake path does on write)."""
    service, caller = _service(ctx)
    if pending == bool(patients):
        fail("name the Patients to match, or give --pending (not both)")
    if pending:
        count, pairs = common.guard(lambda: service.match_pending(caller))
        console.print(f"mpi match: {count} pending patients matched")
    else:
        ids = [p.removeprefix("Patient/") for p in patients or []]
        pairs = common.guard(lambda: service.on_patient_written(caller, ids))
    for pair in pairs:
        if json_out:
            _line(pair.as_json())
        else:
            print(f"{pair.probability:.4f}  {pair.decision:<8}  Patient/{pair.a}  Patient/{pair.b}")


@mpi_app.command("pending")
def pending_list(ctx: typer.Context, json_out: JsonOut = False) -> None:
    """Patients written whose real-time match failed (the write stood); `mpi match --pending` retries."""
    service, caller = _service(ctx)
    for row in common.guard(lambda: service.pending(caller)):
        if json_out:
            _line(row)
        else:
            print(f"Patient/{row['patient_id']}  from {row['source']}  ({row['error']})")


@mpi_app.command("golden")
def golden(
    ctx: typer.Context,
    patient: Annotated[str, typer.Argument(metavar="PATIENT", help="Any record of the person.")],
    json_out: JsonOut = False,
) -> None:
    """The enterprise (golden) record across every record merged into one person."""
    service, caller = _service(ctx)
    record = common.guard(lambda: service.golden(caller, patient))
    if json_out:
        _line(record)
        return
    print(f"{record['id']}  ({len(record['members'])} records)")
    for member in record["members"]:
        print(f"  member {member['id']}  active={member['active']}  v{member['versionId']}")
    for name, values in record["fields"].items():
        for entry in values:
            print(f"  {name}: {orjson.dumps(entry['value']).decode()}  <- {', '.join(entry['sources'])}")
    if record["conflicts"]:
        print(f"  conflicts: {', '.join(record['conflicts'])}")
