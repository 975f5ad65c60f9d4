"""What a run did to the technicians' work, read back from the database.

Three things are counted, after the bot has settled and stopped:

* lost inputs: every text and photo a technician sent (and the server handed to the
  bot), compared with what is stored for their intervention;
* duplicated deliveries: the same message or document arriving twice in a chat.
  Those whose earlier copy the fake server handled but whose answer it dropped are
  told apart: Telegram gives a bot no way to know such a message arrived;
* messages that disagree with storage: an intervention number a technician read
  that does not exist or is not theirs, the last step a chat announced when the
  database ended on another, a count of photos above those stored, a part echoed
  but not stored, a PDF received for a report the database did not submit.

The database is read with plain SQL (SQLAlchemy's `text`, on SQLite or PostgreSQL).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.status import Status
from tests.bench.deploy import OFFICE_CHAT
from tests.bench.load import Load, Reply, Technician
from tests.bench.walk import step_shown, template
from tests.fakeapi import Recorded

DELIVERY_METHODS = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "sendLocation", "sendMediaGroup"}
)
TEXT_FIELDS = ("context", "objective", "work_done", "results_comment", "remarks")
NUMBER = re.compile(r"\bOT-\d{4}-\d{4,}\b")
PHOTO_COUNT = re.compile(r"(\d+) photo")
DROPPED_AFTER = "dropped after handling"
AFTER_DROP = "after an answer dropped once handled"


async def query(url: str, sql: str) -> list[Sequence[Any]]:
    """Rows of one SELECT."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql))).all()]
    finally:
        await engine.dispose()


async def states(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """How many updates and deliveries are in each state."""
    inbox = await query(url, "SELECT state, count(*) FROM inbox_updates GROUP BY state")
    outbox = await query(url, "SELECT state, count(*) FROM deliveries GROUP BY state")
    return {str(s): int(n) for s, n in inbox}, {str(s): int(n) for s, n in outbox}


@dataclass
class Stored:
    """What the database holds at the end."""

    jobs: dict[str, dict[str, Any]]
    photos: Counter[tuple[str, str]]
    """(number, sha256) of photo attachments."""
    signatures: set[str]
    """sha256 of signature attachments."""
    parts: set[tuple[str, str]]
    """(number, reference)."""
    failed_updates: list[str]
    updates: dict[int, tuple[str, str]]
    """update_id -> (state, error) of every update in the inbox."""

    @classmethod
    async def read(cls, url: str) -> Stored:
        columns = ("wizard_step", "status", "client_signer_name", *TEXT_FIELDS)
        rows = await query(
            url,
            "SELECT i.number, u.telegram_id, "
            + ", ".join(f"i.{c}" for c in columns)
            + " FROM interventions i LEFT JOIN users u ON u.id = i.technician_id",
        )
        jobs = {
            str(row[0]): {"telegram_id": row[1], **dict(zip(columns, row[2:], strict=True))}
            for row in rows
        }
        attachments = await query(
            url,
            "SELECT i.number, a.kind, a.sha256 FROM attachments a"
            " LEFT JOIN interventions i ON i.id = a.intervention_id",
        )
        photos: Counter[tuple[str, str]] = Counter(
            (str(number), str(sha)) for number, kind, sha in attachments if kind == "photo"
        )
        signatures = {str(sha) for _, kind, sha in attachments if kind == "signature"}
        parts = await query(
            url,
            "SELECT i.number, p.reference FROM parts p"
            " JOIN interventions i ON i.id = p.intervention_id",
        )
        inbox = await query(url, "SELECT update_id, state, error FROM inbox_updates")
        return cls(
            jobs=jobs,
            photos=photos,
            signatures=signatures,
            parts={(str(n), str(r)) for n, r in parts},
            failed_updates=[str(e or "") for _, state, e in inbox if state == "failed"],
            updates={int(u): (str(state), str(e or "")) for u, state, e in inbox},
        )

    def fate(self, update_ids: list[int]) -> str:
        """What became of these updates, when something else than done."""
        notes = []
        for update_id in update_ids:
            state, error = self.updates.get(update_id, ("never received", ""))
            if state != "done":
                why = f": {error.split(':', 1)[0]}" if error else ""
                notes.append(f"update {update_id} {state}{why}")
        return f" ({'; '.join(notes)})" if notes else ""

    def photo_count(self, number: str) -> int:
        return sum(count for (n, _), count in self.photos.items() if n == number)


@dataclass
class Findings:
    """Lost inputs, duplicated deliveries and disagreements, with examples."""

    inputs: int = 0
    lost: list[str] = field(default_factory=list)
    lost_photos: int = 0
    duplicates: list[str] = field(default_factory=list)
    duplicates_after_drop: int = 0
    disagreements: list[str] = field(default_factory=list)
    failed_reasons: dict[str, int] = field(default_factory=dict)
    presses: int = 0
    presses_unanswered: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "inputs_sent": self.inputs,
            "lost_inputs": len(self.lost),
            "lost_photos": self.lost_photos,
            "duplicated_deliveries": len(self.duplicates),
            "duplicates_after_a_dropped_answer": self.duplicates_after_drop,
            "disagreements": len(self.disagreements),
            "failed_update_reasons": self.failed_reasons,
            "button_presses": self.presses,
            "presses_never_answered": self.presses_unanswered,
            "examples": {
                "lost": self.lost[:10],
                "duplicates": [d for d in self.duplicates if AFTER_DROP in d][:10]
                + [d for d in self.duplicates if AFTER_DROP not in d][:10],
                "disagreements": self.disagreements[:10],
            },
        }


def analyse(load: Load, stored: Stored, spoiled: Callable[[Recorded], str | None]) -> Findings:
    """Compare what the technicians sent and read with what is stored."""
    findings = Findings()
    for technician in load.technicians:
        _lost_inputs(technician, stored, findings)
        _disagreements(technician, stored, findings)
        pressed = [sent.callback_id for sent in technician.sent if sent.callback_id is not None]
        findings.presses += len(pressed)
        findings.presses_unanswered += sum(p not in technician.answered for p in pressed)
    _duplicates(load, spoiled, findings)
    reasons = Counter(error.split(":", 1)[0] or "(no reason)" for error in stored.failed_updates)
    findings.failed_reasons = dict(reasons.most_common())
    return findings


def _who(technician: Technician) -> str:
    planned = technician.walk.planned
    return f"{planned.name} ({planned.number})"


def _lost_inputs(technician: Technician, stored: Stored, findings: Findings) -> None:
    number = technician.walk.planned.number
    job = stored.jobs.get(number, {})
    for index, action in enumerate(technician.walk.actions[: technician.done]):
        fate = stored.fate([s.update_id for s in technician.sent if s.action == index])
        for where, value in action.stores:
            findings.inputs += 1
            if where == "photo":
                kept = stored.photos[(number, value)] > 0
            elif where == "signature":
                kept = value in stored.signatures
            elif where == "part":
                kept = (number, value) in stored.parts
            else:
                kept = value in str(job.get(where) or "")
            if kept:
                continue
            if where in ("photo", "signature"):
                findings.lost_photos += 1
                findings.lost.append(f"{_who(technician)}: {action.what} is not stored{fate}")
            elif where == "part":
                findings.lost.append(f"{_who(technician)}: the part {value} is not stored{fate}")
            else:
                elsewhere = [f for f in TEXT_FIELDS if value in str(job.get(f) or "")]
                note = f" (found in {', '.join(elsewhere)})" if elsewhere else ""
                findings.lost.append(
                    f"{_who(technician)}: {where} {value[:50]!r} is not stored;"
                    f" the database has {str(job.get(where))[:50]!r}{note}{fate}"
                )


def _disagreements(technician: Technician, stored: Stored, findings: Findings) -> None:
    number = technician.walk.planned.number
    job = stored.jobs.get(number)
    read = [reply for reply in technician.replies if reply.delivered]
    for seen in sorted({n for reply in read for n in NUMBER.findall(reply.text)}):
        other = stored.jobs.get(seen)
        if other is None:
            findings.disagreements.append(
                f"{_who(technician)} read {seen}, which does not exist in the database"
            )
        elif other["telegram_id"] != technician.chat_id:
            findings.disagreements.append(f"{_who(technician)} read {seen}, which is not theirs")
    if job is None:
        return
    steps = [step.key for step in template().steps()]
    headed = [reply for reply in read if _step(reply) is not None]
    if headed:
        last = max(headed, key=lambda reply: reply.time)
        shown = _step(last) or 0
        key = job["wizard_step"] or steps[0]
        at = steps.index(key) + 1 if key in steps else 0
        if shown != at:
            findings.disagreements.append(
                f"{_who(technician)}: the chat last showed step {shown}/{len(steps)}"
                f" ({steps[shown - 1] if 0 < shown <= len(steps) else '?'})"
                f" while the database is on step {at} ({key})"
            )
    counted = max((int(n) for reply in read for n in PHOTO_COUNT.findall(reply.text)), default=0)
    kept = stored.photo_count(number)
    if counted > kept:
        findings.disagreements.append(
            f"{_who(technician)}: a message counted {counted} photo(s), the database has {kept}"
        )
    for action in technician.walk.actions[: technician.done]:
        for where, value in action.stores:
            echoed = any(value in reply.text for reply in read)
            if where == "part" and echoed and (number, value) not in stored.parts:
                findings.disagreements.append(
                    f"{_who(technician)}: the part {value} was confirmed but is not stored"
                )
    if any(reply.is_pdf for reply in read) and job["status"] != Status.AWAITING_VALIDATION:
        findings.disagreements.append(
            f"{_who(technician)} received the PDF, but the intervention is {job['status']}"
        )


def _step(reply: Reply) -> int | None:
    return step_shown(reply.text)


def _content(record: Recorded) -> str:
    """What a delivery shows, to recognise the same one sent again."""
    params = record.params
    if record.method == "sendMessage":
        markup = json.dumps(params.get("reply_markup"), sort_keys=True, ensure_ascii=False)
        return f"{record.text}\n{markup}"
    if record.method in ("sendDocument", "sendPhoto"):
        upload = record.upload(record.method.removeprefix("send").lower())
        body = hashlib.sha256(upload.data).hexdigest() if upload else str(params)
        return f"{body}\n{record.text}"
    return json.dumps(params, sort_keys=True, default=str, ensure_ascii=False)


def _duplicates(load: Load, spoiled: Callable[[Recorded], str | None], findings: Findings) -> None:
    names = {t.chat_id: _who(t) for t in load.technicians}
    names[OFFICE_CHAT] = "the office"
    copies: dict[tuple[str, str, str], list[Recorded]] = {}
    for record, _ in load.answers:
        if record.method in DELIVERY_METHODS and record.ok:
            key = (str(record.chat_id), record.method, _content(record))
            copies.setdefault(key, []).append(record)
    for (chat, method, _), records in copies.items():
        for earlier, again in itertools.pairwise(records):
            after_drop = spoiled(earlier) == DROPPED_AFTER
            findings.duplicates_after_drop += after_drop
            first = (again.text or "").splitlines()[0][:60] if again.text else ""
            who = names.get(int(chat), f"chat {chat}") if chat.lstrip("-").isdigit() else chat
            why = AFTER_DROP if after_drop else "though the bot had heard the first one arrive"
            findings.duplicates.append(f"{who}: {method} {first!r} again, {why}")
