"""Driving the simulated technicians, all at once, with no think time.

Each technician sends the next update of their walk as soon as the bot has answered
the previous one: the message the walk waits for has reached the fake server in
their chat (and, for a button, the press was answered). Against Terrain the answer
is recognised by its content (`walk.Expect`); against the bare bot, which keeps no
state, by its count: one message per update sent, and the press answered.

Everything the fake server answers comes to `Load.on_answer`, which hands each
technician the messages of their chat; the figures are computed afterwards from
the same records (see `figures`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.bench.server import FakeServer
from tests.bench.walk import Action, Expect, Walk, step_shown
from tests.fakeapi import JSON, FakeBotAPI, FakeUser, Recorded, inline_buttons

#: What the bot sends into a chat that a person reads.
#: Seconds after which Telegram's apps stop a button's spinner that the bot has not
#: answered: the technician then goes on (the bot's reply is what they wait for).
SPINNER_GIVES_UP = 15.0
REPLY_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendLocation",
        "sendMediaGroup",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
    }
)


@dataclass
class Reply:
    """A message the bot sent or edited in a technician's chat, as the server got it."""

    record: Recorded
    method: str
    time: float
    """When the server received it."""
    text: str
    labels: list[str]
    message_id: int | None
    is_pdf: bool

    @classmethod
    def of(cls, record: Recorded) -> Reply:
        result = record.result
        message = result if isinstance(result, dict) else {}
        if isinstance(result, list) and result and isinstance(result[0], dict):
            message = result[0]
        message_id = message.get("message_id", record.params.get("message_id"))
        upload = record.upload("document") if record.method == "sendDocument" else None
        return cls(
            record=record,
            method=record.method,
            time=record.time,
            text=record.text or "",
            labels=[str(b.get("text", "")) for b in inline_buttons(message)],
            message_id=int(message_id) if isinstance(message_id, int) else None,
            is_pdf=upload is not None and upload.data.startswith(b"%PDF"),
        )

    @property
    def delivered(self) -> bool:
        """The server did it, so the person sees it (even if the bot never heard)."""
        return self.record.ok

    def matches(self, expect: Expect, pressed: int | None) -> bool:
        if not self.delivered:
            return False
        if expect.method is not None and self.method != expect.method:
            return False
        if expect.same_message and (pressed is None or self.message_id != pressed):
            return False
        if expect.step is not None and step_shown(self.text) != expect.step:
            return False
        if expect.button and not any(
            all(part in label for part in expect.button) for label in self.labels
        ):
            return False
        if expect.contains and expect.contains not in self.text:
            return False
        return not expect.pdf or self.is_pdf

    def summary(self) -> str:
        first = self.text.splitlines()[0][:90] if self.text else ""
        more = " …" if self.text and len(self.text.splitlines()) > 1 else ""
        status = "" if self.delivered else f" -> {self.record.status}"
        buttons = f" [{' | '.join(self.labels)}]" if self.labels else ""
        document = " (PDF)" if self.is_pdf else ""
        return f"{self.method} #{self.message_id}{document}: {first}{more}{buttons}{status}"


@dataclass
class Sent:
    """An update a technician sent."""

    update_id: int
    kind: str
    """"text", "button" or "photo"."""
    action: int
    """Index of the action in the walk."""
    at: float
    callback_id: str | None = None


class Stuck(Exception):
    """A walk waited too long; the message is that technician's transcript."""

    def __init__(self, technician: Technician, action: Action, why: str) -> None:
        self.technician = technician
        self.action = action
        self.why = why
        super().__init__(technician.transcript(why))


# Pushing updates, in the fake server's loop ---------------------------------------


def _push_text(api: FakeBotAPI, user: FakeUser, text: str) -> list[JSON]:
    return [api.send_text(user, text)]


def _push_photos(
    api: FakeBotAPI, user: FakeUser, photos: tuple[bytes, ...], caption: str | None, album: str
) -> list[JSON]:
    group = album if len(photos) > 1 else None
    return [
        api.send_photo(user, data, caption if n == 0 else None, media_group_id=group)
        for n, data in enumerate(photos)
    ]


def _push_press(api: FakeBotAPI, user: FakeUser, message_id: int, label: str | None) -> list[JSON]:
    """Press the first button of the message whose label contains `label` (None: the
    first button)."""
    message = api.messages.get((user.id, message_id))
    if message is None:
        raise LookupError(f"message #{message_id} is gone")
    buttons = inline_buttons(message)
    for button in buttons:
        if "callback_data" in button and (label is None or label in str(button.get("text"))):
            return [api.press_button(user, message, str(button["callback_data"]))]
    labels = [button.get("text") for button in buttons]
    raise LookupError(f"no button {label!r} on message #{message_id}, only {labels}")


# One technician --------------------------------------------------------------------


class Technician:
    """One simulated person walking through their report."""

    def __init__(
        self, walk: Walk, server: FakeServer, *, bare: bool, timeout: float, load: Load
    ) -> None:
        self.walk = walk
        self.server = server
        self.bare = bare
        self.timeout = timeout
        self.load = load
        planned = walk.planned
        self.user = FakeUser(planned.telegram_id, planned.name.split()[-1], language_code="fr")
        self.replies: list[Reply] = []
        self.answered: set[str] = set()
        self.sent: list[Sent] = []
        self.done = 0
        """Actions sent so far."""
        self.finished = False
        self.stuck: Stuck | None = None
        self.focus: int | None = None
        """The message the next press acts on."""
        self._changed = asyncio.Event()

    @property
    def chat_id(self) -> int:
        return self.user.id

    def heard(self, record: Recorded) -> None:
        """The server answered a request into this chat."""
        if record.method == "answerCallbackQuery":
            if record.ok:
                self.answered.add(str(record.params.get("callback_query_id")))
        else:
            self.replies.append(Reply.of(record))
        self._changed.set()

    async def run(self) -> None:
        """Walk to the end, or until stuck (raised as `Stuck`)."""
        for index, action in enumerate(self.walk.actions):
            await self.act(index, action)
        self.finished = True

    async def act(self, index: int, action: Action) -> None:
        start = len(self.replies)
        try:
            updates = await self._push(action)
        except LookupError as error:
            self.done = index + 1
            self.stuck = Stuck(self, action, f"cannot {action.what}: {error}")
            raise self.stuck from None
        self.done = index + 1
        now = time.time()
        kind = {"text": "text", "press": "button", "photos": "photo"}[action.kind]
        callbacks = []
        for update in updates:
            query = update.get("callback_query")
            callback_id = str(query["id"]) if isinstance(query, dict) else None
            if callback_id is not None:
                callbacks.append(callback_id)
                self.load.by_callback[callback_id] = self
            self.sent.append(Sent(int(update["update_id"]), kind, index, now, callback_id))
        self.load.count(len(updates))
        pressed = self.focus if action.kind == "press" else None
        if self.bare:
            found = await self._wait(
                lambda: self._bare_answer(start, len(updates), callbacks), action.slow
            )
        else:
            found = await self._wait(
                lambda: self._answer(start, action.expect, pressed, callbacks), action.slow
            )
        if found is None:
            waited = self.timeout * (2 if action.slow else 1)
            self.stuck = Stuck(self, action, f"no answer after {waited:.0f} s")
            raise self.stuck
        self.focus = found.message_id

    async def _push(self, action: Action) -> list[JSON]:
        api = self.server.api
        if action.kind == "text":
            return await self.server.call(_push_text, api, self.user, action.text)
        if action.kind == "photos":
            album = f"album-{self.chat_id}-{len(self.sent)}"
            return await self.server.call(
                _push_photos, api, self.user, action.photos, action.caption, album
            )
        if self.focus is None:
            raise LookupError("no message to press a button on")
        label = None if self.bare else action.text
        return await self.server.call(_push_press, api, self.user, self.focus, label)

    def _spinning(self, callbacks: list[str], since: float) -> bool:
        """Whether a press still shows its spinner: not answered yet, and younger than
        the time after which Telegram's apps stop the spinner by themselves."""
        unanswered = any(callback not in self.answered for callback in callbacks)
        return unanswered and time.time() - since < SPINNER_GIVES_UP

    def _answer(
        self, start: int, expect: Expect, pressed: int | None, callbacks: list[str]
    ) -> Reply | None:
        if self._spinning(callbacks, self.sent[-1].at if callbacks else 0.0):
            return None
        for reply in self.replies[start:]:
            if reply.matches(expect, pressed):
                return reply
        return None

    def _bare_answer(self, start: int, updates: int, callbacks: list[str]) -> Reply | None:
        if self._spinning(callbacks, self.sent[-1].at if callbacks else 0.0):
            return None
        messages = [r for r in self.replies[start:] if r.method == "sendMessage" and r.delivered]
        return messages[-1] if len(messages) >= updates else None

    async def _wait(self, found: Callable[[], Reply | None], slow: bool = False) -> Reply | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout * (2 if slow else 1)
        while True:
            reply = found()
            if reply is not None:
                return reply
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            self._changed.clear()
            try:
                # Looked at again each second too: a spinner may stop by itself.
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
            except TimeoutError:
                continue

    def transcript(self, why: str) -> str:
        """What this technician sent and read, in order, for a failure message."""
        planned = self.walk.planned
        lines = [f"{planned.name} (id {planned.telegram_id}, {planned.number}): {why}"]
        if self.done and not self.finished:
            action = self.walk.actions[self.done - 1]
            lines.append(
                f"  at action {self.done}/{len(self.walk.actions)} ({action.what}),"
                f" waiting for {action.expect.describe() if not self.bare else 'the answers'}"
            )
        events: list[tuple[float, str]] = []
        for sent in self.sent:
            action = self.walk.actions[sent.action]
            what = action.text if action.kind != "photos" else f"{len(action.photos)} photo(s)"
            events.append((sent.at, f"  -> {sent.kind} update {sent.update_id}: {what}"))
        for reply in self.replies:
            events.append((reply.time, f"  <- {reply.summary()}"))
        events.sort(key=lambda event: event[0])
        start = events[0][0] if events else 0.0
        lines.extend(f"{at - start:7.2f} s {line}" for at, line in events[-60:])
        return "\n".join(lines)


# Everyone --------------------------------------------------------------------------


@dataclass
class Load:
    """The simulated technicians and every request the server answered meanwhile."""

    server: FakeServer
    walks: list[Walk]
    bare: bool
    timeout: float
    answers: list[tuple[Recorded, float]] = field(default_factory=list)
    by_callback: dict[str, Technician] = field(default_factory=dict)
    technicians: list[Technician] = field(default_factory=list)
    pushed: int = 0
    started: float = 0.0
    ended: float = 0.0
    harness_cpu_ms: float = 0.0
    """CPU time of this process (driver and fake server) during the load."""
    _thresholds: list[tuple[int, asyncio.Event]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.technicians = [
            Technician(walk, self.server, bare=self.bare, timeout=self.timeout, load=self)
            for walk in self.walks
        ]
        self._by_chat = {technician.chat_id: technician for technician in self.technicians}
        self.server.on_answer(self.on_answer)

    @property
    def planned_updates(self) -> int:
        return sum(walk.updates for walk in self.walks)

    def on_answer(self, record: Recorded, answered_at: float) -> None:
        """Every answered request: kept, and given to the technician it concerns."""
        self.answers.append((record, answered_at))
        if record.method == "answerCallbackQuery":
            technician = self.by_callback.get(str(record.params.get("callback_query_id")))
        elif record.method in REPLY_METHODS:
            chat = _int(record.chat_id)
            technician = self._by_chat.get(chat) if chat is not None else None
        else:
            return
        if technician is not None:
            technician.heard(record)

    def count(self, updates: int) -> None:
        self.pushed += updates
        for threshold, event in self._thresholds:
            if self.pushed >= threshold:
                event.set()

    def when_pushed(self, updates: int) -> asyncio.Event:
        """An event set once `updates` updates have been sent."""
        event = asyncio.Event()
        self._thresholds.append((updates, event))
        return event

    async def run(self, *, stop_at_first_stuck: bool) -> list[Stuck]:
        """Walk everyone at once; the stuck walks (the first one raised when asked)."""
        self.started = time.time()
        cpu = time.process_time()
        tasks = [asyncio.create_task(t.run(), name=f"walk-{t.chat_id}") for t in self.technicians]
        stuck: list[Stuck] = []
        try:
            for task in asyncio.as_completed(tasks):
                try:
                    await task
                except Stuck as error:
                    if stop_at_first_stuck:
                        raise
                    stuck.append(error)
        finally:
            self.ended = time.time()
            self.harness_cpu_ms = (time.process_time() - cpu) * 1000
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return stuck


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
