"""What the signature pad's tests share: Telegram's initData signed as Telegram signs
it (written here from Telegram's description, not with aiogram's checker), drawings
as the page sends them, the web face around a dispatcher harness, and the walk of
a report to its acceptance."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image, ImageDraw
from sqlalchemy import select

from bot.config import Settings
from bot.web import WebContext, build_app
from storage.models import Attachment, Delivery, Intervention, Signature, StatusChange
from tests.conftest import TECHNICIAN, Harness, Job
from tests.mocked import Call, Person, button
from tests.test_wizard import at_review, last_message

PUBLIC_URL = "http://127.0.0.1:8080"


def init_data(
    token: str,
    person: Person,
    *,
    age: float = 60.0,
    language_code: str | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """The initData Telegram gives a Mini App that `person` opened `age` seconds ago:
    the fields, then their hash (HMAC-SHA256 of the sorted "key=value" lines, keyed by
    HMAC-SHA256 of the token keyed by "WebAppData")."""
    user = person.to_dict()
    if language_code is not None:
        user["language_code"] = language_code
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(int(time.time() - age)),
    }
    fields.update(extra or {})
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def stroke(x0: float, y0: float, x1: float, y1: float, steps: int = 20) -> list[dict[str, float]]:
    start = time.time() * 1000
    return [
        {
            "x": round(x0 + (x1 - x0) * i / steps, 1),
            "y": round(y0 + (y1 - y0) * i / steps, 1),
            "t": round(start + 8 * i),
        }
        for i in range(steps + 1)
    ]


#: A signature as the page sends it: three strokes on a pad of 360 x 180 CSS pixels.
STROKES = [stroke(40, 120, 140, 40), stroke(140, 40, 200, 130), stroke(200, 130, 320, 60)]


def drawn_png(
    strokes: list[list[dict[str, float]]] = STROKES,
    size: tuple[int, int] = (720, 360),
    scale: float = 2.0,
) -> bytes:
    """The PNG the page exports for `strokes`: dark ink on transparency."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for line in strokes:
        draw.line([(p["x"] * scale, p["y"] * scale) for p in line], fill=(16, 32, 74, 255), width=5)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def sign_payload(init: str, job: Job, who: str = "client", **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "initData": init,
        "intervention": str(job.id),
        "who": who,
        "strokes": STROKES,
        "png": base64.b64encode(drawn_png()).decode(),
    }
    payload.update(changes)
    return payload


def web_context(harness: Harness) -> WebContext:
    """The web face's context around the harness: its database, recording Bot,
    options, files, templates and inbox; what a unit of work commits goes where the
    harness collects the updates' deliveries."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=harness.bot.token,
        data_dir=harness.files.root,
        public_url=harness.options.public_url or PUBLIC_URL,
    )
    return WebContext(
        settings=settings,
        db=harness.db,
        bot=harness.bot,
        options=harness.options,
        files=harness.files,
        templates=harness.templates,
        ingest=harness.ingest,
        after_commit=harness.committed.extend,
    )


@contextlib.asynccontextmanager
async def web_client(harness: Harness) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(web_context(harness)))) as client:
        yield client


async def at_client_signature(harness: Harness, *, reservations: str | None = None) -> Job:
    """A report walked to the client's signature (Mme Martin accepting, with
    `reservations` when given)."""
    job = await at_review(harness)
    for choice in ("Continuer", "Mme Martin", "Avec réserves" if reservations else "Sans réserve"):
        prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
        await harness.press(TECHNICIAN, prompt, button(prompt, choice))
    if reservations:
        await harness.say(TECHNICIAN, reservations)
    return job


async def signature_prompt(harness: Harness) -> Call:
    return last_message(await harness.say(TECHNICIAN, "/resume"))


def web_app_buttons(call: Call) -> list[tuple[str, str]]:
    """The (text, url) of the buttons of a message that open a Mini App."""
    markup = call.params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [
        (b["text"], b["web_app"]["url"])
        for row in markup.get("inline_keyboard", [])
        for b in row
        if "web_app" in b
    ]


async def send_committed(harness: Harness) -> list[Call]:
    """Send what the web face's units of work committed, as the outbox sender does
    right after a commit; the calls that made."""
    before = len(harness.session.calls)
    replies = [d for d in harness.committed if d.kind == "call"]
    harness.committed.clear()
    await harness.sender.send_now(replies)
    return harness.session.calls[before:]


@contextlib.asynccontextmanager
async def nothing_stored(harness: Harness, job: Job) -> AsyncIterator[None]:
    """Checks that what runs inside stores nothing about the report: no signature, no
    file, no audit entry, no message, the wizard where it was."""
    before = await _state(harness, job)
    committed = len(harness.committed)
    files = sorted(p for p in harness.files.root.rglob("*") if p.is_file())
    yield
    assert await _state(harness, job) == before
    assert len(harness.committed) == committed
    assert sorted(p for p in harness.files.root.rglob("*") if p.is_file()) == files


async def _state(harness: Harness, job: Job) -> tuple[Any, ...]:
    async with harness.db.sessions() as session:
        row = await session.get(Intervention, job.id)
        assert row is not None
        counts = []
        for model in (Signature, Attachment, StatusChange, Delivery):
            counts.append(len((await session.scalars(select(model.id))).all()))
        return (row.wizard_step, dict(row.wizard_data or {}), *counts)
