"""The MLLP listener as a real process, driven by python-hl7's MLLP client (a real PyPI client)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import hl7
import pytest
from hl7.client import MLLPClient

from chartkeeper.store import hl7log
from chartkeeper.store.repository import Store

from hl7v2_samples import adt, oru

CHARTKEEPER = Path(sys.executable).with_name("chartkeeper")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(db: str, port: int, *extra: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    sink = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [str(CHARTKEEPER), "--db", db, "mllp", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=sink,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text() if log is not None else "listener died") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the listener did not start")


@pytest.fixture
def listener(database_url: str, tmp_path: Path) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    Store.open(database_url).init()
    port = _free_port()
    log = tmp_path / "mllp.log"
    proc = _start(database_url, port, "--idle-timeout", "2", "--max-bytes", "20000", log=log)
    yield database_url, port, proc
    # Logs say who sent what type with which control id and outcome; never patient data.
    text = log.read_text()
    assert "control id" in text
    for phi in ("Doe", "Jane", "19700214", "19991399", "MRN-", "Springfield", "5550100"):
        assert phi not in text, phi
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _ack(raw: bytes | str) -> hl7.Message:
    text = raw.decode() if isinstance(raw, bytes) else raw
    return hl7.parse(text.strip("\x0b\x1c\r"))


def test_acks_for_good_and_bad_messages(listener: tuple[str, int, subprocess.Popen[bytes]]) -> None:
    db, port, _proc = listener
    with MLLPClient("127.0.0.1", port) as client:
        good = _ack(client.send_message(oru("M1")))
        assert str(good.segment("MSA")[1]) == "AA" and str(good.segment("MSA")[2]) == "M1"
        assert str(good.segment("MSH")[12]) == "2.5.1" and str(good.segment("MSH")[9]) == "ACK^R01^ACK"
        again = _ack(client.send_message(oru("M1")))
        assert str(again.segment("MSA")[1]) == "AA"  # acknowledged again, applied once
        bad = _ack(client.send_message(oru("M2").replace("19700214|F", "19991399|F")))
        assert str(bad.segment("MSA")[1]) == "AE" and str(bad.segment("MSA")[2]) == "M2"
        err = bad.segment("ERR")
        assert str(err[2]) == "PID^1^7" and "'19991399' is not a date" in str(err[8])
        rejected = _ack(client.send_message(oru("M3").replace("ORU^R01^ORU_R01", "RDE^O11")))
        assert str(rejected.segment("MSA")[1]) == "AR"
        assert str(rejected.segment("ERR")[3]).startswith("200^")
        old = _ack(
            client.send_message(adt("A01", "M4").replace("|2.4\r", "|2.3\r", 1).replace("19800101", "1980x"))
        )
        assert str(old.segment("MSA")[1]) == "AE" and str(old.segment("MSH")[12]) == "2.3"
        assert str(old.segment("ERR")[1]).startswith("PID^1^7^102")  # v2.3 ERR-1 is ELD
    store = Store.open(db)
    with store.reading() as conn:
        logged = [(m.control_id, m.status, m.ack_code) for m in hl7log.messages(conn)]
    assert logged == [
        ("M1", "applied", "AA"),
        ("M1", "duplicate", "AA"),
        ("M2", "rejected", "AE"),
        ("M3", "rejected", "AR"),
        ("M4", "rejected", "AE"),
    ]
    assert store.quarantine_count() == 3
    store.close()


def test_the_inbound_encoding_characters_are_used(listener: tuple[str, int, subprocess.Popen[bytes]]) -> None:
    _db, port, _proc = listener
    odd = oru("E1").replace("|", "#").replace("^", "$").replace("&", "%").replace("~", "!").replace("\\", "@")
    odd = odd.replace("19700214#F", "19991399#F")
    with MLLPClient("127.0.0.1", port) as client:
        raw = client.send_message(odd)
    text = raw.decode().strip("\x0b\x1c\r")
    assert text.startswith("MSH#$!@%#")
    assert "MSA#AE#E1" in text and "ERR##PID$1$7#102$" in text


def test_concurrent_connections_and_limits(listener: tuple[str, int, subprocess.Popen[bytes]]) -> None:
    db, port, _proc = listener
    results: list[str] = []

    def send(n: int) -> None:
        with MLLPClient("127.0.0.1", port) as client:
            for i in range(10):
                results.append(str(_ack(client.send_message(oru(f"C{n}-{i}", mrn=str(n)))).segment("MSA")[1]))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["AA"] * 80
    with MLLPClient("127.0.0.1", port) as client:
        big = _ack(client.send_message(oru("BIG").replace("Fasting specimen", "x" * 30000)))
    assert str(big.segment("MSA")[1]) == "AR" and "larger than 20000 bytes" in str(big.segment("ERR")[8])
    idle = socket.create_connection(("127.0.0.1", port))
    idle.settimeout(10)
    assert idle.recv(10) == b""  # closed by the listener after --idle-timeout 2
    idle.close()
    store = Store.open(db)
    assert store.count_by_type()["Patient"] == 8
    store.close()


def test_worker_processes_answer_each_message_its_own_ack(sqlite_database_url: str, tmp_path: Path) -> None:
    """--workers 2: messages from many connections are prepared in shared chunks; every ACK
    still answers its own message (MSA-2), good and bad ones interleaved."""
    Store.open(sqlite_database_url).init()
    port = _free_port()
    proc = _start(sqlite_database_url, port, "--workers", "2", log=tmp_path / "mllp.log")
    answers: dict[str, tuple[str, str]] = {}

    def send(n: int) -> None:
        with MLLPClient("127.0.0.1", port) as client:
            for i in range(12):
                cid = f"W{n}-{i}"
                text = oru(cid, mrn=f"{n}")
                if i % 4 == 3:
                    text = text.replace("19700214|F", "19991399|F")  # PID-7 is not a date: AE
                ack = _ack(client.send_message(text))
                answers[cid] = (str(ack.segment("MSA")[1]), str(ack.segment("MSA")[2]))

    try:
        threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert len(answers) == 72
    for cid, (code, echoed) in answers.items():
        assert echoed == cid
        assert code == ("AE" if cid.endswith(("-3", "-7", "-11")) else "AA"), cid
    store = Store.open(sqlite_database_url)
    with store.reading() as conn:
        logged = {m.control_id: m.status for m in hl7log.messages(conn, limit=1000)}
    store.close()
    assert {cid for cid, status in logged.items() if status == "applied"} == {
        cid for cid, (code, _) in answers.items() if code == "AA"
    }


def test_every_acknowledged_message_survives_sigkill(sqlite_database_url: str) -> None:
    db = sqlite_database_url
    Store.open(db).init()
    port = _free_port()
    proc = _start(db, port)
    acked: list[str] = []
    stop = threading.Event()

    def stream(n: int) -> None:
        try:
            with MLLPClient("127.0.0.1", port) as client:
                for i in range(100_000):
                    if stop.is_set():
                        return
                    cid = f"K{n}-{i}"
                    ack = _ack(client.send_message(oru(cid, mrn=f"{n}-{i % 50}")))
                    if str(ack.segment("MSA")[1]) == "AA":
                        acked.append(cid)
        except (OSError, ValueError, hl7.exceptions.ParseException):
            return  # the listener died mid-message: that message was never acknowledged

    threads = [threading.Thread(target=stream, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acked) >= 200
    restarted = _start(db, port)  # reopening the store after the crash, as an operator would
    restarted.send_signal(signal.SIGTERM)
    restarted.wait(timeout=10)
    store = Store.open(db)
    with store.reading() as conn:
        applied = {m.control_id for m in hl7log.messages(conn, limit=1_000_000) if m.status == "applied"}
    missing = set(acked) - applied
    assert not missing, f"{len(missing)} acknowledged messages lost"
    reports = store.count_by_type()["DiagnosticReport"]
    assert reports >= len(acked)
    store.close()


@pytest.mark.postgres
def test_a_lost_database_connection_gets_ar_never_aa(pg_database_url: str, tmp_path: Path) -> None:
    """The server drops the listener's connection: that message is AR (resend), the next one AA."""
    from sqlalchemy import create_engine, text

    Store.open(pg_database_url).init()
    port = _free_port()
    proc = _start(pg_database_url, port, log=tmp_path / "mllp.log")
    try:
        with MLLPClient("127.0.0.1", port) as client:
            assert str(_ack(client.send_message(oru("D1"))).segment("MSA")[1]) == "AA"
            name = pg_database_url.rsplit("/", 1)[1]
            admin = create_engine(pg_database_url.replace(name, "postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                killed = conn.execute(
                    text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                ).scalar_one()
            admin.dispose()
            assert killed >= 1
            lost = _ack(client.send_message(oru("D2", mrn="2")))
            assert str(lost.segment("MSA")[1]) == "AR"
            assert "could not be stored" in str(lost.segment("ERR")[8])
            assert str(_ack(client.send_message(oru("D3", mrn="3"))).segment("MSA")[1]) == "AA"
            assert str(_ack(client.send_message(oru("D2", mrn="2"))).segment("MSA")[1]) == "AA"  # the resend
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    store = Store.open(pg_database_url)
    with store.reading() as conn:
        applied = [m.control_id for m in hl7log.messages(conn) if m.status == "applied"]
    assert applied == ["D1", "D3", "D2"]
    store.close()
