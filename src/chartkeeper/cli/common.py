"""What every command shares: opening the store, one-line errors, progress bars."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from chartkeeper.config import Settings
from chartkeeper.errors import ChartkeeperError, StoreUnavailable
from chartkeeper.store.repository import Store

console = Console(stderr=True, highlight=False)
T = TypeVar("T")


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, no traceback, a non-zero exit."""
    print(f"chartkeeper: error: {' '.join(message.split())}", file=sys.stderr)
    raise typer.Exit(code=code)


def guard(action: Callable[[], T]) -> T:
    """Run ``action``; our own errors and database failures become a one-line message."""
    try:
        return action()
    except ChartkeeperError as exc:
        fail(str(exc))
    except Exception as exc:  # never a traceback for the user (CHARTKEEPER_DEBUG=1 shows it)
        if os.environ.get("CHARTKEEPER_DEBUG"):
            raise
        from sqlalchemy.exc import SQLAlchemyError

        orig = getattr(exc, "orig", exc) if isinstance(exc, SQLAlchemyError) else exc
        text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        kind = (
            "database error"
            if isinstance(exc, SQLAlchemyError)
            else f"unexpected error ({type(exc).__name__})"
        )
        fail(f"{kind}: {text}")


def open_store(ctx: typer.Context, migrate: bool = False) -> Store:
    settings: Settings = ctx.obj
    store = guard(lambda: Store.open(settings.database_url))
    if migrate:
        guard(store.init)
    else:
        try:
            current = guard(store.is_current)
        except StoreUnavailable as exc:
            fail(str(exc))
        if not current:
            fail("the database has no current schema: run `chartkeeper init` first")
    return store


@contextmanager
def byte_progress(label: str, total: int, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar over bytes when stderr is a terminal; silent otherwise."""
    if quiet or not console.is_terminal:
        yield lambda _n: None
        return
    columns = (TextColumn(label), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


@contextmanager
def count_progress(label: str, total: int, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    if quiet or not console.is_terminal:
        yield lambda _n: None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


@contextmanager
def ingest_progress(
    total_bytes: int, quiet: bool = False
) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """Two bars when stderr is a terminal: bytes ingested, and Patients matched by the master
    patient index after each commit (shown once the first are matched); silent otherwise."""
    if quiet or not console.is_terminal:
        yield (lambda _n: None), (lambda _n: None)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[done]}"))
    with Progress(*columns, TimeRemainingColumn(), console=console, transient=False) as progress:
        size = f"{total_bytes / 1e6:.1f} MB"
        ingest = progress.add_task("ingest", total=total_bytes, done=f"0.0/{size}")
        matched = progress.add_task("mpi match", total=None, visible=False, done="0 patients")
        state = {"bytes": 0, "patients": 0}

        def advance_bytes(n: int) -> None:
            state["bytes"] += n
            progress.update(ingest, advance=n, done=f"{state['bytes'] / 1e6:.1f}/{size}")

        def advance_matched(n: int) -> None:
            state["patients"] += n
            progress.update(matched, visible=True, done=f"{state['patients']:,} patients")

        yield advance_bytes, advance_matched
