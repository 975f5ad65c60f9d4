"""The signature pad: a page opened inside Telegram from the acceptance step's
"✍️ Sign on the screen" button, on which the client (or the technician, for their
own signature) signs with a finger, a stylus or the mouse.

- `GET /pad?i=<intervention>&who=client|technician`: the page (static/pad/, ours,
  with the pad's texts in French and English from the catalogs), its script and
  style under /pad/.
- `GET /pad/info`, same query, with `Authorization: tma <initData>`: what is being
  accepted (report number, client, total incl. VAT, reservations, signer), in the
  signer's language.
- `POST /pad/sign`: JSON `{initData, intervention, who, strokes, png}`; the strokes
  are lists of points `{x, y, t}` (CSS pixels, milliseconds), the PNG (base64) is the
  drawing the report prints.

Who opens the page is told by Telegram's `initData`, signed with the bot token
(aiogram's `safe_parse_webapp_init_data`) and at most INIT_DATA_VALID_FOR old;
never by what the page says. The Telegram account must be the registered, active
technician the intervention is assigned to, and the wizard must stand at that very
signature question (handlers.technician.drawn). The signature is then stored in
one unit of work, as a photo's would be, with an audit entry, and the chat goes on
by itself with the next question (the outbox sends it after the commit); the page
closes. The same drawing posted again (a second Confirm, an answer lost on the way)
is answered 200 "already signed" and stored once.

Refusals store nothing and say why in the person's language (`message`): 401 for
an initData that is forged, missing or expired; 403 for a person who may not sign
this report, or a question that has moved on; 400 for a drawing that is empty,
too large or unreadable.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram.utils.web_app import WebAppUser, parse_webapp_init_data, safe_parse_webapp_init_data
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.replies import Unit, current_unit
from bot.web.context import CONTEXT, WebContext
from handlers.callbacks import PAD_PATH, read_pad_address
from handlers.i18n import LANGUAGES, Translator, catalog, pick_language
from handlers.technician import drawn
from handlers.technician.desk import Desk
from handlers.technician.drawn import Drawing, PadRefused
from handlers.technician.visit import Visit
from reports import offload
from reports.images import NOT_A_SIGNATURE, TOO_MANY_PIXELS, ImageRejected, prepare_drawn_signature
from storage import outbox, users
from storage.models import utcnow

log = logging.getLogger(__name__)

#: The folder of the pad's page, script and style (package data).
STATIC = Path(__file__).resolve().parent / "static" / "pad"
#: How long a page opened from Telegram may sign (Telegram dates its initData).
INIT_DATA_VALID_FOR = dt.timedelta(hours=1)
#: An initData dated this far ahead of our clock is still taken (clocks drift).
CLOCK_SKEW = dt.timedelta(minutes=5)

#: What a post may weigh, and the drawing in it: a phone's signature is a few
#: thousand points and a PNG of some tens of kilobytes.
MAX_BODY = 3 * 1024 * 1024
MAX_PNG_BYTES = 1024 * 1024
#: The largest drawing taken, in pixels (a tablet's pad, twice as dense).
MAX_PNG_SIZE = (2400, 1200)
MAX_STROKES = 400
MAX_POINTS = 20_000
#: A coordinate beyond this is not on any screen; a time beyond this is not one.
MAX_COORDINATE = 100_000.0
MAX_TIME = 10.0**13

#: Refusals: HTTP status and the catalog's key of what the person reads.
EXPIRED = (401, "pad.refused.expired")
NOT_YOURS = (403, "pad.refused.not_yours")
MOVED_ON = (403, "pad.refused.moved_on")
EMPTY = (400, "pad.refused.empty")
TOO_LARGE = (400, "pad.refused.too_large")
MALFORMED = (400, "pad.refused.malformed")
REFUSED_BY_REPORT = {drawn.NOT_YOURS: NOT_YOURS, drawn.MOVED_ON: MOVED_ON}


class Refusal(Exception):
    """A request the pad refuses: `answer` is (status, catalog key)."""

    def __init__(self, answer: tuple[int, str], why: str = "") -> None:
        super().__init__(answer[1], why)
        self.status, self.key = answer
        self.why = why


@dataclass(frozen=True)
class Signer:
    """Who opened the page, as Telegram's signed initData says."""

    user: WebAppUser
    opened_at: dt.datetime


def setup(app: web.Application) -> None:
    context = app[CONTEXT]
    page = render_page(context.options.default_language)

    async def pad_page(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers=PAGE_HEADERS)

    app.router.add_get(PAD_PATH, pad_page)
    app.router.add_get(f"{PAD_PATH}/pad.js", _file("pad.js"))
    app.router.add_get(f"{PAD_PATH}/pad.css", _file("pad.css"))
    app.router.add_get(f"{PAD_PATH}/info", info)
    app.router.add_post(f"{PAD_PATH}/sign", sign)


# The page -----------------------------------------------------------------------

#: Where the page may load from: itself, and Telegram's script.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self' https://telegram.org; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'"
    ),
    "Cache-Control": "no-cache",
}


def render_page(default_language: str) -> str:
    """pad.html with the pad's texts of every language (the page picks the person's)."""
    texts: dict[str, Any] = {
        "default": default_language if default_language in LANGUAGES else LANGUAGES[0]
    }
    for language in LANGUAGES:
        found = catalog(language)
        texts[language] = {
            key.rsplit(".", 1)[1]: str(value)
            for key, value in found.items()
            if key.startswith(("pad.page.", "pad.refused."))
        }
    data = json.dumps(texts, ensure_ascii=False).replace("<", "\\u003c")
    return (STATIC / "pad.html").read_text(encoding="utf-8").replace("{{texts}}", data)


def _file(name: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    """The route serving one of the pad's files."""

    async def serve(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

    return serve


# Who is asking ------------------------------------------------------------------


def authenticate(context: WebContext, init_data: object, now: dt.datetime) -> Signer:
    """The Telegram account behind a page's initData, checked with the bot token and
    its age; Refusal(EXPIRED) when it is missing, forged or too old."""
    if not isinstance(init_data, str) or not init_data:
        raise Refusal(EXPIRED, "no initData")
    try:
        parsed = safe_parse_webapp_init_data(context.bot.token, init_data)
    except ValueError:
        raise Refusal(EXPIRED, "initData not signed with this bot's token") from None
    opened_at = parsed.auth_date
    if opened_at.tzinfo is None:
        opened_at = opened_at.replace(tzinfo=dt.UTC)
    if parsed.user is None:
        raise Refusal(EXPIRED, "initData names no user")
    if opened_at < now - INIT_DATA_VALID_FOR or opened_at > now + CLOCK_SKEW:
        raise Refusal(EXPIRED, f"initData dated {opened_at.isoformat()}")
    return Signer(parsed.user, opened_at)


def language_before_checking(context: WebContext, init_data: object) -> str:
    """The language to refuse in when initData cannot be trusted: the one it claims
    (harmless to believe for that), else the company's default."""
    code = None
    if isinstance(init_data, str):
        try:
            claimed = parse_webapp_init_data(init_data)
        except (ValueError, TypeError):
            claimed = None
        code = claimed.user.language_code if claimed and claimed.user else None
    return pick_language(None, code, context.options.default_language)


def refused(refusal: Refusal, language: str) -> web.Response:
    log.info("signature pad: refused (%s): %s", refusal.status, refusal.why or refusal.key)
    t = Translator(language)
    return web.json_response(
        {"error": refusal.key.rsplit(".", 1)[1], "message": t(refusal.key), "language": language},
        status=refusal.status,
        headers={"Cache-Control": "no-store"},
    )


# What is asked ------------------------------------------------------------------


async def info(request: web.Request) -> web.Response:
    """What the signer accepts, for a page opened from Telegram (read only)."""
    context = request.app[CONTEXT]
    header = request.headers.get("Authorization", "")
    init_data = header[4:] if header[:4].lower() == "tma " else ""
    language = language_before_checking(context, init_data)
    try:
        signer = authenticate(context, init_data, utcnow())
        address = _address(request.query.get("i"), request.query.get("who"))
        async with context.db.sessions() as session:
            desk = await _desk(context, session, signer)
            visit = await _report(desk, address[0])
            language = drawn.page_language(visit, address[1])
            if not await drawn.asked(visit, address[1]):
                raise Refusal(MOVED_ON, f"{visit.job.number} does not ask for that signature")
            shown = await drawn.summary(visit, address[1])
    except Refusal as refusal:
        return refused(refusal, language)
    return web.json_response(shown, headers={"Cache-Control": "no-store"})


async def sign(request: web.Request) -> web.Response:
    """Takes a signature drawn on the pad (see the module's docstring)."""
    context = request.app[CONTEXT]
    language = context.options.default_language
    try:
        payload = await _payload(request)
        language = language_before_checking(context, payload.get("initData"))
        signer = authenticate(context, payload.get("initData"), utcnow())
        intervention_id, who = _address(payload.get("intervention"), payload.get("who"))
        drawing = await read_drawing(payload, signer, intervention_id, who)
        async with context.ingest.in_turn(signer.user.id):
            language, already = await _keep(context, signer, intervention_id, who, drawing)
    except Refusal as refusal:
        return refused(refusal, language)
    return web.json_response(
        {"signed": True, "already": already, "language": language},
        headers={"Cache-Control": "no-store"},
    )


async def _keep(
    context: WebContext, signer: Signer, intervention_id: int, who: str, drawing: Drawing
) -> tuple[str, bool]:
    """One unit of work: the drawing kept as the signature and the wizard moved on, its
    messages written to the outbox and handed to the sender after the commit. The
    page's language, and whether this drawing was already the signature."""
    chat_id = signer.user.id
    async with context.db.transaction() as session:
        unit = current_unit.set(Unit(session, context.files, chat_id))
        try:
            desk = await _desk(context, session, signer)
            visit = await _report(desk, intervention_id)
            language = drawn.page_language(visit, who)
            if await drawn.already_taken(visit, who, drawing):
                return language, True
            if not await drawn.asked(visit, who):
                raise Refusal(MOVED_ON, f"{visit.job.number} does not ask for that signature")
            await drawn.take(visit, who, drawing)
        finally:
            current_unit.reset(unit)
        await session.flush()  # every delivery noted, with its id
        made = outbox.made_in(session)
    log.info("signature pad: %s signature of intervention %s kept", who, intervention_id)
    context.after_commit(made)
    return language, False


async def _desk(context: WebContext, session: AsyncSession, signer: Signer) -> Desk:
    person = await users.by_telegram_id(session, signer.user.id)
    if person is None or not drawn.may_fill_reports(person):
        raise Refusal(NOT_YOURS, f"Telegram account {signer.user.id} fills in no reports")
    language = pick_language(
        person.language, signer.user.language_code, context.options.default_language
    )
    return Desk(
        session=session,
        bot=context.bot,
        user=person,
        t=Translator(language),
        options=context.options,
        files=context.files,
        templates=dict(context.templates),
    )


async def _report(desk: Desk, intervention_id: int) -> Visit:
    try:
        return await drawn.open_report(desk, intervention_id)
    except PadRefused as refusal:
        raise Refusal(REFUSED_BY_REPORT[refusal.reason], refusal.reason) from None


def _address(intervention: object, who: object) -> tuple[int, str]:
    found = read_pad_address(intervention, who)
    if found is None:
        raise Refusal(NOT_YOURS, f"no such pad: {intervention!r} {who!r}")
    return found


# What was drawn -----------------------------------------------------------------


async def _payload(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refusal(TOO_LARGE, f"{request.content_length} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_BODY:
            raise Refusal(TOO_LARGE, "more than MAX_BODY")
    try:
        payload = json.loads(body)
    except ValueError:
        raise Refusal(MALFORMED, "not JSON") from None
    if not isinstance(payload, dict):
        raise Refusal(MALFORMED, "not a JSON object")
    return payload


def read_strokes(value: object) -> list[list[dict[str, float]]]:
    """The strokes as the page sends them, checked: lists of points {x, y, t} with
    finite numbers in range. Refusal(EMPTY) for fewer than two points, TOO_LARGE for
    more than MAX_STROKES strokes or MAX_POINTS points, MALFORMED otherwise."""
    if not isinstance(value, list):
        raise Refusal(MALFORMED, "strokes is not a list")
    if len(value) > MAX_STROKES:
        raise Refusal(TOO_LARGE, f"{len(value)} strokes")
    strokes: list[list[dict[str, float]]] = []
    count = 0
    for stroke in value:
        if not isinstance(stroke, list):
            raise Refusal(MALFORMED, "a stroke is not a list")
        count += len(stroke)
        if count > MAX_POINTS:
            raise Refusal(TOO_LARGE, "too many points")
        strokes.append([_point(point) for point in stroke])
    if count < 2:
        raise Refusal(EMPTY, f"{count} point(s)")
    return strokes


def _point(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise Refusal(MALFORMED, "a point is not an object")
    point = {}
    for name, limit in (("x", MAX_COORDINATE), ("y", MAX_COORDINATE), ("t", MAX_TIME)):
        number = value.get(name)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise Refusal(MALFORMED, f"a point's {name} is not a number")
        if not math.isfinite(number) or abs(number) > limit:
            raise Refusal(MALFORMED, f"a point's {name} is out of range")
        point[name] = number
    return point


def read_png(value: object) -> bytes:
    """The PNG the page sent (base64, with or without its data: prefix)."""
    if not isinstance(value, str):
        raise Refusal(MALFORMED, "png is not a text")
    text = value.split(",", 1)[1] if value.startswith("data:") else value
    if len(text) > (MAX_PNG_BYTES * 4) // 3 + 4:
        raise Refusal(TOO_LARGE, f"{len(text)} characters of PNG")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(MALFORMED, "png is not base64") from None
    if len(data) > MAX_PNG_BYTES:
        raise Refusal(TOO_LARGE, f"{len(data)} bytes of PNG")
    return data


async def read_drawing(
    payload: dict[str, Any], signer: Signer, intervention_id: int, who: str
) -> Drawing:
    """The drawing checked and prepared, and its evidence: the strokes with their
    times, who drew them and when the page was opened (the same post gives the same
    evidence, byte for byte)."""
    strokes = read_strokes(payload.get("strokes"))
    data = read_png(payload.get("png"))
    try:
        png = await offload.run(prepare_drawn_signature, data, MAX_PNG_SIZE)
    except ImageRejected as rejected:
        answer = {NOT_A_SIGNATURE: EMPTY, TOO_MANY_PIXELS: TOO_LARGE}.get(
            rejected.reason, MALFORMED
        )
        raise Refusal(answer, str(rejected)) from None
    evidence = {
        "signature": who,
        "intervention_id": intervention_id,
        "drawn_by_telegram_id": signer.user.id,
        "page_opened_at": signer.opened_at.isoformat(),
        "png_sha256": hashlib.sha256(data).hexdigest(),
        "strokes": strokes,
    }
    written = json.dumps(evidence, sort_keys=True, separators=(",", ":")).encode()
    return Drawing(png=png, evidence=written, sha256=hashlib.sha256(written).hexdigest())
