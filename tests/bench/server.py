"""The fake Bot API served from its own thread and event loop.

The driver of the simulated technicians runs in the main event loop; the fake
server in another, so the driver's work never delays the server's answers. Calls
into the server cross over with `call`; every answered request comes back to the
driver through `on_answer`, stamped with the time it was answered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tests.fakeapi import FakeBotAPI, Recorded

T = TypeVar("T")

#: Called in the driver's loop with each answered request and when it was answered.
OnAnswer = Callable[[Recorded, float], None]


class FakeServer:
    """A `FakeBotAPI` running in a thread of its own."""

    def __init__(self) -> None:
        self._api: FakeBotAPI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._on_answer: OnAnswer = lambda record, answered_at: None

    @property
    def api(self) -> FakeBotAPI:
        """The server itself: touch its state only through `call` while it runs."""
        assert self._api is not None, "the fake server is not started"
        return self._api

    @property
    def base_url(self) -> str:
        return self.api.base_url

    async def start(self) -> None:
        """Start the server's thread and wait until it listens."""
        driver = asyncio.get_running_loop()
        ready = threading.Event()
        failed: list[BaseException] = []

        def listen(record: Recorded) -> None:
            answered_at = time.time()
            with contextlib.suppress(RuntimeError):  # the driver's loop is closing
                driver.call_soon_threadsafe(self._on_answer, record, answered_at)

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                self._api = FakeBotAPI()
                loop.run_until_complete(self._api.start())
                self._api.listeners.append(listen)
            except BaseException as error:
                failed.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._api.stop())
                loop.close()

        self._thread = threading.Thread(target=serve, name="fake-bot-api", daemon=True)
        self._thread.start()
        await asyncio.to_thread(ready.wait)
        if failed:
            raise failed[0]

    def on_answer(self, callback: OnAnswer) -> None:
        """Send every answered request to `callback` from now on."""
        self._on_answer = callback

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(*args)` in the server's loop and return what it returns."""
        assert self._loop is not None, "the fake server is not started"
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function(*args))
            except BaseException as error:
                future.set_exception(error)

        self._loop.call_soon_threadsafe(run)
        return await asyncio.wrap_future(future)

    async def stop(self) -> None:
        """Stop the server and its thread."""
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, 10)
        self._loop = None
        self._thread = None
