"""When a process counts as serving one request alone (the lone read's AuditEvent is committed
on the event loop only then, ADR 0026): no other request inside the app, and none that the
server has read off its connection but not yet started."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from chartkeeper.api.inline import RequestTally


def _request(body: Callable[[], Awaitable[None]]) -> Awaitable[None]:
    """A coroutine named as uvicorn names its per-request one (``RequestResponseCycle.run_asgi``)."""

    async def run_asgi() -> None:
        await body()

    return run_asgi()


def test_alone_only_without_other_requests_started_or_waiting() -> None:
    async def scenario() -> list[bool]:
        tally = RequestTally()
        seen: list[bool] = []
        release = asyncio.Event()

        async def other() -> None:
            await release.wait()

        async def asking() -> None:
            tally.serving += 1
            seen.append(tally.alone())  # nothing else, and itself a request task: alone
            waiting = asyncio.ensure_future(_request(other))
            seen.append(tally.alone())  # read off its connection, not started: not alone
            await asyncio.sleep(0)
            seen.append(tally.alone())  # started, still in flight: not alone
            release.set()
            await waiting
            seen.append(tally.alone())  # answered: alone again
            tally.serving += 1  # another request inside the app (the middleware's count)
            seen.append(tally.alone())
            tally.serving -= 2

        await asyncio.ensure_future(_request(asking))
        return seen

    assert asyncio.run(scenario()) == [True, False, False, True, False]


def test_other_tasks_of_the_loop_do_not_count() -> None:
    async def scenario() -> bool:
        tally = RequestTally()
        background = asyncio.ensure_future(asyncio.sleep(1))  # e.g. a server's own housekeeping
        tally.serving = 1
        alone = tally.alone()
        background.cancel()
        return alone

    assert asyncio.run(scenario())


def test_uvicorn_still_names_its_request_coroutine_run_asgi() -> None:
    """The tally recognizes waiting requests by that name; an upgrade that renamed it would
    silently bring back one commit per read under load."""
    from uvicorn.protocols.http import h11_impl, httptools_impl

    assert httptools_impl.RequestResponseCycle.run_asgi.__name__ == "run_asgi"
    assert h11_impl.RequestResponseCycle.run_asgi.__name__ == "run_asgi"
