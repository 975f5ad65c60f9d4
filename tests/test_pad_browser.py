"""The signature pad in a real browser: Chromium (Debian's `chromium` package) driven
by Playwright, with a stand-in for Telegram's `window.Telegram.WebApp` carrying an
initData signed with the bot token (Telegram's own script is absent, as the page
allows). A finger (touch events) and a mouse draw, Confirm posts, and the test
checks what was stored, what the chat was told and what the PDF prints; pages
opened with a forged, expired or foreign initData are refused in words, with
nothing stored.

These tests skip when `chromium` is not installed, except in CI (CI=true), where
.ci/run installs it and they must run. Screenshots of the pad (light and dark,
French and English) go to the folder named by PAD_SCREENSHOTS, when it is set.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from sqlalchemy import select

from bot.web import build_app
from storage.db import Database
from storage.files import FileStore
from storage.models import (
    Attachment,
    AttachmentKind,
    Client,
    Intervention,
    Signature,
    SignatureMethod,
)
from tests.conftest import TECHNICIAN, Harness, Job, load_job, plan_job, with_short
from tests.conftest import test_options as options_with
from tests.helpers import pdf_text
from tests.mocked import Person, button
from tests.pad import (
    at_client_signature,
    init_data,
    nothing_stored,
    send_committed,
    signature_prompt,
    web_app_buttons,
    web_context,
)
from tests.test_wizard import last_message, signature_photo

pytestmark = pytest.mark.browser

LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
    "section_bg_color": "#ffffff",
    "destructive_text_color": "#ff3b30",
}
DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
    "section_bg_color": "#17212b",
    "destructive_text_color": "#ec3942",
}

#: Telegram.WebApp as the page sees it inside Telegram, and what the page did with it.
STAND_IN = """
(() => {
  const given = %s;
  window.__pad = { closed: false, ready: false, pointers: [] };
  document.addEventListener("pointerdown", (e) => window.__pad.pointers.push(e.pointerType), true);
  window.Telegram = { WebApp: {
    initData: given.initData,
    initDataUnsafe: given.initDataUnsafe,
    themeParams: given.themeParams,
    colorScheme: given.colorScheme,
    platform: "android",
    version: "8.0",
    ready() { window.__pad.ready = true; },
    expand() {},
    disableVerticalSwipes() {},
    onEvent() {},
    close() { window.__pad.closed = true; },
    HapticFeedback: { notificationOccurred() {} },
  } };
})();
"""


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def open_pad(
    browser: Browser,
    url: str,
    init: str,
    person: Person = TECHNICIAN,
    theme: dict[str, str] = LIGHT,
    scheme: str = "light",
) -> tuple[BrowserContext, Page]:
    """The pad at `url` on a phone-sized touch screen, opened from Telegram as
    `person` (the stand-in's initData `init`), in Telegram's `theme`."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 760},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    # No Telegram here: its script is refused, the stand-in plays its part.
    await context.route("https://telegram.org/**", lambda route: route.abort())
    given = {
        "initData": init,
        "initDataUnsafe": {"user": person.to_dict()},
        "themeParams": theme,
        "colorScheme": scheme,
    }
    await context.add_init_script(STAND_IN % json.dumps(given))
    page = await context.new_page()
    await page.goto(url)
    return context, page


@contextlib.asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    """Debian's Chromium, driven by Playwright (skips without it, except in CI)."""
    executable = chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Site:
    """The pad's web face on a real port, around a dispatcher harness, and Chromium."""

    harness: Harness
    browser: Browser

    async def open(
        self,
        url: str,
        init: str,
        person: Person = TECHNICIAN,
        theme: dict[str, str] = LIGHT,
        scheme: str = "light",
    ) -> tuple[BrowserContext, Page]:
        return await open_pad(self.browser, url, init, person, theme, scheme)


@pytest.fixture
async def site(database: Database, tmp_path: Path) -> AsyncIterator[Site]:
    chromium()
    port = free_port()
    options = options_with(public_url=f"http://127.0.0.1:{port}")
    harness = with_short(Harness(database, FileStore(tmp_path / "data"), options))
    runner = web.AppRunner(build_app(web_context(harness)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with launched() as browser:
            yield Site(harness, browser)
    finally:
        await runner.cleanup()
        await harness.bot.session.close()


async def pad_url(harness: Harness) -> str:
    """The address of the prompt's "Sign on the screen" button."""
    [(_label, url)] = web_app_buttons(await signature_prompt(harness))
    return url


async def ready(page: Page) -> dict[str, float]:
    """Waits for the pad; the canvas's box in the page."""
    await page.wait_for_selector("#canvas", state="visible")
    box = await page.locator("#canvas").bounding_box()
    assert box is not None
    return box


async def draw_with_finger(
    page: Page, context: BrowserContext, points: list[tuple[float, float]]
) -> None:
    """One stroke as a finger makes it: touch events (Chromium turns them into
    pointer events of type "touch"), the points in the page's pixels."""
    cdp = await context.new_cdp_session(page)
    first, *rest = points
    await cdp.send("Input.dispatchTouchEvent", touch("touchStart", first))
    for point in rest:
        await cdp.send("Input.dispatchTouchEvent", touch("touchMove", point))
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


def touch(kind: str, point: tuple[float, float]) -> dict[str, Any]:
    return {"type": kind, "touchPoints": [{"x": point[0], "y": point[1], "id": 1}]}


async def draw_with_mouse(page: Page, points: list[tuple[float, float]]) -> None:
    first, *rest = points
    await page.mouse.move(*first)
    await page.mouse.down()
    for point in rest:
        await page.mouse.move(*point, steps=4)
    await page.mouse.up()


def line(
    start: tuple[float, float], end: tuple[float, float], steps: int = 24
) -> list[tuple[float, float]]:
    return [
        (start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        for i in range(steps + 1)
    ]


async def ink_on_pad(page: Page, x: float, y: float) -> bool:
    """Whether the pad shows ink around (x, y), in its own CSS pixels."""
    alpha = await page.evaluate(
        """([x, y]) => {
          const canvas = document.getElementById("canvas");
          const ratio = canvas.width / canvas.clientWidth;
          const data = canvas.getContext("2d").getImageData(
            Math.round(x * ratio) - 3, Math.round(y * ratio) - 3, 7, 7).data;
          let most = 0;
          for (let i = 3; i < data.length; i += 4) most = Math.max(most, data[i]);
          return most;
        }""",
        [x, y],
    )
    return int(alpha) > 64


async def confirm_disabled(page: Page) -> bool:
    return bool(await page.locator("#confirm").is_disabled())


async def status_text(page: Page) -> str:
    return str(await page.locator("#status").inner_text())


async def signatures_of(harness: Harness, job: Job) -> list[Signature]:
    async with harness.db.sessions() as session:
        query = select(Signature).where(Signature.intervention_id == job.id)
        return list((await session.scalars(query.order_by(Signature.id))).all())


async def stored(harness: Harness, signature: Signature) -> tuple[Image.Image, dict[str, Any]]:
    """The image a signature prints, and its evidence (the strokes, as JSON)."""
    async with harness.db.sessions() as session:
        image = await session.get(Attachment, signature.attachment_id)
        evidence = await session.get(Attachment, signature.evidence_id)
    assert image is not None and evidence is not None
    picture = Image.open(io.BytesIO(harness.files.read(image.path)))
    return picture, json.loads(harness.files.read(evidence.path))


def ink_at(picture: Image.Image, x: float, y: float, reach: int = 3) -> bool:
    """Whether the stored picture has ink within `reach` pixels of (x, y)."""
    alpha = picture.getchannel("A")
    around = alpha.crop((int(x) - reach, int(y) - reach, int(x) + reach + 1, int(y) + reach + 1))
    return around.getextrema()[1] > 64


def on_picture(
    picture: Image.Image, strokes: list[list[dict[str, float]]]
) -> Callable[[float, float], tuple[float, float]]:
    """Where a point of the strokes lies on the stored picture, which is the drawing
    cropped to its ink and scaled: the strokes' extent matches the ink's."""
    xs = [p["x"] for s in strokes for p in s]
    ys = [p["y"] for s in strokes for p in s]
    box = picture.getchannel("A").point(lambda v: 255 if v > 64 else 0).getbbox()
    assert box is not None
    left, top, right, bottom = box
    sx = (right - left) / (max(xs) - min(xs))
    sy = (bottom - top) / (max(ys) - min(ys))

    def place(x: float, y: float) -> tuple[float, float]:
        return left + (x - min(xs)) * sx, top + (y - min(ys)) * sy

    return place


async def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("PAD_SCREENSHOTS")
    if folder:
        # Playwright makes the folder.
        await page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


# Signing ------------------------------------------------------------------------------


async def test_a_signature_drawn_with_a_finger_and_a_mouse_is_stored_and_the_chat_goes_on(
    site: Site,
) -> None:
    harness = site.harness
    job = await at_client_signature(harness, reservations="Peinture à reprendre")
    url = await pad_url(harness)
    context, page = await site.open(url, init_data(harness.bot.token, TECHNICIAN))
    box = await ready(page)
    assert await page.locator("#number").inner_text() == job.number
    assert await page.locator("#client").inner_text() == "Boulangerie Martin"
    assert await page.locator("#signer").inner_text() == "Mme Martin"
    assert "Peinture à reprendre" in await page.locator("#reservations").inner_text()
    assert (await page.locator("#total").inner_text()).endswith("€")
    assert await page.evaluate("window.__pad.ready")
    assert box["width"] > 350, "the pad fills the phone's width"
    assert await confirm_disabled(page), "Confirm waits for ink"

    left, top, width, height = box["x"], box["y"], box["width"], box["height"]
    finger = line(
        (left + 0.10 * width, top + 0.75 * height), (left + 0.30 * width, top + 0.20 * height)
    )
    mouse = line(
        (left + 0.60 * width, top + 0.50 * height), (left + 0.90 * width, top + 0.55 * height)
    )
    await draw_with_finger(page, context, finger)
    await draw_with_mouse(page, mouse)
    assert await page.evaluate("window.__pad.pointers") == ["touch", "mouse"]
    assert not await confirm_disabled(page)
    # The page does not scroll while a finger draws.
    assert await page.evaluate("window.scrollY") == 0
    await page.click("#confirm")
    await page.wait_for_function("() => window.__pad.closed", timeout=10_000)
    assert "Signature enregistrée" in await status_text(page)
    await screenshot(page, "pad-fr-signed")
    await context.close()

    [signature] = await signatures_of(harness, job)
    assert signature.method == SignatureMethod.SCREEN
    picture, evidence = await stored(harness, signature)
    strokes = evidence["strokes"]
    assert len(strokes) == 2 and all(len(s) > 5 for s in strokes)
    assert all(p["t"] > 1_700_000_000_000 for s in strokes for p in s), "times in ms"
    # The strokes are where the finger and the mouse went, in the pad's pixels.
    assert (
        abs(strokes[0][0]["x"] - 0.10 * width) < 2 and abs(strokes[0][0]["y"] - 0.75 * height) < 2
    )
    assert abs(strokes[1][-1]["x"] - 0.90 * width) < 2
    # The PNG has ink along both strokes, and none in the gap between them.
    place = on_picture(picture, strokes)
    for stroke in strokes:
        for point in stroke[1:-1]:
            assert ink_at(picture, *place(point["x"], point["y"])), point
    assert not ink_at(picture, *place(0.45 * width, 0.25 * height), reach=1)

    # The chat went on by itself.
    calls = await send_committed(harness)
    said = [c.text for c in calls if c.method == "sendMessage"]
    assert said[0] == "✍️ Signature de Mme Martin reçue, signée sur l'écran."
    own = last_message(calls)
    [(_label, own_url)] = web_app_buttons(own)
    assert "who=technician" in own_url

    # The technician signs on the pad too, with the mouse; then the report is sent.
    context, page = await site.open(own_url, init_data(harness.bot.token, TECHNICIAN))
    box = await ready(page)
    assert await page.locator("#signer").inner_text() == "Paul"
    await draw_with_mouse(
        page, line((box["x"] + 40, box["y"] + 100), (box["x"] + 300, box["y"] + 60))
    )
    await page.click("#confirm")
    await page.wait_for_function("() => window.__pad.closed", timeout=10_000)
    await context.close()
    calls = await send_committed(harness)
    prompt = last_message(calls)
    assert "Envoi" in prompt.text
    await harness.press(TECHNICIAN, prompt, button(prompt, "Envoyer le rapport"))
    saved = await load_job(harness.db, job)
    [report] = [a for a in saved.attachments if a.kind == AttachmentKind.REPORT]
    text = pdf_text(harness.files.read(report.path))
    assert text.count("Signée sur l'écran le") == 2
    assert "(pas de signature)" not in text


# Refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "who_opens", "forge", "expected"),
    [
        ("forged", "technician", lambda t, p: init_data("1:another-bot", p), "a expiré"),
        ("expired", "technician", lambda t, p: init_data(t, p, age=7200), "a expiré"),
        ("foreign", "other", lambda t, p: init_data(t, p), "pas à vous"),
    ],
    ids=["forged", "expired", "foreign"],
)
async def test_a_page_opened_with_a_forged_expired_or_foreign_init_data_is_refused(
    site: Site, case: str, who_opens: str, forge: Any, expected: str
) -> None:
    harness = site.harness
    job = await at_client_signature(harness)
    person = TECHNICIAN
    if who_opens == "other":
        person = Person(21, "Léa", "lea_tech", "fr")
        await plan_job(harness.db, template="short", technician=person, client_name="Autre SA")
    url = await pad_url(harness)
    async with nothing_stored(harness, job):
        context, page = await site.open(url, forge(harness.bot.token, person), person)
        await page.wait_for_selector("#status.problem")
        assert expected in await status_text(page)
        assert await page.locator("#pad").is_hidden()
        assert await page.locator("#summary").is_hidden(), "nothing of the report is shown"
        await screenshot(page, f"pad-refused-{case}")
        await context.close()


async def test_a_confirm_after_the_chat_moved_on_is_refused_in_words(site: Site) -> None:
    harness = site.harness
    job = await at_client_signature(harness)
    url = await pad_url(harness)
    context, page = await site.open(url, init_data(harness.bot.token, TECHNICIAN))
    box = await ready(page)
    await draw_with_mouse(
        page, line((box["x"] + 30, box["y"] + 90), (box["x"] + 320, box["y"] + 40))
    )
    # Meanwhile, the technician sent a photo of a paper signature in the chat.
    await harness.feed(harness.updates.photo(TECHNICIAN, harness.session, signature_photo()))
    async with nothing_stored(harness, job):
        await page.click("#confirm")
        await page.wait_for_selector("#status.problem")
    assert "n'est plus demandée" in await status_text(page)
    assert not await page.evaluate("window.__pad.closed")
    assert await confirm_disabled(page)
    await context.close()
    [only] = await signatures_of(harness, job)
    assert only.method == SignatureMethod.PHOTO


async def test_clear_and_undo_take_the_ink_away(site: Site) -> None:
    harness = site.harness
    await at_client_signature(harness)
    context, page = await site.open(
        await pad_url(harness), init_data(harness.bot.token, TECHNICIAN)
    )
    box = await ready(page)
    first = line((box["x"] + 30, box["y"] + 90), (box["x"] + 200, box["y"] + 40))
    second = line((box["x"] + 220, box["y"] + 90), (box["x"] + 330, box["y"] + 40))
    await draw_with_mouse(page, first)
    await draw_with_mouse(page, second)
    assert not await confirm_disabled(page)
    middle_of_first = (115, 65)  # the middles of the strokes, in the pad's pixels
    middle_of_second = (275, 65)
    assert await ink_on_pad(page, *middle_of_first) and await ink_on_pad(page, *middle_of_second)
    await page.click("#undo")
    assert await ink_on_pad(page, *middle_of_first)
    assert not await ink_on_pad(page, *middle_of_second)
    assert not await confirm_disabled(page), "one stroke is still there"
    await page.click("#clear")
    assert not await ink_on_pad(page, *middle_of_first)
    assert await confirm_disabled(page)
    assert await page.locator("#undo").is_disabled()
    await context.close()


# What the pad looks like --------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_pad_follows_telegrams_theme_and_speaks_the_signers_language(
    site: Site, language: str, scheme: str
) -> None:
    harness = site.harness
    job = await at_client_signature(harness, reservations="Peinture à reprendre")
    async with harness.db.transaction() as session:
        client = await session.get(Client, job.client_id)
        row = await session.get(Intervention, job.id)
        assert client is not None and row is not None
        client.language = language
        row.worked_hours = Decimal("2.5")  # a total worth reading on the screenshots
    theme = DARK if scheme == "dark" else LIGHT
    context, page = await site.open(
        await pad_url(harness), init_data(harness.bot.token, TECHNICIAN), theme=theme, scheme=scheme
    )
    box = await ready(page)
    await draw_with_mouse(
        page,
        [
            (box["x"] + 40 + 280 * i / 40, box["y"] + 110 - 60 * abs(((i % 10) - 5) / 5))
            for i in range(41)
        ],
    )
    confirm = "Valider la signature" if language == "fr" else "Confirm the signature"
    assert await page.locator("#confirm").inner_text() == confirm
    assert await page.evaluate("document.documentElement.lang") == language
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(23, 33, 43)" if scheme == "dark" else "rgb(255, 255, 255)")
    button_colour = await page.evaluate(
        "getComputedStyle(document.getElementById('confirm')).backgroundColor"
    )
    assert button_colour == ("rgb(82, 136, 193)" if scheme == "dark" else "rgb(36, 129, 204)")
    await screenshot(page, f"pad-{language}-{scheme}")
    await context.close()
