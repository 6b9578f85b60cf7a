"""HL7 v2 intake throughput: ORU^R01 messages per second over MLLP on loopback, durable writes.

Prints one JSON object. A real ``chartkeeper mllp`` process (SQLite, synchronous=FULL on its
writer connection; PostgreSQL with ``--pg``) receives N distinct ORU^R01 messages (1 OBR,
3 numeric OBX each, 500 patients) over C concurrent connections; every message must come back
AA, and the rate counts only acknowledged, committed messages. In the same run it measures
two limits: the same messages inserted as raw rows into SQLite in one transaction (the
storage ceiling) and an MLLP listener that acknowledges without parsing or storing (the
framing and loopback ceiling, with the same client). Because the machines are shared, it
also reports CPU time per message (listener with its worker processes, and client) and the
rate that CPU time would allow on 2 idle cores (an estimate), the listener's main process
alone (the serial part), and the rest of the machine's CPU in the same seconds (on PostgreSQL,
mostly its server processes) with the cores busy on average.

Every run gets a new database of its own: before 2026-11-30 the PostgreSQL runs shared one, so
every run after the first measured re-sent duplicates (same control ids, acknowledged without
being applied), and those PostgreSQL figures were too high.

    python benchmarks/intake.py [--messages 5000] [--connections 8] [--workers 0 1 2] [--pg URL] [--pg-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHARTKEEPER = Path(sys.executable).with_name("chartkeeper")
TARGET = 2000
VT, END = b"\x0b", b"\x1c\x0d"

ORU = (
    "MSH|^~\\&|LAB|GH|EHR|GH|20240301{hh:02d}{mm:02d}00+0000||ORU^R01^ORU_R01|B{n}|P|2.5.1\r"
    "PID|1||MRN{p}^^^GH^MR||Doe{p}^Pat||19700214|F|||1 Main St^^Town^IL^62701\r"
    "ORC|RE|P{n}^EHR|F{n}^LAB\r"
    "OBR|1|P{n}^EHR|F{n}^LAB|24331-1^Lipid panel^LN|||20240301083000+0000|||||||||||||||20240301100000+0000|||F\r"
    "OBX|1|NM|2093-3^Cholesterol^LN||{v}|mg/dL^mg/dL^UCUM|125-200|{flag}|||F|||20240301090000+0000\r"
    "OBX|2|NM|2571-8^Triglyceride^LN||140|mg/dL^mg/dL^UCUM|0-150|N|||F|||20240301090000+0000\r"
    "OBX|3|NM|2085-9^HDL Cholesterol^LN||55|mg/dL^mg/dL^UCUM|40-60|N|||F|||20240301090000+0000\r"
)

ECHO_SERVER = r"""
import asyncio, sys
async def handle(r, w):
    try:
        while True:
            await r.readuntil(b"\x0b")
            data = await r.readuntil(b"\x1c\x0d")
            cid = data.split(b"\r", 1)[0].split(b"|")[9]
            w.write(b"\x0bMSH|^~\\&|||||||ACK|1|P|2.5.1\rMSA|AA|" + cid + b"\r\x1c\x0d")
            await w.drain()
    except Exception:
        w.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def messages(count: int) -> list[bytes]:
    out = []
    for n in range(count):
        value = 150 + n % 120
        out.append(
            ORU.format(
                n=n, p=n % 500, v=value, flag="H" if value > 200 else "N", hh=(n // 60) % 24, mm=n % 60
            ).encode()
        )
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("listener exited") from None
            time.sleep(0.1)
    raise RuntimeError("listener did not start")


async def send_all(port: int, batch: list[bytes], connections: int) -> tuple[float, dict[str, int]]:
    """Send every message over ``connections`` connections, each waiting for its ACK in turn."""
    codes: dict[str, int] = {}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for message in batch:
        queue.put_nowait(message)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not queue.empty():
            message = queue.get_nowait()
            writer.write(VT + message + END)
            await writer.drain()
            ack = await reader.readuntil(END)
            code = ack.split(b"MSA|", 1)[1][:2].decode()
            codes[code] = codes.get(code, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, codes


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and all its descendants, from /proc."""
    total = 0.0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            total += own_cpu_seconds(current)
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def own_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` alone, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every process of the machine spent (all cores, not idle or waiting), from
    /proc/stat: with the listener's and the client's own, what is left is the database server's
    (PostgreSQL's backends) and the rest of the machine's."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def listener_run(db: str, batch: list[bytes], connections: int, workers: int) -> dict[str, object]:
    port = free_port()
    subprocess.run([str(CHARTKEEPER), "--db", db, "init"], check=True, capture_output=True)
    proc = subprocess.Popen(
        [str(CHARTKEEPER), "--db", db, "mllp", "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, proc)
        asyncio.run(send_all(port, batch[:200], connections))  # warm-up
        cpu_before, client_before = cpu_seconds(proc.pid), time.process_time()
        main_before, busy_before = own_cpu_seconds(proc.pid), machine_busy_seconds()
        seconds, codes = asyncio.run(send_all(port, batch[200:], connections))
        cpu = cpu_seconds(proc.pid) - cpu_before
        main_cpu = own_cpu_seconds(proc.pid) - main_before
        busy = machine_busy_seconds() - busy_before
        client_cpu = time.process_time() - client_before
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    sent = len(batch) - 200
    return {
        "workers": workers,
        "messages": sent,
        "seconds": round(seconds, 3),
        "messages_per_s": round(codes.get("AA", 0) / seconds),
        "acks": codes,
        # CPU per message, which the machine's other load does not change much:
        "listener_cpu_ms_per_message": round(cpu / sent * 1000, 3),
        "listener_main_process_cpu_ms_per_message": round(main_cpu / sent * 1000, 3),
        "client_cpu_ms_per_message": round(client_cpu / sent * 1000, 3),
        # the rest of the machine's CPU in the same seconds: the database server's, mostly
        "other_cpu_ms_per_message": round((busy - cpu - client_cpu) / sent * 1000, 3),
        "machine_busy_cores": round(busy / seconds, 2),
        # an estimate, not a measurement: with workers=0 the listener is one process (one core)
        "cpu_bound_estimate_on_2_idle_cores": round(
            min(2 / ((cpu + client_cpu) / sent), sent / cpu if workers == 0 else float("inf"))
        ),
    }


def raw_rows(batch: list[bytes], folder: Path) -> float:
    con = sqlite3.connect(folder / "raw.db")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE msg (pk INTEGER PRIMARY KEY, control_id TEXT, content BLOB NOT NULL)")
    started = time.perf_counter()
    with con:
        con.executemany(
            "INSERT INTO msg (control_id, content) VALUES (?, ?)", ((str(i), m) for i, m in enumerate(batch))
        )
    seconds = time.perf_counter() - started
    con.close()
    return len(batch) / seconds


def echo_limit(batch: list[bytes], connections: int) -> float:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)])
    try:
        wait_port(port, proc)
        seconds, codes = asyncio.run(send_all(port, batch, connections))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return codes.get("AA", 0) / seconds


def pg_run(admin_url: str, batch: list[bytes], connections: int, workers: int) -> dict[str, object]:
    """One listener run on a new PostgreSQL database of its own: runs that shared one
    database measured the second run's messages as re-sent duplicates (same control ids),
    which are acknowledged without being applied again."""
    import psycopg

    name = f"ck_bench_{os.getpid()}_{workers}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return listener_run(admin_url.rsplit("/", 1)[0] + f"/{name}", batch, connections, workers)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pg", help="also measure on this PostgreSQL server (a database is created)")
    parser.add_argument(
        "--pg-only",
        action="store_true",
        help="measure PostgreSQL only (with --pg): no SQLite runs, no limits",
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    batch = messages(args.messages + 200)
    result: dict[str, object] = {
        "message": "ORU^R01, 1 OBR + 3 NM OBX (5 FHIR resources per message: Patient, DiagnosticReport, 3 Observations)",
        "bytes_per_message": sum(map(len, batch)) // len(batch),
        "connections": args.connections,
        "cores": len(os.sched_getaffinity(0)),
        "load_average_at_start": round(load, 2),
        "target_messages_per_s": TARGET,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.pg_only:
            runs = []
            for workers in args.workers:
                db = f"sqlite:///{folder / f'mllp-{workers}.db'}"
                runs.append(listener_run(db, batch, args.connections, workers))
            result["sqlite"] = runs
            best = max(int(str(r["messages_per_s"])) for r in runs)
            result["best_sqlite_messages_per_s"] = best
            result["raw_sqlite_rows_per_s"] = round(raw_rows(batch, folder))
            result["mllp_echo_limit_per_s"] = round(echo_limit(batch, args.connections))
            result["ratio_to_echo_limit"] = round(best / float(str(result["mllp_echo_limit_per_s"])), 3)
        if args.pg:
            result["postgresql"] = pg_runs = [
                pg_run(args.pg, batch, args.connections, w) for w in args.workers
            ]
            result["best_postgresql_messages_per_s"] = max(int(str(r["messages_per_s"])) for r in pg_runs)
    rates = [
        int(str(result[key]))
        for key in ("best_sqlite_messages_per_s", "best_postgresql_messages_per_s")
        if key in result
    ]
    result["target_met"] = max(rates) >= TARGET  # on either database
    print(json.dumps(result))


if __name__ == "__main__":
    main()
