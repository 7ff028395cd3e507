"""An open-loop load generator: callbacks at a fixed rate, each timed from its scheduled start.

Timing from the schedule rather than from the actual write keeps a slow answer from hiding the
requests that should have been sent while it was awaited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_CONNECTIONS = 256
# A request not sent within this long of its planned time is dropped, and one not answered
# within it fails: an overloaded server cannot stretch a run without bound.
GIVE_UP_S = 30.0


@dataclass
class Sample:
    callback_id: int
    scheduled_at: float  # wall clock (time.time) of the planned send
    latency_s: float  # planned send to the whole answer read; nan when it failed
    status: int


class _Pool:
    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def get(
        self, *, fresh: bool = False
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """A connection, and whether it was used before (the server may have closed it)."""
        if self.idle and not fresh:
            return (*self.idle.pop(), True)
        self.opened += 1
        return (*await asyncio.open_connection("127.0.0.1", self.port), False)


async def _post(pool: _Pool, path: str, body: bytes) -> int:
    try:
        return await _post_once(pool, path, body, fresh=False)
    except _StaleConnectionError:
        # The server closed an idle kept-alive connection (gunicorn's keepalive): a new one.
        return await _post_once(pool, path, body, fresh=True)


class _StaleConnectionError(Exception):
    pass


async def _post_once(pool: _Pool, path: str, body: bytes, *, fresh: bool) -> int:
    reader, writer, reused = await pool.get(fresh=fresh)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{pool.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    try:
        writer.write(head + body)
        try:
            headers = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError):
            if reused and not fresh:
                writer.close()
                raise _StaleConnectionError from None
            raise
        lines = headers.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        await reader.readexactly(length)
    except _StaleConnectionError:
        raise
    except BaseException:
        writer.close()
        raise
    if close:
        writer.close()
    else:
        pool.idle.append((reader, writer))
    return status


async def _run(
    port: int, path: str, rate: float, seconds: float, first_id: int, body: Callable[[int], bytes]
) -> list[Sample]:
    pool = _Pool(port)
    samples: list[Sample] = []
    busy = asyncio.Semaphore(MAX_CONNECTIONS)
    total = int(rate * seconds)
    bodies = [body(first_id + i) for i in range(total)]
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    wall_offset = time.time() - loop.time()

    async def one(i: int, planned: float) -> None:
        callback_id = first_id + i
        async with busy:
            if loop.time() - planned > GIVE_UP_S:
                # Overloaded: this one would only measure the queue; counted as not answered.
                samples.append(Sample(callback_id, planned + wall_offset, float("nan"), 0))
                return
            try:
                status = await asyncio.wait_for(_post(pool, path, bodies[i]), GIVE_UP_S)
                latency = loop.time() - planned
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                status, latency = 0, float("nan")
        samples.append(Sample(callback_id, planned + wall_offset, latency, status))

    tasks = []
    for i in range(total):
        planned = start + i / rate
        delay = planned - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, planned)))
    await asyncio.gather(*tasks)
    for _, writer in pool.idle:
        writer.close()
    return samples


def run(
    port: int,
    *,
    rate: float,
    seconds: float,
    first_id: int,
    body: Callable[[int], bytes],
    path: str = "/voximplant/callback",
) -> list[Sample]:
    """Post rate*seconds callbacks to 127.0.0.1:*port* on a fixed schedule; every outcome."""
    return asyncio.run(_run(port, path, rate, seconds, first_id, body))
