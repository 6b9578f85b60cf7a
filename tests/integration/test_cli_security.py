"""chartkeeper init / users / clients / token, through the real CLI on a real SQLite file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from chartkeeper.cli.main import app
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store

runner = CliRunner()
PASSWORD = "twelve chars or more"


def test_init_prints_the_bootstrap_admin_password_once(sqlite_database_url: str) -> None:
    db = sqlite_database_url
    first = runner.invoke(app, ["--db", db, "init"])
    assert first.exit_code == 0, first.stderr
    password = first.stdout.strip()
    assert len(password) >= 12 and "shown once" in first.stderr
    again = runner.invoke(app, ["--db", db, "init"])
    assert again.exit_code == 0 and again.stdout == ""
    store = Store.open(db)
    try:
        assert SecurityService(store).password_grant("admin", password).access_token
    finally:
        store.close()


def test_users_commands(sqlite_database_url: str) -> None:
    db = sqlite_database_url
    runner.invoke(app, ["--db", db, "init"])
    added = runner.invoke(
        app,
        ["--db", db, "users", "add", "rita", "--role", "roi", "--display", "Rita R.", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0 and added.stdout == "", added.stderr
    generated = runner.invoke(
        app, ["--db", db, "users", "add", "carl", "--role", "coder", "--role", "clerk", "--generate-password"]
    )
    assert generated.exit_code == 0 and len(generated.stdout.strip()) >= 12
    prompted = runner.invoke(
        app, ["--db", db, "users", "add", "ada", "--role", "auditor"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert prompted.exit_code == 0, prompted.stderr
    duplicate = runner.invoke(
        app, ["--db", db, "users", "add", "rita", "--role", "roi", "--generate-password"]
    )
    assert duplicate.exit_code == 2 and duplicate.stderr.startswith(
        "chartkeeper: error: user 'rita' already exists"
    )
    assert "Traceback" not in duplicate.stderr
    bad_role = runner.invoke(app, ["--db", db, "users", "add", "x", "--role", "chief", "--generate-password"])
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.stderr
    short = runner.invoke(
        app, ["--db", db, "users", "add", "y", "--role", "coder", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 2 and "at least 12" in short.stderr

    assert runner.invoke(app, ["--db", db, "users", "disable", "carl"]).exit_code == 0
    listed = runner.invoke(app, ["--db", db, "users", "list", "--json"])
    rows = {r["username"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert set(rows) == {"admin", "ada", "carl", "rita"}
    assert rows["carl"]["disabled"] and rows["carl"]["roles"] == ["clerk", "coder"]
    assert rows["rita"]["display"] == "Rita R." and "password" not in json.dumps(rows)

    reset = runner.invoke(app, ["--db", db, "users", "reset-password", "rita", "--generate-password"])
    assert reset.exit_code == 0 and reset.stdout.strip() != PASSWORD
    missing = runner.invoke(app, ["--db", db, "users", "reset-password", "nobody", "--generate-password"])
    assert missing.exit_code == 2 and "no user 'nobody'" in missing.stderr
    assert runner.invoke(app, ["--db", db, "users", "disable", "nobody"]).exit_code == 2


def test_clients_and_token_commands(sqlite_database_url: str, tmp_path: object) -> None:
    db = sqlite_database_url
    runner.invoke(app, ["--db", db, "init"])
    added = runner.invoke(
        app, ["--db", db, "clients", "add", "etl", "--scope", "system/Patient.rs system/Observation.crs"]
    )
    assert added.exit_code == 0, added.stderr
    secret = added.stdout.strip()
    assert len(secret) >= 40
    listed = runner.invoke(app, ["--db", db, "clients", "list", "--json"])
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["name"] == "etl" and row["auth"] == "secret" and secret not in listed.stdout
    bad = runner.invoke(app, ["--db", db, "clients", "add", "x", "--scope", "system/Patient.zz"])
    assert bad.exit_code == 2 and "scope" in bad.stderr

    issued = runner.invoke(app, ["--db", db, "token", "--client", "etl", "--scope", "system/Patient.rs"])
    assert issued.exit_code == 0, issued.stderr
    store = Store.open(db)
    try:
        caller = SecurityService(store).caller_from_bearer(issued.stdout.strip(), None)
        assert caller.subject == "client/etl" and str(caller.scopes) == "system/Patient.rs"
    finally:
        store.close()
    assert runner.invoke(app, ["--db", db, "clients", "disable", "etl"]).exit_code == 0
    refused = runner.invoke(app, ["--db", db, "token", "--client", "etl"])
    assert refused.exit_code == 2 and "no enabled client" in refused.stderr


def test_a_bad_token_lifetime_setting_is_one_line(
    sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTKEEPER_TOKEN_LIFETIME", "forever")
    result = runner.invoke(app, ["--db", sqlite_database_url, "init"])
    assert result.exit_code == 2 and "CHARTKEEPER_TOKEN_LIFETIME" in result.stderr
    assert "Traceback" not in result.stderr
