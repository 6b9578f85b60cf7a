"""The ``chartkeeper`` command: a thin shell over the services (parse, call, print)."""

from __future__ import annotations

import functools
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from chartkeeper.cli import common, security_cmds
from chartkeeper.cli.common import console, fail
from chartkeeper.cli.mpi import mpi_app
from chartkeeper.config import ACCESS_LOG_ENV, DATABASE_URL_ENV, load_settings
from chartkeeper.intake.models import IngestReport

app = typer.Typer(
    name="chartkeeper",
    help="Chartkeeper: a health information management system on one versioned FHIR R4 store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help=f"Database URL (sqlite:///file.db or postgresql://user@host/db). Default: ${DATABASE_URL_ENV} or sqlite:///chartkeeper.db",
        ),
    ] = None,
) -> None:
    """Every command works on one database, chosen by --db or the environment."""
    try:
        ctx.obj = load_settings(database_url=db)
    except ValueError as exc:  # a malformed setting in the environment
        fail(f"bad setting: {exc}")


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the database schema, or migrate it to the current version; on a new database,
    create the token-signing key and the user 'admin', whose password is printed once."""
    store = common.open_store(ctx, migrate=True)
    console.print(f"schema is current ({store.dialect})")
    security_cmds.initialize_security(ctx, store)


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files and folders: FHIR Bundles (JSON), NDJSON, C-CDA documents (XML) and HL7 v2 messages (.hl7, .txt), gzip too."
        ),
    ],
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object with the counts.")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes (0 = one per core).")] = 0,
    no_mpi: Annotated[
        bool,
        typer.Option(
            "--no-mpi",
            help="Do not match the Patients written against the master patient index (for a first "
            "bulk load: run `chartkeeper mpi scan` afterwards); ADT^A40 merges are then only recorded.",
        ),
    ] = False,
) -> None:
    """Import FHIR data, C-CDA documents and HL7 v2 messages: each bundle, document or message
    atomic. Every Patient written is matched against the master patient index after its commit
    (duplicates queued, or merged by policy) and HL7 ADT^A40 merges are performed."""
    from chartkeeper.intake.service import ingest as run_ingest
    from chartkeeper.intake.service import total_bytes

    store = common.open_store(ctx, migrate=True)
    settings = ctx.obj
    count = workers or settings.ingest_workers
    total = common.guard(lambda: total_bytes(paths))
    with common.ingest_progress(total, quiet=json_out) as (advance, matched):
        live = None if no_mpi else _live_matching(store, matched)
        report = common.guard(
            lambda: run_ingest(
                store, paths, workers=count, progress=advance, patients_written=live, merger=live
            )
        )
    _finish(report, json_out, f"{report.files} files", None if live is None else live.stats.as_json())


def _live_matching(
    store: Any, progress: Any = None, feed: str | None = None, background: bool = False
) -> Any:
    """The master patient index as the write paths' listener and merger (ADR 0015)."""
    import getpass

    from chartkeeper.mpi.live import LiveMatching
    from chartkeeper.mpi.service import MpiService
    from chartkeeper.security.audit import AuditTrail
    from chartkeeper.security.caller import local_caller

    # A40 merges are made by whoever runs the intake (the operator, or the named feed)
    requester = local_caller(feed or getpass.getuser())
    return LiveMatching(
        MpiService(store, AuditTrail(store)), merge_caller=requester, progress=progress, background=background
    )


@app.command()
def stats(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Current (non-deleted) resources per resourceType."""
    store = common.open_store(ctx)
    counts = common.guard(store.count_by_type)
    if json_out:
        print(orjson.dumps(counts).decode())
        return
    from rich.table import Table

    table = Table("resourceType", "count")
    for res_type, n in counts.items():
        table.add_row(res_type, str(n))
    table.add_row("[bold]all[/bold]", str(sum(counts.values())))
    console.print(table)


@app.command()
def reindex(
    ctx: typer.Context,
    res_type: Annotated[
        str | None, typer.Option("--type", help="Only this resourceType (default: every type).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object with the counts.")] = False,
) -> None:
    """Rebuild the search index of stored resources from their content (no new versions): run it
    after an upgrade that adds search parameters, so resources stored earlier are found by them."""
    store = common.open_store(ctx, migrate=True)
    counts = common.guard(store.count_by_type)
    if res_type is not None and res_type not in counts:
        fail(f"no current {res_type} resources in the store (types held: {', '.join(counts) or 'none'})")
    total = counts[res_type] if res_type is not None else sum(counts.values())
    with common.count_progress("reindex", total, quiet=json_out) as advance:
        report = common.guard(lambda: store.reindex(res_type, progress=advance))
    if json_out:
        print(orjson.dumps(report.as_json()).decode())
        return
    console.print(
        f"{report.resources} resources reindexed ({report.rows_written} index rows written, "
        f"{report.compartments_changed} compartments changed)"
    )


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write <Type>.ndjson files and manifest.json into.")
    ],
    types: Annotated[
        str | None, typer.Option("--type", help="Comma-separated resource types (default all).")
    ] = None,
) -> None:
    """Export every current resource as NDJSON (FHIR Bulk Data layout)."""
    from chartkeeper.export.service import export_ndjson

    store = common.open_store(ctx)
    wanted = [t.strip() for t in types.split(",") if t.strip()] if types else None
    report = common.guard(lambda: export_ndjson(store, out, wanted))
    console.print(f"{sum(report.counts.values())} resources in {len(report.counts)} files written to {out}")


@app.command()
def demo(
    ctx: typer.Context,
    patients: Annotated[int, typer.Option(help="How many patients to generate.")] = 100,
    seed: Annotated[int, typer.Option(help="Same seed, same population.")] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the store already holds patients.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object with the counts.")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes (0 = one per core).")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write NDJSON files (and truth.*.json) into this folder instead of loading."
        ),
    ] = None,
) -> None:
    """Generate a realistic synthetic population and load it (deterministic for a seed)."""
    from chartkeeper.demo.loader import load_demo

    if patients < 1:
        fail("--patients must be at least 1")
    if out is not None:
        from chartkeeper.demo.files import write_demo_files

        with common.count_progress("demo", patients, quiet=json_out) as advance:
            totals = common.guard(
                lambda: write_demo_files(out, patients, seed, processes=workers, progress=advance)
            )
        if json_out:
            print(orjson.dumps({"folder": str(out), "resources": totals}).decode())
        else:
            console.print(f"demo: {patients} patients, {sum(totals.values())} resources written to {out}")
        return
    store = common.open_store(ctx, migrate=True)
    if if_empty and common.guard(store.count_by_type).get("Patient", 0) > 0:
        if not json_out:
            console.print("the store already holds patients; demo data not loaded")
        return
    with common.count_progress("demo", patients, quiet=json_out) as advance:
        report = common.guard(lambda: load_demo(store, patients, seed, workers=workers, progress=advance))
    _finish(report, json_out, f"demo: {patients} patients (seed {seed})")


def _finish(report: IngestReport, json_out: bool, label: str, mpi: dict[str, Any] | None = None) -> None:
    """Say what an ingest did: skips and rejects on stderr, the counts, exit 1 on any reject."""
    for message in report.skipped:
        print(f"skipped: {message}", file=sys.stderr)
    for message in report.messages:
        print(f"rejected: {message}", file=sys.stderr)
    data = report.as_json()
    if mpi is not None:
        data["mpi"] = mpi
    if json_out:
        print(orjson.dumps(data).decode())
    else:
        console.print(
            f"{label}: {data['created']} created, {data['updated']} updated, "
            f"{data['unchanged']} unchanged, {data['deleted']} deleted, {data['rejected']} rejected, "
            f"{data['skipped']} skipped in {data['seconds']:.1f} s"
        )
        if mpi is not None and (mpi["patients"] or mpi["pending"]):
            console.print(
                f"mpi: {mpi['patients']} patients matched, {mpi['flagged']} possible-duplicate pairs found, "
                f"{mpi['merged']} merged by policy, {mpi['pending']} pending in {mpi['seconds']:.1f} s"
            )
    if report.rejected:
        raise typer.Exit(code=1)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[
        int,
        typer.Option(
            help="Server processes (uvicorn workers), each one core's worth of requests; they "
            "share the database (records, audit chain, web sessions) and the export folder.",
        ),
    ] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log",
            help="Log one line per request: method, route, status, duration, client address "
            "(no ids, no query strings: no patient data). Every access is recorded as an "
            "AuditEvent either way.",
        ),
    ] = False,
) -> None:
    """Run the web server: the FHIR R4 API at /fhir (docs at /docs), OAuth2 tokens at
    /auth/token, Bulk Data $export, and the status page at /. Every /fhir request but
    GET /fhir/metadata needs a bearer token (see `chartkeeper token` and `clients add`).
    uvicorn's own access log stays off: it would print query strings, which carry names and
    birth dates."""
    import dataclasses
    import os

    import uvicorn

    from chartkeeper.api.app import serving_app

    if not 1 <= workers <= 64:
        fail("--workers must be from 1 to 64")
    settings = dataclasses.replace(ctx.obj, access_log=access_log or ctx.obj.access_log)
    store = common.open_store(ctx, migrate=True)
    security_cmds.initialize_security(ctx, store)
    console.print(f"Chartkeeper on http://{host}:{port}/ ({store.dialect}, {workers} worker(s))")
    if workers == 1:
        app = serving_app(settings, store)
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
        return
    store.close()
    # each worker process builds its own app from the environment (uvicorn spawns them)
    os.environ[DATABASE_URL_ENV] = ctx.obj.database_url
    if settings.access_log:
        os.environ[ACCESS_LOG_ENV] = "1"
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "chartkeeper.api.app:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
    )
    server = uvicorn.Server(config)
    # the port is free, also of another server's workers (a plain bind fails where they listen)
    _tcp_listener(host, port, shared=False).close()
    Multiprocess(config, target=functools.partial(_run_worker, server, host, port), sockets=[]).run()


def _run_worker(server: Any, host: str, port: int, _sockets: Any) -> None:
    """One worker process: its own listening socket on the shared port (SO_REUSEPORT).

    With one socket shared by all workers, whichever process was awake accepted every
    connection that arrived together: 15 of a load generator's 16 keep-alive connections went
    to one of two workers, so the second process added nothing. With a socket each, the kernel
    spreads new connections over the workers by their address hash."""
    server.run(sockets=[_tcp_listener(host, port, shared=True)])


def _tcp_listener(host: str, port: int, *, shared: bool) -> socket.socket:
    """A listening socket for the workers, made as uvicorn's ``bind_socket`` does but with
    ``proto=IPPROTO_TCP``: accepted sockets inherit it, and asyncio sets TCP_NODELAY only on
    sockets that say so. With uvicorn's own socket every keep-alive request after the first
    waited ~40 ms for the client's delayed ACK (Nagle), 20 times the cost of the request.
    ``shared``: SO_REUSEPORT, so every worker binds its own (only processes of the same user
    can join a port; ``serve`` first checks with a plain bind that nobody listens there yet)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    sock.set_inheritable(True)
    return sock


@app.command()
def mllp(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (2575 is HL7's registered port).")] = 2575,
    max_bytes: Annotated[
        int,
        typer.Option(
            "--max-bytes", help="Largest message accepted; a larger one gets AR and the connection closes."
        ),
    ] = 1 << 20,
    idle_timeout: Annotated[
        float,
        typer.Option("--idle-timeout", help="Seconds a connection may stay silent before it is closed."),
    ] = 300.0,
    workers: Annotated[
        int, typer.Option(help="Processes that parse and map messages (0 = in the listener process).")
    ] = 0,
    no_mpi: Annotated[
        bool,
        typer.Option(
            "--no-mpi",
            help="Do not match Patients against the master patient index; ADT^A40 merges are then "
            "only recorded (acknowledged AA).",
        ),
    ] = False,
) -> None:
    """Receive HL7 v2 messages over MLLP; each is stored before its ACK (AA, AE or AR) is sent.
    Patients are matched against the master patient index after each commit, and ADT^A40
    merges are performed before their ACK (AE with ERR when the merge is refused)."""
    import asyncio
    import contextlib
    import logging
    import signal

    from chartkeeper.intake.hl7v2.mllp import MllpSettings, serve

    if max_bytes < 1024 or idle_timeout <= 0:
        fail("--max-bytes must be at least 1024 and --idle-timeout positive")
    store = common.open_store(ctx, migrate=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    settings = MllpSettings(host, port, max_bytes, idle_timeout, workers)
    # matched in a thread of its own, after the ACKs: the writer never waits for Splink
    live = None if no_mpi else _live_matching(store, feed="mllp", background=True)
    ready = asyncio.Event()

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        serving = asyncio.create_task(serve(store, settings, ready, listener=live, merger=live))
        await ready.wait()
        console.print(f"MLLP listener on {host}:{port} ({store.dialect})")
        await serving

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        common.guard(lambda: asyncio.run(main()))
    if live is not None:
        live.close()  # match what the last commits wrote before exiting
    console.print(f"MLLP listener stopped: {settings.stats}")


from chartkeeper.cli.coding import code_app  # noqa: E402

app.add_typer(code_app, name="code")

app.add_typer(mpi_app, name="mpi")

quarantine_app = typer.Typer(help="Rejected input, kept with its reason.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="held, retried, discarded or all.")] = "held",
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Quarantined items: id, when, source, reason."""
    from chartkeeper.fhir.instant import format_instant

    store = common.open_store(ctx)
    items = common.guard(lambda: store.quarantine_list(None if status == "all" else status, limit))
    if json_out:
        for item in items:
            row = {
                "id": item.pk,
                "received": format_instant(item.received_at),
                "source": item.source,
                "format": item.format,
                "reason": item.reason,
                "status": item.status,
                "bytes": item.size,
            }
            print(orjson.dumps(row).decode())
        return
    from rich.table import Table

    table = Table("id", "received", "source", "reason", "status")
    for item in items:
        table.add_row(
            str(item.pk), format_instant(item.received_at)[:19], item.source, item.reason, item.status
        )
    console.print(table)


@quarantine_app.command("show")
def quarantine_show(
    ctx: typer.Context,
    item_id: Annotated[int, typer.Argument(metavar="ID", help="The quarantine id.")],
    raw: Annotated[bool, typer.Option("--raw", help="Write the original bytes to standard output.")] = False,
) -> None:
    """One quarantined item: the reason, every issue, and the original content."""
    from chartkeeper.fhir.instant import format_instant

    store = common.open_store(ctx)
    item = common.guard(lambda: store.quarantine_get(item_id))
    assert item.content is not None
    if raw:
        sys.stdout.buffer.write(item.content)
        return
    console.print(f"[bold]id[/bold] {item.pk}  [bold]status[/bold] {item.status}")
    console.print(f"[bold]received[/bold] {format_instant(item.received_at)}")
    console.print(
        f"[bold]source[/bold] {item.source}  [bold]format[/bold] {item.format}  [bold]bytes[/bold] {item.size}"
    )
    print(f"reason: {item.reason}")
    for issue in (item.issues or {}).get("issue", []):
        where = ", ".join(issue.get("expression", []))
        print(
            f"  - {issue.get('severity')} {issue.get('code')}: {where + ': ' if where else ''}{issue.get('diagnostics')}"
        )
    preview = item.content[:2000].decode("utf-8", errors="replace")
    print("--- original (first 2000 bytes) ---")
    print(preview)


security_cmds.register(app)


def run() -> None:
    """Console-script entry point."""
    app()
