"""A failure in the writer ends ingest with the error and the worker pool torn down,
never a hang (seen once: a writer bug left `chartkeeper ingest` waiting forever)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import SHARED_DATA

SCRIPT = """
import faulthandler
import sys

# a hang prints every thread's stack and exits, so the failure says where it waited
faulthandler.dump_traceback_later(90, exit=True)
from chartkeeper.intake import service
from chartkeeper.store.repository import Store

calls = 0
real_commit = service._commit

def failing_commit(*args, **kwargs):
    global calls
    calls += 1
    if calls == 3:
        raise RuntimeError("disk on fire")
    real_commit(*args, **kwargs)

service._commit = failing_commit
store = Store.open(sys.argv[1])
store.init()
try:
    service.ingest(store, [sys.argv[2]], workers=2)
except RuntimeError as exc:
    print("failed:", exc, "resources:", sum(store.count_by_type().values()))
    raise SystemExit(3)
"""


def test_a_writer_error_ends_ingest_promptly_and_writes_nothing_of_its_group(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, db, str(SHARED_DATA / "synthea-r4")],
        capture_output=True,
        text=True,
        timeout=120,  # a hang fails here (the script dumps its stacks at 90 s)
    )
    assert done.returncode == 3, done.stderr
    assert "failed: disk on fire resources: 0" in done.stdout
