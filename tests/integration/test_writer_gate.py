"""The SQLite writer gate: write transactions of all threads and processes queue on one lock
file, woken as soon as it is free; nested transactions of a thread pass it."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from sqlalchemy import text

from chartkeeper.store.repository import Store
from chartkeeper.store.writer_gate import gate_for


def test_one_gate_per_file_and_none_in_memory(tmp_path: Path) -> None:
    first = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    second = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    assert first._gate is not None and first._gate is second._gate
    assert gate_for(str(tmp_path / "b.db")) is not first._gate
    assert gate_for(":memory:") is None and gate_for(None) is None
    assert (tmp_path / "a.db-writer.lock").exists()
    first.close()
    second.close()


def test_a_thread_passes_its_own_gate_again(tmp_path: Path) -> None:
    gate = gate_for(str(tmp_path / "nested.db"))
    assert gate is not None
    with gate.held(), gate.held(), gate.held():
        pass
    done = threading.Event()

    def other() -> None:
        with gate.held():
            done.set()

    with gate.held():
        thread = threading.Thread(target=other)
        thread.start()
        assert not done.wait(0.2)  # another thread waits for the outermost release
    thread.join(timeout=5)
    assert done.is_set()


def test_a_writer_in_another_process_holds_the_gate_and_this_one_waits(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    store = Store.open(f"sqlite:///{database}")
    store.init()
    holder = textwrap.dedent(
        f"""
        import fcntl, os, sys, time
        fd = os.open({str(database) + "-writer.lock"!r}, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep(0.8)
        fcntl.flock(fd, fcntl.LOCK_UN)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        started = time.perf_counter()
        with store.transaction() as conn:
            waited = time.perf_counter() - started
            conn.execute(text("CREATE TABLE gate_probe (n INTEGER)"))
        assert 0.5 <= waited < 10, waited
    finally:
        proc.wait(timeout=30)
    fd = os.open(str(database) + "-writer.lock", os.O_RDWR)
    try:  # released after the transaction: nobody holds it now
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    store.close()
