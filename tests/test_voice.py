"""Voice notes: the report's annex lists them."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace

from pypdf import PdfReader

from reports.data import VoiceNote
from reports.formatting import recording_length
from reports.pdf import build_report
from reports.sample import sample_report


def test_a_recording_length_reads_as_a_player_shows_it() -> None:
    assert [recording_length(s) for s in (0, 7, 42, 65, 725, 3723)] == [
        "0:00",
        "0:07",
        "0:42",
        "1:05",
        "12:05",
        "1:02:03",
    ]


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_annex_lists_the_voice_notes_in_english_and_french() -> None:
    moment = dt.datetime(2026, 11, 22, 9, 25, tzinfo=dt.UTC)
    notes = (VoiceNote("work_done", 42, moment), VoiceNote("results", 3723, None))
    english = replace(sample_report("en"), voice_notes=notes)
    text = _pdf_text(build_report(english))
    assert "Voice notes" in text and "Section Length Received" in text
    assert "Work done 0:42 22 Nov 2026, 10:25" in text
    assert "Results 1:02:03 —" in text
    assert "the report prints the typed text" in text
    french = replace(sample_report("fr"), voice_notes=notes)
    text = _pdf_text(build_report(french))
    assert "Notes vocales" in text and "Section Durée Reçue le" in text
    assert "Travaux réalisés 0:42 22/11/2026 10:25" in text


def test_a_report_without_voice_notes_has_no_such_annex() -> None:
    data = replace(sample_report("fr"), voice_notes=())
    assert "Notes vocales" not in _pdf_text(build_report(data))
