"""HL7 v2 listener, before/after: two source trees measured alternately in the same run.

On a shared machine the rate moves more between two identical runs than between two
versions, so each round runs the "before" tree and then the "after" tree under the same
conditions (SQLite, then PostgreSQL when ``--pg`` is given), with ``benchmarks/intake.py``'s
own listener run. Prints one JSON line per run: rate, CPU per message for the listener with
its workers and for the listener process alone, and the load average when it started.

    git archive <base commit> src | tar -x -C /tmp/before
    python benchmarks/intake_ab.py --before /tmp/before/src --after src [--messages 2000]
        [--rounds 2] [--workers 0 2] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import intake


def _own_cpu(pid: int) -> float:
    """CPU seconds of the listener process itself (not its workers), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="the src folder of the tree before the change")
    parser.add_argument("--after", required=True, help="the src folder of the tree after the change")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--pg", help="also measure on this PostgreSQL server (a database per run)")
    args = parser.parse_args()
    trees = {"before": str(Path(args.before).resolve()), "after": str(Path(args.after).resolve())}
    batch = intake.messages(args.messages + 200)
    samples: dict[int, list[float]] = {}
    whole = intake.cpu_seconds

    def cpu_seconds(pid: int) -> float:  # listener_run reads this before and after the timed part
        samples.setdefault(pid, []).append(_own_cpu(pid))
        return whole(pid)

    intake.cpu_seconds = cpu_seconds
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    for round_ in range(args.rounds):
        for kind in kinds:
            for workers in args.workers:
                for name, src in trees.items():
                    os.environ["PYTHONPATH"] = src
                    load = os.getloadavg()[0]
                    database = ""
                    if kind == "sqlite":
                        url = f"sqlite:///{tempfile.mkdtemp()}/ab.db"
                    else:
                        import psycopg

                        database = f"ck_ab_{os.getpid()}_{name}_{workers}_{round_}"
                        with psycopg.connect(args.pg, autocommit=True) as admin:
                            admin.execute(f'CREATE DATABASE "{database}"')
                        url = args.pg.rsplit("/", 1)[0] + f"/{database}"
                    try:
                        result = intake.listener_run(url, batch, args.connections, workers)
                    finally:
                        if database:
                            import psycopg

                            with psycopg.connect(args.pg, autocommit=True) as admin:
                                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                    [(_, (before, after))] = [(pid, tuple(v[-2:])) for pid, v in samples.items()]
                    samples.clear()
                    row = {
                        "round": round_,
                        "database": kind,
                        "tree": name,
                        "workers": workers,
                        "load_average": round(load, 1),
                        "messages_per_s": result["messages_per_s"],
                        "cpu_ms_per_message": result["listener_cpu_ms_per_message"],
                        "listener_process_cpu_ms_per_message": round(
                            (after - before) / args.messages * 1000, 3
                        ),
                        "acks": result["acks"],
                    }
                    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
