"""The signature pad without a browser: the "Sign on the screen" buttons of the
acceptance, and the pad's API (aiohttp's test server around the dispatcher
harness) taking a drawing, or refusing it with nothing stored. The page itself, in
Chromium, is in tests/test_pad_browser.py."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from bot.web.pad import MAX_POINTS, render_page
from storage import signatures, users
from storage.db import Database
from storage.files import FileStore
from storage.models import (
    Attachment,
    AttachmentKind,
    Client,
    Role,
    Signature,
    SignatureMethod,
    StatusChange,
)
from tests.conftest import (
    TECHNICIAN,
    Harness,
    Job,
    load_job,
    plan_job,
    register,
    with_short,
)
from tests.conftest import (
    test_options as options_with,
)
from tests.helpers import pdf_text
from tests.mocked import Person, button
from tests.pad import (
    PUBLIC_URL,
    STROKES,
    at_client_signature,
    drawn_png,
    init_data,
    nothing_stored,
    send_committed,
    sign_payload,
    signature_prompt,
    stroke,
    web_app_buttons,
    web_client,
)
from tests.test_wizard import last_message, last_text, signature_photo

STRANGER = Person(77, "Eve", "eve", "fr")


@pytest.fixture
async def pad(database: Database, tmp_path: Path) -> AsyncIterator[Harness]:
    """The harness of a deployment with a web face (PUBLIC_URL), the SHORT template."""
    harness = Harness(database, FileStore(tmp_path / "data"), options_with(public_url=PUBLIC_URL))
    try:
        yield with_short(harness)
    finally:
        await harness.bot.session.close()


def token(harness: Harness) -> str:
    return harness.bot.token


async def post_sign(harness: Harness, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with web_client(harness) as client:
        response = await client.post("/pad/sign", json=payload)
        return response.status, await response.json()


async def signatures_of(harness: Harness, job: Job) -> list[Signature]:
    async with harness.db.sessions() as session:
        query = select(Signature).where(Signature.intervention_id == job.id)
        return list((await session.scalars(query.order_by(Signature.id))).all())


async def stage_of(harness: Harness, job: Job) -> tuple[str | None, Any]:
    saved = await load_job(harness.db, job)
    return saved.wizard_step, (saved.wizard_data or {}).get("stage")


# The buttons ------------------------------------------------------------------------


async def test_the_signature_questions_offer_the_pad_beside_the_photo(pad: Harness) -> None:
    job = await at_client_signature(pad)
    prompt = await signature_prompt(pad)
    assert "sur l'écran (bouton ci-dessous)" in prompt.text
    assert "envoyez la photo" in prompt.text
    [(label, url)] = web_app_buttons(prompt)
    assert label == "✍️ Signer sur l'écran"
    address = urlsplit(url)
    assert f"{address.scheme}://{address.netloc}" == PUBLIC_URL and address.path == "/pad"
    assert parse_qs(address.query) == {"i": [str(job.id)], "who": ["client"]}
    # The photo still works: the technician's own signature is asked with the pad too.
    await pad.feed(pad.updates.photo(TECHNICIAN, pad.session, signature_photo()))
    prompt = await signature_prompt(pad)
    await pad.press(TECHNICIAN, prompt, button(prompt, "Oui, continuer"))
    own = await signature_prompt(pad)
    [(label, url)] = web_app_buttons(own)
    assert parse_qs(urlsplit(url).query)["who"] == ["technician"]


async def test_without_public_url_the_questions_ask_for_a_photo_only(harness: Harness) -> None:
    await at_client_signature(with_short(harness))
    prompt = await signature_prompt(harness)
    assert web_app_buttons(prompt) == []
    assert "Faites signer Mme Martin sur une feuille blanche" in prompt.text


# Taking a drawing -------------------------------------------------------------------


async def test_a_client_signature_drawn_on_the_pad_is_kept_and_the_chat_goes_on(
    pad: Harness,
) -> None:
    job = await at_client_signature(pad, reservations="Peinture à reprendre")
    status, answer = await post_sign(pad, sign_payload(init_data(token(pad), TECHNICIAN), job))
    assert (status, answer) == (200, {"signed": True, "already": False, "language": "fr"})

    [signature] = await signatures_of(pad, job)
    assert signature.method == SignatureMethod.SCREEN and signature.signer == "client"
    assert signature.signer_name == "Mme Martin"
    async with pad.db.sessions() as session:
        image = await session.get(Attachment, signature.attachment_id)
        evidence = await session.get(Attachment, signature.evidence_id)
        audit = (await session.scalars(select(StatusChange))).all()
    assert image is not None and evidence is not None
    png = Image.open(io.BytesIO(pad.files.read(image.path)))
    assert png.mode == "RGBA" and png.getchannel("A").getextrema() == (0, 255)
    assert evidence.mime_type == "application/json"
    kept = json.loads(pad.files.read(evidence.path))
    assert kept["strokes"] == STROKES and kept["drawn_by_telegram_id"] == TECHNICIAN.id
    assert "dessinée sur l'écran" in (audit[-1].note or "")
    assert audit[-1].from_status == audit[-1].to_status == "in_progress"

    # The chat goes on by itself: the signature acknowledged, the technician's own asked.
    assert await stage_of(pad, job) == ("acceptance", "own_signature")
    calls = await send_committed(pad)
    said = [c.text for c in calls if c.method == "sendMessage"]
    assert said[0] == "✍️ Signature de Mme Martin reçue, signée sur l'écran."
    assert "Signez sur l'écran (bouton ci-dessous)" in said[1]
    assert {c.chat_id for c in calls} == {TECHNICIAN.id}


async def test_the_technicians_own_signature_on_the_pad_leads_to_the_submission_and_the_pdf(
    pad: Harness,
) -> None:
    job = await at_client_signature(pad)
    init = init_data(token(pad), TECHNICIAN)
    assert (await post_sign(pad, sign_payload(init, job)))[0] == 200
    await send_committed(pad)
    mine = sign_payload(init, job, "technician", strokes=[stroke(20, 20, 300, 150)])
    mine["png"] = base64.b64encode(drawn_png(mine["strokes"])).decode()
    assert (await post_sign(pad, mine))[0] == 200
    assert await stage_of(pad, job) == ("submit", None)
    calls = await send_committed(pad)
    assert "Votre signature, signée sur l'écran" in calls[0].text
    assert "Envoi" in last_text(calls)

    # Kept for the next reports too, and the report keeps the one it used.
    async with pad.db.sessions() as session:
        own = (
            await session.scalars(select(Signature).where(Signature.signer == "technician"))
        ).all()
    assert {s.intervention_id for s in own} == {None, job.id}
    assert {s.method for s in own} == {SignatureMethod.SCREEN}

    prompt = last_message(calls)
    await pad.press(TECHNICIAN, prompt, button(prompt, "Envoyer le rapport"))
    saved = await load_job(pad.db, job)
    [report] = [a for a in saved.attachments if a.kind == AttachmentKind.REPORT]
    text = pdf_text(pad.files.read(report.path))
    assert text.count("Signée sur l'écran le") == 2


async def test_a_photo_signature_says_so_in_the_pdf(pad: Harness) -> None:
    job = await at_client_signature(pad)
    await pad.feed(pad.updates.photo(TECHNICIAN, pad.session, signature_photo()))
    for choice in ("Oui, continuer",):
        prompt = await signature_prompt(pad)
        await pad.press(TECHNICIAN, prompt, button(prompt, choice))
    await pad.feed(pad.updates.photo(TECHNICIAN, pad.session, signature_photo()))
    prompt = await signature_prompt(pad)
    await pad.press(TECHNICIAN, prompt, button(prompt, "Envoyer le rapport"))
    saved = await load_job(pad.db, job)
    [report] = [a for a in saved.attachments if a.kind == AttachmentKind.REPORT]
    text = pdf_text(pad.files.read(report.path))
    assert text.count("Photo d'une signature sur papier, le") == 2
    assert "Signée sur l'écran" not in text
    [client] = [s for s in await signatures_of(pad, job) if s.signer == "client"]
    assert client.method == SignatureMethod.PHOTO and client.evidence_id is not None


async def test_a_second_confirm_of_the_same_drawing_counts_once(pad: Harness) -> None:
    job = await at_client_signature(pad)
    payload = sign_payload(init_data(token(pad), TECHNICIAN), job)
    assert (await post_sign(pad, payload))[0] == 200
    await send_committed(pad)
    async with nothing_stored(pad, job):
        status, answer = await post_sign(pad, payload)
    assert (status, answer["already"]) == (200, True)
    assert len(await signatures_of(pad, job)) == 1


async def test_two_confirms_at_once_keep_one_signature(pad: Harness) -> None:
    job = await at_client_signature(pad)
    payload = sign_payload(init_data(token(pad), TECHNICIAN), job)
    async with web_client(pad) as client:
        answers = await asyncio.gather(*(client.post("/pad/sign", json=payload) for _ in range(2)))
        bodies = [await a.json() for a in answers]
    assert sorted(b["already"] for b in bodies) == [False, True]
    assert len(await signatures_of(pad, job)) == 1


async def test_the_pad_waits_for_the_chats_update_being_handled(pad: Harness) -> None:
    """A drawing and a message of the chat never race on the report: the pad waits
    for the chat's turn, and sees what the update committed."""
    job = await at_client_signature(pad)
    async with pad.ingest.in_turn(TECHNICIAN.id):
        signing = asyncio.create_task(
            post_sign(pad, sign_payload(init_data(token(pad), TECHNICIAN), job))
        )
        await asyncio.sleep(0.3)
        assert not signing.done() and await signatures_of(pad, job) == []
    status, _answer = await signing
    assert status == 200


# Refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t: init_data("999:another-bot", TECHNICIAN), id="another-token"),
        pytest.param(lambda t: init_data(t, TECHNICIAN).replace("hash=", "hash=0"), id="hash"),
        pytest.param(
            lambda t: init_data(t, TECHNICIAN).replace("query_id=", "query_id=x"), id="changed"
        ),
        pytest.param(lambda t: init_data(t, TECHNICIAN, age=3700), id="expired"),
        pytest.param(lambda t: init_data(t, TECHNICIAN, age=-900), id="from-the-future"),
        pytest.param(lambda t: "", id="missing"),
    ],
)
async def test_a_forged_or_expired_init_data_is_refused_with_nothing_stored(
    pad: Harness, forge: Any
) -> None:
    job = await at_client_signature(pad)
    async with nothing_stored(pad, job):
        status, answer = await post_sign(pad, sign_payload(forge(token(pad)), job))
    assert status == 401
    assert answer["message"].startswith("Cette page a expiré ou ne vient pas de Telegram")
    assert await stage_of(pad, job) == ("acceptance", "client_signature")


async def test_another_technician_or_a_stranger_may_not_sign(pad: Harness) -> None:
    job = await at_client_signature(pad)
    other = Person(21, "Léa", "lea_tech", "en")
    await plan_job(pad.db, template="short", technician=other, client_name="Secret SA")
    for person in (other, STRANGER):
        async with nothing_stored(pad, job):
            status, answer = await post_sign(pad, sign_payload(init_data(token(pad), person), job))
        assert status == 403
    # Léa reads it in her language; the stranger, in the company's.
    assert answer["message"].startswith("Vous ne pouvez pas signer ce bon")
    async with web_client(pad) as client:
        response = await client.post(
            "/pad/sign", json=sign_payload(init_data(token(pad), other), job)
        )
        assert (await response.json())["message"].startswith("You cannot sign this work order")


async def test_an_office_person_may_not_sign_for_the_technician(pad: Harness) -> None:
    job = await at_client_signature(pad)
    boss = Person(5, "Bernard", "bernard", "fr")
    await register(pad, boss, Role.ADMIN)
    async with nothing_stored(pad, job):
        status, _ = await post_sign(pad, sign_payload(init_data(token(pad), boss), job))
    assert status == 403


async def test_a_signature_no_longer_asked_is_refused(pad: Harness) -> None:
    job = await at_client_signature(pad)
    init = init_data(token(pad), TECHNICIAN)
    assert (await post_sign(pad, sign_payload(init, job)))[0] == 200
    await send_committed(pad)
    # The client's signature is given: another drawing for it finds the chat moved on.
    again = sign_payload(init, job, strokes=[stroke(10, 10, 200, 100)])
    async with nothing_stored(pad, job):
        status, answer = await post_sign(pad, again)
    assert status == 403
    assert answer["message"].startswith("Cette signature n'est plus demandée")
    # A report not yet at the acceptance is refused the same way.
    early = await plan_job(pad.db, template="short", client_name="Hôtel du Parc")
    async with nothing_stored(pad, early):
        status, _ = await post_sign(pad, sign_payload(init, early))
    assert status == 403


async def test_the_technicians_pad_is_refused_while_the_kept_signature_is_offered(
    pad: Harness,
) -> None:
    job = await at_client_signature(pad)
    init = init_data(token(pad), TECHNICIAN)
    # Not yet: the client signs first.
    assert (await post_sign(pad, sign_payload(init, job, "technician")))[0] == 403
    async with pad.db.transaction() as session:
        person = await users.by_telegram_id(session, TECHNICIAN.id)
        assert person is not None
        picture = pad.files.save("signatures", drawn_png(), ".png")
        await signatures.keep(
            session,
            signer="technician",
            signer_name=person.name,
            original=picture,
            original_mime="image/png",
            cleaned=picture,
            intervention_id=None,
            user_id=person.id,
        )
    assert (await post_sign(pad, sign_payload(init, job)))[0] == 200
    calls = await send_committed(pad)
    offered = last_message(calls)
    assert "Votre signature enregistrée" in offered.text and web_app_buttons(offered) == []
    mine = sign_payload(init, job, "technician", strokes=[stroke(20, 20, 300, 150)])
    async with nothing_stored(pad, job):
        assert (await post_sign(pad, mine))[0] == 403
    calls = await pad.press(TECHNICIAN, offered, button(offered, "Nouvelle signature"))
    assert web_app_buttons(last_message(calls))
    assert (await post_sign(pad, mine))[0] == 200
    assert await stage_of(pad, job) == ("submit", None)


def blank_png(size: tuple[int, int] = (720, 360)) -> str:
    buffer = io.BytesIO()
    Image.new("RGBA", size, (0, 0, 0, 0)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"png": blank_png()}, "Je ne vois pas de signature", id="no-ink"),
        pytest.param({"strokes": []}, "Je ne vois pas de signature", id="no-strokes"),
        pytest.param({"strokes": [[{"x": 1, "y": 1, "t": 1}]]}, "Je ne vois pas", id="a-dot"),
        pytest.param(
            {"png": base64.b64encode(drawn_png(size=(3000, 600))).decode()},
            "trop grand",
            id="too-wide",
        ),
        pytest.param(
            {"strokes": [stroke(0, 0, 300, 100, steps=MAX_POINTS)]}, "trop grand", id="points"
        ),
        pytest.param({"png": "x" * 2_000_000}, "trop grand", id="heavy-png"),
        pytest.param({"png": "not base64!"}, "n'a pas pu être lue", id="not-base64"),
        pytest.param(
            {"png": base64.b64encode(b"GIF89a" + b"\0" * 40).decode()},
            "n'a pas pu être lue",
            id="not-a-png",
        ),
        pytest.param({"strokes": [[{"x": "1", "y": 2, "t": 3}]]}, "lue", id="text-point"),
        pytest.param({"strokes": "[]"}, "n'a pas pu être lue", id="strokes-text"),
    ],
)
async def test_an_empty_oversized_or_unreadable_drawing_is_refused(
    pad: Harness, changes: dict[str, Any], expected: str
) -> None:
    job = await at_client_signature(pad)
    payload = sign_payload(init_data(token(pad), TECHNICIAN), job, **changes)
    async with nothing_stored(pad, job):
        status, answer = await post_sign(pad, payload)
    assert status == 400
    assert expected in answer["message"]


async def test_a_body_that_is_not_json_or_too_heavy_is_refused(pad: Harness) -> None:
    job = await at_client_signature(pad)
    async with nothing_stored(pad, job), web_client(pad) as client:
        response = await client.post("/pad/sign", data=b"{not json")
        assert response.status == 400
        response = await client.post("/pad/sign", data=b" " * (4 * 1024 * 1024))
        assert response.status == 400


# The page and what it shows ---------------------------------------------------------


async def test_the_page_carries_its_texts_in_both_languages(pad: Harness) -> None:
    async with web_client(pad) as client:
        response = await client.get("/pad?i=1&who=client")
        page = await response.text()
        script = await client.get("/pad/pad.js")
        style = await client.get("/pad/pad.css")
    assert response.status == 200 and script.status == 200 and style.status == 200
    assert "script-src 'self' https://telegram.org" in response.headers["Content-Security-Policy"]
    texts = json.loads(page.split('type="application/json">', 1)[1].split("</script>", 1)[0])
    assert texts["default"] == "fr"
    assert texts["fr"]["confirm"] == "Valider la signature"
    assert texts["en"]["confirm"] == "Confirm the signature"
    assert "{{texts}}" not in render_page("en")


async def test_the_page_is_told_what_is_accepted_in_the_signers_language(pad: Harness) -> None:
    job = await at_client_signature(pad, reservations="Peinture à reprendre")
    init = init_data(token(pad), TECHNICIAN)
    async with web_client(pad) as client:
        response = await client.get(
            f"/pad/info?i={job.id}&who=client", headers={"Authorization": f"tma {init}"}
        )
        shown = await response.json()
        async with pad.db.transaction() as session:
            client_row = await session.get(Client, job.client_id)
            assert client_row is not None
            client_row.language = "en"
        response = await client.get(
            f"/pad/info?i={job.id}&who=client", headers={"Authorization": f"tma {init}"}
        )
        english = await response.json()
        refused = await client.get(
            f"/pad/info?i={job.id}&who=technician", headers={"Authorization": f"tma {init}"}
        )
        forged = await client.get(f"/pad/info?i={job.id}&who=client")
    assert shown["number"] == job.number and shown["client"] == "Boulangerie Martin"
    assert shown["signer"] == "Mme Martin" and shown["reservations"] == "Peinture à reprendre"
    assert shown["language"] == "fr" and shown["total"].endswith("€")
    assert "," in shown["total"]
    assert english["language"] == "en" and english["total"].startswith("€")
    assert refused.status == 403
    assert forged.status == 401
