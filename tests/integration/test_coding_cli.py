"""`chartkeeper code ...`: the JSON contract other tools use, batch suggestion, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from chartkeeper.cli.main import app
from chartkeeper.demo.loader import load_demo
from chartkeeper.store.repository import Store

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_json_contract() -> None:
    code, out, _ = run("code", "check", "E11.9", "--json")
    assert code == 0 and json.loads(out) == {"valid": True, "billable": True, "findings": []}
    code, out, _ = run("code", "check", "E11", "--json")
    data = json.loads(out)
    assert not data["billable"] and data["findings"][0]["rule"] == "header-not-billable"
    code, out, _ = run("code", "check", "O80", "--sex", "male", "--age", "30", "--json")
    data = json.loads(out)
    assert data["billable"] and data["findings"][0]["rule"] == "sex-conflict"
    assert {"rule", "message"} <= set(data["findings"][0])
    code, out, _ = run("code", "check", "E11.9", "E10.9", "--json")
    assert json.loads(out)["findings"][0]["rule"] == "excludes1"
    code, _out, err = run("code", "check", "E11.9", "--sex", "other")
    assert code == 2 and err.startswith("chartkeeper: error: --sex")


def test_lookup_json_and_unknown_code() -> None:
    code, out, _ = run("code", "lookup", "S72.001", "--json")
    data = json.loads(out)
    assert code == 0 and not data["billable"] and data["seventh_character"]["at"] == "S72"
    code, out, err = run("code", "lookup", "E11.99")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "E11.99 does not exist in ICD-10-CM FY2026" in err
    code, out, _ = run("code", "browse", "E11.6")
    assert code == 0 and "E11.65" in out


def test_suggest_json_and_batch_file(tmp_path: Path) -> None:
    code, out, _ = run("code", "suggest", "CHF", "--limit", "3", "--json")
    data = json.loads(out)
    assert code == 0 and len(data) == 3 and data[0]["code"] == "I50.9"
    assert set(data[0]) == {"code", "description", "score"}
    phrases = tmp_path / "phrases.txt"
    phrases.write_text("DM2\n\nHTN\nlaceration of left hand\n", encoding="utf-8")
    code, out, _ = run("code", "suggest", "--file", str(phrases), "--limit", "2", "--json")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4
    assert json.loads(lines[0])[0]["code"] == "E11.9" and json.loads(lines[1]) == []
    assert json.loads(lines[3])[0]["code"] == "S61.412A"
    code, _out, err = run("code", "suggest")
    assert code == 2 and "TEXT or --file" in err
    code, _out, err = run("code", "suggest", "--file", str(phrases), "--workers", "-1")
    assert code == 2 and "--workers must be 0" in err
    code, out, _ = run("code", "search", "COPD", "--json")
    assert code == 0 and any(r["code"].startswith("J44") for r in json.loads(out))


def test_queue_assign_dnfb_on_the_demo(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    store = Store.open(db)
    store.init()
    load_demo(store, 12, 4, workers=1)
    code, out, _ = run("--db", db, "code", "queue", "--json", "--limit", "500")
    queue = json.loads(out)
    assert code == 0 and queue
    code, out, _ = run("--db", db, "code", "dnfb", "--as-of", "2030-01-01", "--json")
    before = json.loads(out)
    assert code == 0 and before["dnfb"] and all(r["age_days"] > 0 and r["reason"] for r in before["dnfb"])
    target = next(i for i in queue if i["state"] == "missing" and i["status"] == "finished")
    code, out, err = run("--db", db, "code", "assign", target["encounter"], "R69", "--json")
    assert code == 0, err
    assert any(w.startswith("Provenance/") for w in json.loads(out)["written"])
    code, out, _ = run("--db", db, "code", "dnfb", "--as-of", "2030-01-01", "--json")
    after = json.loads(out)
    assert after["ready_to_bill"] == before["ready_to_bill"] + 1
    code, _out, err = run("--db", db, "code", "assign", target["encounter"], "E11")
    assert code == 2 and "header" in err
    code, out, _ = run("--db", db, "code", "validate", "--patient", queue[0]["patient"], "--json")
    assert code == 0 and all(f["patient"] == queue[0]["patient"] for f in json.loads(out)["findings"])
