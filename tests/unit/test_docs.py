"""Undocumented commands and settings fail the build (as Datasette does)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _render() -> str:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "tools" / "gen_cli_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.render())


def test_cli_reference_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == _render(), "run: python tools/gen_cli_docs.py"


def test_readme_names_every_command_and_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in (
        "init",
        "ingest",
        "stats",
        "export",
        "quarantine list",
        "quarantine show",
        "demo",
        "serve",
        "users add",
        "users list",
        "users disable",
        "users reset-password",
        "clients add",
        "clients list",
        "clients disable",
        "token",
        "mllp",
        "code lookup",
        "code browse",
        "code search",
        "code suggest",
        "code check",
        "code validate",
        "code queue",
        "code assign",
        "code dnfb",
        "mpi scan",
        "mpi config",
        "mpi queue",
        "mpi decide",
        "mpi merge",
        "mpi unmerge",
        "mpi golden",
        "mpi match",
    ):
        assert f"chartkeeper {command}" in readme, command
    for setting in (
        "CHARTKEEPER_DATABASE_URL",
        "CHARTKEEPER_INGEST_WORKERS",
        "CHARTKEEPER_DEBUG",
        "CHARTKEEPER_TOKEN_LIFETIME",
        "CHARTKEEPER_TOKEN_URL",
        "CHARTKEEPER_API_MAX_BODY_BYTES",
        "CHARTKEEPER_EXPORT_DIR",
        "CHARTKEEPER_SESSION_IDLE_TIMEOUT",
        "CHARTKEEPER_SESSION_LIFETIME",
        "--db",
        "make serve",
        "make test",
    ):
        assert setting in readme, setting


def test_search_doc_names_every_modifier_and_result_parameter() -> None:
    from chartkeeper.fhir.search.clauses import MODIFIERS
    from chartkeeper.fhir.search.results import _RESULT, _UNSUPPORTED

    doc = (ROOT / "docs" / "search.md").read_text()
    for modifiers in MODIFIERS.values():
        for modifier in modifiers:
            assert f"`:{modifier}`" in doc, modifier
    for name in sorted(_RESULT | _UNSUPPORTED):
        assert f"`{name}`" in doc, name
