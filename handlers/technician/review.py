"""The review: the whole report as a readable summary, with a button to edit any
section. Editing a section returns to the review."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardButton, Message

from handlers.callbacks import WizardAction, Wz
from handlers.technician import money
from handlers.technician.pricing import pricing_summary
from handlers.technician.sections import not_expected, preview
from handlers.technician.visit import StepKind, Visit
from reports.rules.templates import BY_KEY, Kind
from storage import interventions
from storage.models import AttachmentKind
from storage.status import Status

#: Telegram refuses messages over 4096 characters; the summary is cut in pieces below it.
MESSAGE_LIMIT = 3500
REVIEW_PREVIEW = 200


def section_summary(visit: Visit, key: str) -> str:
    """One section in a few words, or "—" when it is empty."""
    job, t, fmt = visit.job, visit.t, money.formatter(visit)
    step = BY_KEY[key]
    if step.kind == Kind.TEXT:
        value = getattr(job, step.field or "") or ""
        return preview(value, REVIEW_PREVIEW) if value else "—"
    if step.kind == Kind.CHECKLIST:
        ticked = sum(1 for item in job.checklist if item.checked)
        text = t("review.checklist", count=ticked, total=len(job.checklist))
        if job.methods:
            text += "\n" + preview(job.methods, REVIEW_PREVIEW)
        return text
    if step.kind == Kind.PARTS:
        if not job.parts:
            return "—"
        totals = money.totals(visit)
        lines = [
            f"• {preview(part.designation, 60)} × {fmt.number(part.quantity)} = {fmt.money(amount)}"
            for part, amount in zip(job.parts, totals.part_lines, strict=True)
        ]
        return "\n".join(lines)
    if step.kind == Kind.PHOTOS:
        photos = sum(1 for a in job.attachments if a.kind == AttachmentKind.PHOTO)
        others = sum(1 for a in job.attachments if a.kind == AttachmentKind.DOCUMENT)
        return t(
            "review.photos",
            photos=t("counts.photos", count=photos),
            documents=t("counts.other_documents", count=others),
        )
    if step.kind == Kind.RESULTS:
        if not job.results_met:
            return "—"
        text = t(f"wizard.results.{job.results_met}")
        if job.results_comment:
            text += " — " + preview(job.results_comment, REVIEW_PREVIEW)
        return text
    if step.kind == Kind.TIMES:
        if job.ended_at is None:
            return "—"
        start = fmt.datetime(job.started_at) if job.started_at else "—"
        hours = fmt.duration(job.worked_hours) if job.worked_hours is not None else "—"
        return t("review.times", start=start, end=fmt.datetime(job.ended_at), hours=hours)
    if step.kind == Kind.PRICING:
        return pricing_summary(visit)
    return ""


def missing_required(visit: Visit) -> list[str]:
    """The titles of required sections still empty."""
    missing = []
    for key, required in visit.template.sections:
        if required and section_summary(visit, key) in ("—", ""):
            missing.append(visit.title(BY_KEY[key]))
    return missing


async def review_prompt(visit: Visit) -> None:
    """The summary (in several messages if long), then the edit buttons."""
    t = visit.t
    blocks = [
        f"<b>{visit.title(BY_KEY[key])}</b>\n{section_summary(visit, key)}"
        for key, _ in visit.template.sections
    ]
    pieces: list[str] = []
    current = ""
    for block in blocks:
        if current and len(current) + len(block) > MESSAGE_LIMIT:
            pieces.append(current)
            current = ""
        current = f"{current}\n\n{block}" if current else block
    if pieces:
        await visit.retire()  # the question comes below the pieces
    for piece in pieces:
        await visit.say(piece)
    edit_buttons: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for key, _ in visit.template.sections:
        row.append(visit.button("✏️ " + visit.title(BY_KEY[key]), WizardAction.EDIT, key))
        if len(row) == 2:
            edit_buttons.append(row)
            row = []
    if row:
        edit_buttons.append(row)
    body = t("review.prompt") + "\n\n" + current
    if visit.job.status == Status.RETURNED:
        note = await interventions.return_note(visit.session, visit.job.id)
        if note:
            body = t("validation.return_comment", comment=preview(note, 1000)) + "\n\n" + body
    missing = missing_required(visit)
    if missing:
        body += "\n\n" + t("review.missing", sections=", ".join(missing))
    await visit.ask(
        body,
        [visit.button(t("review.continue"), WizardAction.CONTINUE)],
        *edit_buttons,
        in_place=not pieces,
    )


async def review_answer(visit: Visit, message: Message) -> None:
    await not_expected(visit, message, "review.use_buttons")


async def review_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    t = visit.t
    if data.action == WizardAction.EDIT and any(
        key == data.value for key, _ in visit.template.sections
    ):
        await query.answer()
        visit.edit_from_review(data.value)
        visit.moving_on()  # the review is shown again once the section is corrected
        await visit.prompt()
        return
    if data.action == WizardAction.CONTINUE:
        missing = missing_required(visit)
        if missing:
            await query.answer(t("review.missing", sections=", ".join(missing)), show_alert=True)
            return
        await query.answer()
        visit.forget_scratch()
        visit.remember(editing=None)
        await visit.advance()
        return
    await query.answer(t("errors.old_button"), show_alert=True)


REVIEW = StepKind(review_prompt, review_answer, review_press)
