"""Is this PDF one of ours, unmodified? Anyone registered sends a report back (or uses
/verify first: a technician with a report open would otherwise add the PDF to it)
and is told whether it is authentic, modified, or unknown, and which report it is."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Document, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import downloads
from handlers.context import Options
from handlers.filters import Known
from handlers.i18n import Translator
from reports import offload
from reports.verify import read_verification_code, sha256
from storage import interventions, issued
from storage.models import IssuedReport, Role, User

router = Router(name="verify")


class VerifySteps(StatesGroup):
    pdf = State()


def is_pdf(document: Document | None) -> bool:
    if document is None:
        return False
    name = (document.file_name or "").lower()
    return document.mime_type == "application/pdf" or name.endswith(".pdf")


@router.message(Command("verify"), Known())
async def ask_for_pdf(message: Message, state: FSMContext, t: Translator) -> None:
    """Waits for the PDF to check."""
    await state.set_state(VerifySteps.pdf)
    await message.answer(t("verify.send_pdf"))


@router.message(StateFilter(VerifySteps.pdf), F.document.func(is_pdf), Known())
@router.message(StateFilter(None), F.document.func(is_pdf), Known(), F.chat.type == "private")
async def check(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    user: User,
    state: FSMContext,
    t: Translator,
    options: Options,
) -> None:
    """Says whether the PDF is a report as issued, a modified one, or not one of ours.

    A technician with a report open who sends a PDF without /verify is adding a plan
    to the report: that handler is skipped so the technician's area takes it."""
    reporting = user.role == Role.TECHNICIAN and user.current_intervention_id is not None
    if reporting and await state.get_state() is None:
        raise SkipHandler
    await state.clear()
    document = message.document
    assert document is not None
    try:
        pdf = await downloads.fetch(
            bot,
            document.file_id,
            size=document.file_size,
            timeout=120,
            limit=options.download_limit,
        )
    except downloads.TooBig as too_big:
        await message.answer(t("verify.too_big", megabytes=too_big.megabytes))
        return
    except downloads.Gone:
        await message.answer(t("verify.gone"))
        return
    exact = await issued.by_fingerprint(session, sha256(pdf))
    if exact is not None:
        await message.answer(await _describe(session, t, options, "authentic", exact))
        return
    code = await offload.run(read_verification_code, pdf)
    claimed = await issued.by_code(session, code) if code is not None else None
    if claimed is not None:
        await message.answer(await _describe(session, t, options, "modified", claimed))
        return
    await message.answer(t("verify.unknown"))


async def _describe(
    session: AsyncSession, t: Translator, options: Options, verdict: str, report: IssuedReport
) -> str:
    job = await interventions.by_id(session, report.intervention_id)
    number = job.number if job else "?"
    return t(
        f"verify.{verdict}",
        number=number,
        date=options.local(report.issued_at),
        code=report.code,
    )
