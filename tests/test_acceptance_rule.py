"""What a client's acceptance is tied to: the fingerprint of the values they sign for,
and which changes of the report void it (the work done, the parts, the total, the
reservations) and which keep it (a caption, a remark, an internal note, times that
leave the total as it was)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal

import pytest

from reports.data import PartLine, Photo, ReportData
from reports.rules.acceptance import (
    AcceptedPart,
    AcceptedValues,
    Changed,
    canonical_json,
    fingerprint,
    from_json,
    still_holds,
    values_of,
)
from reports.sample import sample_report
from reports.totals import compute_totals

Change = Callable[[ReportData], ReportData]


def draft() -> ReportData:
    """The sample boiler service, with a captioned photo, as the client accepted it."""
    report = sample_report("fr")
    photo = Photo(key="a1", source=b"", caption="Brûleur avant nettoyage")
    return dataclasses.replace(report, photos=(photo,))


def sections(**changes: object) -> Change:
    return lambda r: dataclasses.replace(r, sections=dataclasses.replace(r.sections, **changes))


def pricing(**changes: object) -> Change:
    return lambda r: dataclasses.replace(r, pricing=dataclasses.replace(r.pricing, **changes))


def first_part(**changes: object) -> Change:
    def change(r: ReportData) -> ReportData:
        first = dataclasses.replace(r.parts[0], **changes)
        return dataclasses.replace(r, parts=(first, *r.parts[1:]))

    return change


def acceptance(**changes: object) -> Change:
    def change(r: ReportData) -> ReportData:
        assert r.acceptance is not None
        return dataclasses.replace(r, acceptance=dataclasses.replace(r.acceptance, **changes))

    return change


def parts(lines: Callable[[tuple[PartLine, ...]], tuple[PartLine, ...]]) -> Change:
    return lambda r: dataclasses.replace(r, parts=lines(r.parts))


def caption(text: str) -> Change:
    return lambda r: dataclasses.replace(
        r, photos=tuple(dataclasses.replace(p, caption=text) for p in r.photos)
    )


def later(hours: int) -> Change:
    def change(r: ReportData) -> ReportData:
        i = r.intervention
        assert i.started_at is not None and i.ended_at is not None
        shift = dt.timedelta(hours=hours)
        moved = dataclasses.replace(i, started_at=i.started_at + shift, ended_at=i.ended_at + shift)
        return dataclasses.replace(r, intervention=moved)

    return change


CASES: list[tuple[str, Change, tuple[Changed, ...]]] = [
    # What the client signs for: the acceptance is void, and the client is told what.
    ("more hours: the total changed", pricing(hours=Decimal("3.5")), (Changed.TOTAL,)),
    ("another VAT rate", pricing(vat_rate=Decimal("0.20")), (Changed.TOTAL,)),
    ("in another currency", pricing(currency="CHF"), (Changed.TOTAL,)),
    (
        "a part's quantity",
        first_part(quantity=Decimal("3")),
        (Changed.PARTS, Changed.TOTAL),
    ),
    (
        "a part's unit price",
        first_part(unit_price=Decimal("1.01")),
        (Changed.PARTS, Changed.TOTAL),
    ),
    ("a part's label", first_part(designation="Joint fibre"), (Changed.PARTS,)),
    ("a part's reference", first_part(reference="JF-999"), (Changed.PARTS,)),
    ("a part removed", parts(lambda lines: lines[1:]), (Changed.PARTS, Changed.TOTAL)),
    (
        "a free part added",
        parts(lambda lines: (*lines, PartLine("G-1", "Geste commercial", Decimal(1), Decimal(0)))),
        (Changed.PARTS,),
    ),
    ("the work done", sections(work_done="Rien fait."), (Changed.WORK_DONE,)),
    ("reservations reworded", acceptance(reservations="Fuite au robinet"), (Changed.RESERVATIONS,)),
    ("reservations withdrawn", acceptance(with_reservations=False), (Changed.RESERVATIONS,)),
    (
        "no acceptance at all",
        lambda r: dataclasses.replace(r, acceptance=None),
        (Changed.RESERVATIONS,),
    ),
    (
        "total and work done",
        lambda r: sections(work_done="Autre")(pricing(hours=Decimal(9))(r)),
        (Changed.WORK_DONE, Changed.TOTAL),
    ),
    # Anything else: the acceptance holds.
    ("a photo caption", caption("Brûleur après nettoyage"), ()),
    ("the remarks", sections(remarks="Prévoir un détartrage l'an prochain."), ()),
    ("the context", sections(context="Appel du client à 7h"), ()),
    ("the times, same hours worked", later(2), ()),
    ("the payment terms", pricing(payment_terms="À réception"), ()),
    ("the signer's name", acceptance(signer_name="É. Martin"), ()),
    ("hours and rate, same labour", pricing(hours=Decimal(5), labour_rate=Decimal(31)), ()),
    ("the order of the parts", parts(lambda lines: tuple(reversed(lines))), ()),
    ("quantity 1.0 for 1", first_part(quantity=Decimal("1.000")), ()),
    (
        "blank space around the work done",
        lambda r: sections(work_done=f"  {r.sections.work_done}\r\n")(r),
        (),
    ),
]


@pytest.mark.parametrize(("what", "change", "changed"), CASES, ids=[case[0] for case in CASES])
def test_what_voids_an_acceptance_and_what_keeps_it(
    what: str, change: Change, changed: tuple[Changed, ...]
) -> None:
    accepted = values_of(draft())
    current = values_of(change(draft()))
    verdict = still_holds(accepted, current)
    assert verdict.changed == changed, what
    assert verdict.holds is (not changed)
    assert (fingerprint(accepted) == fingerprint(current)) is (not changed), what


def test_the_values_are_those_the_pdf_prints() -> None:
    report = draft()
    values = values_of(report)
    assert values.work_done == report.sections.work_done
    assert [(p.reference, p.label, p.quantity, p.unit_price) for p in values.parts] == [
        (p.reference, p.designation, p.quantity, p.unit_price) for p in report.parts
    ]
    assert report.acceptance is not None and values.reservations == report.acceptance.reservations
    printed = compute_totals(report.pricing, report.parts)
    assert (values.excl_vat, values.vat, values.incl_vat) == (
        printed.excl_vat,
        printed.vat_total,
        printed.incl_vat,
    )
    assert values.excl_vat + values.vat == values.incl_vat
    assert values.currency == "EUR"


def values(
    *lines: tuple[str, str, str, str], total: str = "10.00", vat: str = "2.00"
) -> AcceptedValues:
    return AcceptedValues(
        work_done="Nettoyage du brûleur.",
        parts=tuple(AcceptedPart(r, label, Decimal(q), Decimal(p)) for r, label, q, p in lines),
        excl_vat=Decimal(total),
        vat=Decimal(vat),
        incl_vat=Decimal(total) + Decimal(vat),
        currency="EUR",
        reservations="",
    )


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        (values(total="10.0"), values(total="10.00"), True),
        (values(total="10"), values(total="1E+1"), True),
        (values(total="10.00"), values(total="10.01"), False),
        (values(("A", "Joint", "2.0", "1.5")), values(("A", "Joint", "2", "1.50")), True),
        (values(("A", "Joint", "2", "0")), values(("A", "Joint", "2", "0.00")), True),
        (
            values(("A", "x", "1", "1"), ("B", "y", "1", "1")),
            values(("B", "y", "1", "1"), ("A", "x", "1", "1")),
            True,
        ),
        (values(("A", "x", "2", "1")), values(("A", "x", "1", "1"), ("A", "x", "1", "1")), False),
        (values(("A", "x", "1", "1")), values(("A", "x", "1", "1"), ("A", "x", "1", "1")), False),
        (values(("A", "Clé", "1", "1")), values(("A", "Cle\u0301", "1", "1")), True),
        (values(("A", "Joint", "1", "1")), values(("A", "joint", "1", "1")), False),
    ],
)
def test_what_reads_the_same_has_the_same_fingerprint(
    one: AcceptedValues, other: AcceptedValues, same: bool
) -> None:
    assert (fingerprint(one) == fingerprint(other)) is same
    assert still_holds(one, other).holds is same


def test_the_fingerprint_is_the_sha256_of_a_stable_json() -> None:
    accepted = values(("JF-12", "Joint fibre Ø 18", "2.0", "1.50"), total="42.0", vat="8.4")
    text = canonical_json(accepted)
    assert json.loads(text) == {
        "version": 1,
        "work_done": "Nettoyage du brûleur.",
        "parts": [["JF-12", "Joint fibre Ø 18", "2", "1.5"]],
        "total": {"currency": "EUR", "excl_vat": "42", "vat": "8.4", "incl_vat": "50.4"},
        "reservations": "",
    }
    assert text.startswith('{"parts":[["JF-12","Joint fibre Ø 18","2","1.5"]],"reservations":""')
    fp = fingerprint(accepted)
    assert len(fp) == 64 and int(fp, 16) >= 0
    assert fp == fingerprint(
        values(("JF-12", "Joint fibre Ø 18", "2", "1.5"), total="42", vat="8.40")
    )


def test_stored_values_read_back_and_still_say_what_changed() -> None:
    accepted = values_of(draft())
    stored = canonical_json(accepted)
    kept = from_json(stored)
    assert fingerprint(kept) == fingerprint(accepted)
    assert still_holds(kept, accepted).holds
    assert still_holds(kept, values_of(pricing(hours=Decimal(4))(draft()))).changed == (
        Changed.TOTAL,
    )


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "[]",
        '{"version": 2}',
        '{"version": 1, "work_done": "x"}',
        canonical_json(values()).replace('"10"', '"dix"'),
    ],
)
def test_anything_else_is_not_accepted_values(stored: str) -> None:
    with pytest.raises(ValueError):
        from_json(stored)


def test_an_amount_that_is_not_a_number_has_no_fingerprint() -> None:
    with pytest.raises(ValueError):
        fingerprint(values(total="NaN"))


def test_an_acceptance_without_reservations_has_none_whatever_was_typed() -> None:
    report = acceptance(with_reservations=False, reservations="brouillon")(draft())
    assert values_of(report).reservations == ""
    assert values_of(dataclasses.replace(report, acceptance=None)).reservations == ""
