"""A Telegram outage in the middle of a conversation: a reply met by nginx's 502 page, a
photo whose download fails or arrives cut short. The update is handled again once
Telegram answers, what the person sent is kept once and whole, and they never read
the "something went wrong" text; a file Telegram no longer has is asked for again."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from storage.models import AttachmentKind, Delivery, InboxUpdate, UpdateState
from tests.conftest import TECHNICIAN, Harness, load_job, plan_job
from tests.mocked import Call
from tests.test_wizard import attachments_of, go_to_photos, jpeg, started

SORRY = "un problème est survenu"


async def update_states(harness: Harness) -> list[str]:
    async with harness.db.sessions() as session:
        rows = (await session.scalars(select(InboxUpdate).order_by(InboxUpdate.update_id))).all()
    return [row.state for row in rows]


async def everything_said(harness: Harness, calls: list[Call]) -> list[str]:
    """The texts that reached the person: direct replies, then the outbox's."""
    direct = [c.text for c in calls if c.method == "sendMessage" and not c.failed]
    later = [c.text for c in await harness.deliver(now=True) if c.chat_id == TECHNICIAN.id]
    async with harness.db.sessions() as session:
        queued = [d.text or "" for d in (await session.scalars(select(Delivery))).all()]
    assert not any(SORRY in text for text in [*direct, *later, *queued])
    return direct + later


async def test_an_answer_whose_reply_meets_502_pages_is_kept_and_the_reply_sent_later(
    short: Harness,
) -> None:
    job = await started(short)
    short.session.html_next("sendMessage", 502, times=2)
    calls = await short.say(TECHNICIAN, "Chaudière en panne depuis lundi")
    assert [c.failed for c in calls if c.method == "sendMessage"] == [True]
    assert (await load_job(short.db, job)).context == "Chaudière en panne depuis lundi"
    assert set(await update_states(short)) == {UpdateState.DONE}, "handled once"
    retried: list[Call] = []
    for _ in range(2):
        retried += [c for c in await short.deliver(now=True) if c.chat_id == TECHNICIAN.id]
    assert [c.failed for c in retried] == [False], "sent once Telegram answered"
    assert "Étape 2/" in retried[-1].text
    said = await everything_said(short, [])
    assert all(SORRY not in text for text in said)


async def test_a_photo_whose_download_meets_502_pages_is_kept_once(short: Harness) -> None:
    job = await go_to_photos(short)
    photo = jpeg(color="green")
    short.session.fail_download_next(502, 503)
    calls = await short.feed(short.updates.photo(TECHNICIAN, short.session, photo))
    assert [c.failed for c in calls if c.method == "download"] == [True, True, False]
    (kept,) = await attachments_of(short, job)
    assert kept.kind == AttachmentKind.PHOTO
    assert short.files.absolute(kept.path).read_bytes() == photo
    said = await everything_said(short, calls)
    assert any("1 photo enregistrée" in text for text in said)
    assert set(await update_states(short)) == {UpdateState.DONE}


async def test_a_photo_cut_short_in_transfer_is_fetched_again_not_kept_cut(
    short: Harness,
) -> None:
    """aiohttp notices a body shorter than announced; a body that ends early as if whole
    is caught by the size Telegram gave. Neither is kept, nor called a damaged photo."""
    job = await go_to_photos(short)
    photo = jpeg(640, 480, color="navy")
    short.session.fail_download_next("cut", "short")
    calls = await short.feed(short.updates.photo(TECHNICIAN, short.session, photo))
    assert [c.failed for c in calls if c.method == "download"] == [True, True, False]
    (kept,) = await attachments_of(short, job)
    assert kept.sha256 == hashlib.sha256(photo).hexdigest() and kept.size == len(photo)
    said = await everything_said(short, calls)
    assert not any("abîmée" in text for text in said)


async def test_a_plan_cut_short_in_transfer_is_not_kept_as_a_broken_file(short: Harness) -> None:
    job = await go_to_photos(short)
    plan = b"%PDF-1.7\n" + b"0123456789" * 500 + b"\n%%EOF\n"
    short.session.fail_download_next("short")
    update = short.updates.document(
        TECHNICIAN, short.session, plan, "plan-chaufferie.pdf", "application/pdf"
    )
    await short.feed(update)
    (kept,) = await attachments_of(short, job)
    assert kept.kind == AttachmentKind.DOCUMENT
    assert short.files.absolute(kept.path).read_bytes() == plan


async def test_a_photo_telegram_no_longer_has_is_asked_for_again(short: Harness) -> None:
    job = await go_to_photos(short)
    short.session.fail_download_next(404)
    calls = await short.feed(short.updates.photo(TECHNICIAN, short.session, jpeg()))
    said = await everything_said(short, calls)
    assert said == ["Telegram ne me donne plus ce fichier : renvoyez-le, s'il vous plaît."]
    assert await attachments_of(short, job) == []
    assert set(await update_states(short)) == {UpdateState.DONE}


async def test_a_pdf_to_verify_whose_download_fails_is_checked_once_telegram_answers(
    short: Harness,
) -> None:
    await plan_job(short.db)  # registers the technician
    await short.say(TECHNICIAN, "/verify")
    short.session.fail_download_next(502)
    pdf = b"%PDF-1.7\nnot one of ours\n%%EOF\n"
    update = short.updates.document(
        TECHNICIAN, short.session, pdf, "rapport.pdf", "application/pdf"
    )
    calls = await short.feed(update)
    assert "n'est pas un rapport émis par ce bot" in (await everything_said(short, calls))[-1]

    await short.say(TECHNICIAN, "/verify")
    short.session.fail_download_next(400)
    update = short.updates.document(
        TECHNICIAN, short.session, pdf, "rapport.pdf", "application/pdf"
    )
    calls = await short.feed(update)
    assert "renvoyez-le pour que je le vérifie" in (await everything_said(short, calls))[-1]
    assert set(await update_states(short)) == {UpdateState.DONE}
