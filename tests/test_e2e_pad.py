"""End to end: a report signed on the screen through `python -m bot` with PUBLIC_URL.

The bot runs as a real process against the fake Bot API (polling), its web face on
a free port of 127.0.0.1 named by PUBLIC_URL. The technician walks a short report to
its acceptance in the chat; the "✍️ Signer sur l'écran" buttons open the pad, served
by the bot's own web server, in Chromium with a stand-in for Telegram.WebApp; the
chat goes on by itself after each signature, and the submitted PDF says both were
signed on the screen.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.fakeapi import FakeBotAPI, Recorded, inline_buttons
from tests.helpers import pdf_text
from tests.pad import init_data
from tests.test_e2e import Deployment, shows_bot_log
from tests.test_e2e_report import (
    OFFICE_CHAT,
    PAUL,
    SUBMIT_TIMEOUT,
    Chat,
    pdf_images,
    pdf_sent_to,
    plan_intervention,
    register_technician,
    stop_when_everything_is_sent,
)
from tests.test_e2e_web import serve_web
from tests.test_pad_browser import draw_with_finger, draw_with_mouse, launched, line, open_pad

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

#: A report of three sections, so that the walk reaches the acceptance quickly.
QUICK = """
kind = "repair"
title = { fr = "Dépannage rapide", en = "Quick repair" }
labour_rate = "60"
[sections]
context = "required"
times = "required"
pricing = "required"
"""


@pytest.fixture
def deployment_env(tmp_path: Path) -> dict[str, str]:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "quick.toml").write_text(QUICK, encoding="utf-8")
    return {"OFFICE_CHAT_ID": str(OFFICE_CHAT), "TEMPLATES_DIR": str(templates)}


def pad_address(message: Recorded) -> str:
    """The address of a message's "Sign on the screen" button."""
    assert isinstance(message.result, dict)
    [url] = [b["web_app"]["url"] for b in inline_buttons(message.result) if "web_app" in b]
    return str(url)


async def sign_on_the_pad(browser: Any, url: str, token: str, *, finger: bool) -> None:
    context, page = await open_pad(browser, url, init_data(token, PAUL))
    await page.wait_for_selector("#canvas", state="visible")
    box = await page.locator("#canvas").bounding_box()
    assert box is not None
    stroke = line((box["x"] + 30, box["y"] + 120), (box["x"] + 330, box["y"] + 50))
    if finger:
        await draw_with_finger(page, context, stroke)
    else:
        await draw_with_mouse(page, stroke)
    await page.click("#confirm")
    await page.wait_for_function("() => window.__pad.closed", timeout=20_000)
    await context.close()


@shows_bot_log
async def test_a_report_signed_on_the_screen_end_to_end(
    api: FakeBotAPI, deployment: Deployment, tmp_path: Path
) -> None:
    public_url = serve_web(deployment, "polling")
    await register_technician(deployment, PAUL, "Paul Lefèvre")
    number = await plan_intervention(
        deployment, PAUL, client_name="Boulangerie Martin", contact="Mme Martin", template="quick"
    )
    await deployment.bot.start(api)
    chat = Chat(deployment, PAUL)

    chat.say("/today")
    listing = await chat.expect("Vos interventions du jour")
    chat.press(listing, number)
    card = await chat.expect("Première intervention chez ce client")
    chat.press(card, "Commencer")
    await chat.expect("Étape 1/6 · Contexte")
    chat.say("Fuite sous l'évier.")
    end = await chat.expect("Étape 2/6 · Heures")
    chat.press(end, "Maintenant")
    hours = await chat.expect("Temps travaillé")
    chat.press(hours, "C'est juste")
    travel = await chat.expect("Déplacement : forfait")
    chat.press(travel, "Forfait")
    pricing = await chat.expect("Étape 3/6 · Tarification")
    chat.press(pricing, "Valider la tarification")
    review = await chat.expect("Étape 4/6 · Relecture")
    chat.press(review, "Continuer")
    await chat.expect("Étape 5/6 · Réception des travaux")
    chat.say("Claire Martin")
    reserve = await chat.expect("Réception par Claire Martin")
    chat.press(reserve, "Sans réserve")
    asked = await chat.expect("Faites signer Claire Martin")
    client_pad = pad_address(asked)
    assert client_pad.startswith(f"{public_url}/pad?")

    async with launched() as browser:
        await sign_on_the_pad(browser, client_pad, api.token, finger=True)
        await chat.expect("Signature de Claire Martin reçue, signée sur l'écran.")
        own = await chat.expect("Signez sur l'écran (bouton ci-dessous)")
        await sign_on_the_pad(browser, pad_address(own), api.token, finger=False)
    await chat.expect("Votre signature, signée sur l'écran")
    submit = await chat.expect("Étape 6/6 · Envoi")
    chat.press(submit, "Envoyer le rapport")
    await chat.expect("envoyé au bureau pour validation", timeout=SUBMIT_TIMEOUT)
    await deployment.until(
        lambda: pdf_sent_to(api, OFFICE_CHAT),
        timeout=SUBMIT_TIMEOUT,
        what="the PDF sent to the office",
    )
    await stop_when_everything_is_sent(deployment)

    (office_pdf,) = pdf_sent_to(api, OFFICE_CHAT)
    text = pdf_text(office_pdf)
    assert text.count("Signée sur l'écran le") == 2, text
    assert "Claire Martin" in text and "(pas de signature)" not in text
    assert pdf_images(office_pdf) == 2  # the two drawn signatures
    kept = deployment.query(
        "SELECT s.signer, s.method, a.mime_type, a.path FROM signatures s"
        " JOIN attachments a ON a.id = s.evidence_id ORDER BY s.id"
    )
    assert {(signer, method, mime) for signer, method, mime, _ in kept} == {
        ("client", "screen", "application/json"),
        ("technician", "screen", "application/json"),
    }
    for _signer, _method, _mime, path in kept:
        assert (tmp_path / "data" / path).is_file()
    image_path = deployment.query(
        "SELECT a.path FROM signatures s JOIN attachments a ON a.id = s.attachment_id"
        " WHERE s.signer = 'client'"
    )[0][0]
    picture = Image.open(io.BytesIO((tmp_path / "data" / image_path).read_bytes()))
    assert picture.getchannel("A").getextrema() == (0, 255)
    audit = deployment.query("SELECT note FROM status_changes WHERE note LIKE '%sur l''écran%'")
    assert len(audit) == 2
