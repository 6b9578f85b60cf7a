"""The MLLP listener (``chartkeeper mllp``): framing, size and idle limits, one ACK per message.

MLLP frames a message as VT (0x0B) … FS CR (0x1C 0x0D). Each connection reads frames in
order; every message is prepared (parsed, mapped, validated — in worker processes when
``workers`` > 0), handed to the single :class:`GroupWriter`, and its ACK is written only once
the writer has committed it. Many connections share the writer, so their messages share
commits. Logs name the peer, message type, control id and ACK code — never message content.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

from chartkeeper.intake.hl7v2.ack import build_ack
from chartkeeper.intake.hl7v2.errors import APPLICATION_ERROR, V2Error
from chartkeeper.intake.hl7v2.parse import decode
from chartkeeper.intake.hl7v2.preparer import ChunkedPreparer
from chartkeeper.intake.hl7v2.process import V2Outcome, V2Prepared, prepare_v2
from chartkeeper.intake.hl7v2.writer import GroupWriter
from chartkeeper.store.patient_events import PatientMerger, PatientWriteListener
from chartkeeper.store.repository import Store

log = logging.getLogger("chartkeeper.mllp")

START, END = b"\x0b", b"\x1c\x0d"


@dataclass
class MllpSettings:
    host: str = "127.0.0.1"
    port: int = 2575
    max_bytes: int = 1 << 20
    idle_timeout: float = 300.0
    workers: int = 0
    stats: dict[str, int] = field(default_factory=lambda: {"AA": 0, "AE": 0, "AR": 0})


def frame(text: str) -> bytes:
    return START + text.encode("utf-8") + END


class MllpServer:
    """``listener`` and ``merger``: the master patient index's ports (ADR 0015), injected by
    ``chartkeeper mllp``; without them Patients are stored unmatched and A40s only recorded."""

    def __init__(
        self,
        store: Store,
        settings: MllpSettings,
        *,
        listener: PatientWriteListener | None = None,
        merger: PatientMerger | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.writer = GroupWriter(store, listener=listener, merger=merger)
        self.pool: Executor | None = None
        self.preparer: ChunkedPreparer | None = None
        self.server: asyncio.Server | None = None

    async def start(self) -> asyncio.Server:
        self.writer.start()
        if self.settings.workers > 0:
            self.pool = ProcessPoolExecutor(max_workers=self.settings.workers)
            self.preparer = ChunkedPreparer(self.pool, self.settings.workers)
        self.server = await asyncio.start_server(
            self._connection, self.settings.host, self.settings.port, limit=self.settings.max_bytes + 16
        )
        return self.server

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self.writer.stop()
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    async def _prepare(self, raw: bytes, source: str) -> V2Prepared:
        if self.preparer is None:
            return prepare_v2(raw, source)
        return await self.preparer.prepare(raw, source)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        source = f"mllp://{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "mllp"
        log.info("connection from %s", source)
        try:
            while True:
                raw = await self._read_frame(reader, writer, source)
                if raw is None:
                    break
                ack = await self._handle(raw, source)
                writer.write(frame(ack))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception as exc:  # never let a traceback (which may quote message content) reach the log
            log.error("%s: connection dropped after %s", source, type(exc).__name__)
        finally:
            writer.close()
            log.info("connection from %s closed", source)

    async def _read_frame(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, source: str
    ) -> bytes | None:
        """The next message's bytes; None when the peer is gone, idle too long, or over the limit."""
        limit = self.settings.max_bytes
        try:
            # asyncio.timeout, not wait_for: wait_for wraps each read in a task of its own.
            async with asyncio.timeout(self.settings.idle_timeout):
                await reader.readuntil(START)
            async with asyncio.timeout(self.settings.idle_timeout):
                data = await reader.readuntil(END)
        except TimeoutError:
            log.info("%s idle for %.0f s: closing", source, self.settings.idle_timeout)
            return None
        except asyncio.LimitOverrunError:
            head = bytes(getattr(reader, "_buffer", b""))[:512].decode(
                "latin-1", errors="replace"
            )  # its header, for the ACK
            error = V2Error("MSH", None, f"the message is larger than {limit} bytes", "AR", APPLICATION_ERROR)
            log.warning("%s sent a message over %d bytes: AR, closing", source, limit)
            writer.write(frame(build_ack(head, "AR", error)))
            await writer.drain()
            return None
        except asyncio.IncompleteReadError:
            return None
        return data[: -len(END)]

    async def _handle(self, raw: bytes, source: str) -> str:
        prepared = await self._prepare(raw, source)
        outcome = await self.writer.submit(prepared)
        self.settings.stats[outcome.ack_code] = self.settings.stats.get(outcome.ack_code, 0) + 1
        _log_outcome(source, prepared, outcome)
        error = None
        if outcome.rejection is not None:
            r = outcome.rejection
            where = r.segment + (f"-{r.field}" if r.field is not None else "")
            # The ERR segment carries segment and field apart, so its text need not repeat them.
            error = V2Error(r.segment, r.field, r.reason.removeprefix(f"{where}: "), r.ack_code, r.code)
        return build_ack(decode(raw[:4096]), outcome.ack_code, error)


def _log_outcome(source: str, prepared: V2Prepared, outcome: V2Outcome) -> None:
    where = ""
    if outcome.rejection is not None:
        r = outcome.rejection
        where = f" at {r.segment}" + (f"-{r.field}" if r.field is not None else "")
    log.info(
        "%s %s control id %r: %s (%s)%s",
        source,
        prepared.message_type or "?",
        prepared.control_id[:64],
        outcome.ack_code,
        outcome.status,
        where,
    )


async def serve(
    store: Store,
    settings: MllpSettings,
    ready: asyncio.Event | None = None,
    *,
    listener: PatientWriteListener | None = None,
    merger: PatientMerger | None = None,
) -> None:
    """Run until cancelled (Ctrl-C / SIGTERM stop it cleanly)."""
    server = MllpServer(store, settings, listener=listener, merger=merger)
    await server.start()
    if ready is not None:
        ready.set()
    try:
        assert server.server is not None
        async with server.server:
            await server.server.serve_forever()
    finally:
        await server.close()
