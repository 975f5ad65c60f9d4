"""What technicians type in chat, read the French way or the English way, or refused with a
message key that says what is expected."""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable
from decimal import Decimal

import pytest

from handlers.i18n import LANGUAGES, catalog
from reports.rules.reading import (
    KEYS,
    MAX_TEXT,
    ParseError,
    clean_text,
    format_decimal,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_hours,
    parse_km,
    parse_money,
    parse_quantity,
    parse_time,
    parse_yes_no,
)

TODAY = dt.date(2026, 5, 10)
NBSP = "\u00a0"
NNBSP = "\u202f"
TOO_LONG = "1" * (MAX_TEXT + 1)


def refusal(call: Callable[[], object]) -> ParseError:
    """The ParseError raised by `call`, checked to use a key the catalogs know."""
    with pytest.raises(ParseError) as caught:
        call()
    assert caught.value.key in KEYS
    return caught.value


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("12", "12"),
        ("12,5", "12.5"),
        ("12.5", "12.5"),
        ("0,75", "0.75"),
        (",5", "0.5"),
        (".5", "0.5"),
        ("007", "7"),
        ("+3", "3"),
        ("-3", "-3"),
        ("- 3", "-3"),
        ("\u22123", "-3"),
        ("-0", "0"),
        ("  12,5  ", "12.5"),
        ("\t12\n", "12"),
        ("1 234,5", "1234.5"),
        (f"1{NBSP}234,5", "1234.5"),
        (f"1{NNBSP}234,5", "1234.5"),
        ("1  234", "1234"),
        ("1 234 567", "1234567"),
        ("1 234.5", "1234.5"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1.234.567", "1234567"),
        ("1,234,567", "1234567"),
        ("1.234.567,89", "1234567.89"),
        ("1,234,567.89", "1234567.89"),
        ("1,234", "1.234"),
        ("1.234", "1.234"),
    ],
)
def test_numbers_typed_the_french_or_english_way_are_understood(typed: str, read: str) -> None:
    assert parse_decimal(typed) == Decimal(read)


def test_the_decimals_typed_are_kept() -> None:
    assert str(parse_decimal("12,50")) == "12.50"
    assert str(parse_decimal("1 234,500")) == "1234.500"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "abc",
        "douze",
        "12,3,4",
        "1.2.3",
        "12 5",
        "1 23",
        "1 2345",
        "12,",
        "12.",
        ",",
        "1,,5",
        "1, 5",
        "1.234,5,6",
        "1,234.5.6",
        "1 234.567,8",
        "1.23,45",
        "1,2345.6",
        "1e5",
        "1E5",
        "nan",
        "NaN",
        "inf",
        "Infinity",
        "--1",
        "+-1",
        "1-",
        "0x10",
        "½",
        "1/2",
        "12²",
        "１２",
        "12 €",
        TOO_LONG,
    ],
)
def test_text_that_is_not_a_number_is_refused_as_not_a_number(typed: str) -> None:
    error = refusal(lambda: parse_decimal(typed))
    assert (error.key, error.values) == ("parse.number", {})


def test_a_number_below_the_minimum_is_refused_naming_the_minimum() -> None:
    error = refusal(lambda: parse_decimal("-1", minimum=Decimal(0)))
    assert (error.key, error.values) == ("parse.too_small", {"minimum": Decimal(0)})


def test_a_number_above_the_maximum_is_refused_naming_the_maximum() -> None:
    error = refusal(lambda: parse_decimal("100,5", maximum=Decimal(100)))
    assert (error.key, error.values) == ("parse.too_large", {"maximum": Decimal(100)})


def test_the_bounds_themselves_are_accepted() -> None:
    assert parse_decimal("0", minimum=Decimal(0), maximum=Decimal(100)) == 0
    assert parse_decimal("100,00", minimum=Decimal(0), maximum=Decimal(100)) == 100


def test_a_number_with_too_many_decimals_is_refused_naming_how_many_are_allowed() -> None:
    error = refusal(lambda: parse_decimal("1,234", places=2))
    assert (error.key, error.values) == ("parse.too_many_decimals", {"places": 2})
    assert parse_decimal("1,23", places=2) == Decimal("1.23")


def test_a_number_out_of_range_is_told_so_before_its_decimals() -> None:
    error = refusal(lambda: parse_decimal("1000,123", maximum=Decimal(10), places=2))
    assert error.key == "parse.too_large"


# --- money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("12,50 €", "12.50"),
        ("12,50€", "12.50"),
        ("€12.50", "12.50"),
        ("€ 12,50", "12.50"),
        ("12.50 EUR", "12.50"),
        ("12.50eur", "12.50"),
        ("EUR 12", "12.00"),
        ("12 €", "12.00"),
        ("12 euros", "12.00"),
        ("1 euro", "1.00"),
        ("12€50", "12.50"),
        ("12,5", "12.50"),
        ("12", "12.00"),
        ("0", "0.00"),
        ("0,00 €", "0.00"),
        ("+12 €", "12.00"),
        ("1 234,56 €", "1234.56"),
        (f"1{NBSP}234,56{NBSP}€", "1234.56"),
        (f"1{NNBSP}234,56{NNBSP}€", "1234.56"),
        ("1.234,56 €", "1234.56"),
        ("€1,234.56", "1234.56"),
        ("1 000 000 €", "1000000.00"),
    ],
)
def test_french_and_english_money_with_or_without_euro_sign_is_understood(
    typed: str, amount: str
) -> None:
    value = parse_money(typed)
    assert str(value) == amount


def test_french_money_with_euro_sign_and_thousands_space_is_understood() -> None:
    assert parse_money(f"1{NBSP}250,90 €") == Decimal("1250.90")


@pytest.mark.parametrize(
    "typed",
    ["abc", "", "€", "12 $", "$12", "12 USD", "12 € HT", "12 e", "€12€", "-€-5", "12€5", TOO_LONG],
)
def test_money_that_cannot_be_read_is_refused_as_not_a_number(typed: str) -> None:
    error = refusal(lambda: parse_money(typed))
    assert (error.key, error.values) == ("parse.number", {})


@pytest.mark.parametrize("typed", ["-5", "-5 €", "€-5", "-€5", "-0,01 €", "-10 000 000 €"])
def test_a_negative_price_is_refused_as_negative(typed: str) -> None:
    error = refusal(lambda: parse_money(typed))
    assert (error.key, error.values) == ("parse.negative", {})


def test_a_price_of_ten_million_euros_is_refused_as_too_large() -> None:
    error = refusal(lambda: parse_money("10 000 000 €"))
    assert (error.key, error.values) == ("parse.too_large", {"maximum": Decimal("1000000")})


def test_the_money_maximum_can_be_chosen_by_the_step() -> None:
    error = refusal(lambda: parse_money("501 €", maximum=Decimal(500)))
    assert error.values == {"maximum": Decimal(500)}


@pytest.mark.parametrize("typed", ["12,505 €", "12.505", "1,234 €", "1.000 €"])
def test_money_with_more_than_two_decimals_is_refused_not_rounded(typed: str) -> None:
    error = refusal(lambda: parse_money(typed))
    assert (error.key, error.values) == ("parse.too_many_decimals", {"places": 2})


# --- quantities ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "quantity"),
    [
        ("2", "2"),
        ("0,5", "0.5"),
        ("1,250", "1.250"),
        ("0,001", "0.001"),
        ("2 u", "2"),
        ("2u", "2"),
        ("3,5 m", "3.5"),
        ("3.5m", "3.5"),
        ("2 pcs", "2"),
        ("2 pcs.", "2"),
        ("2 pièces", "2"),
        ("1,5 kg", "1.5"),
        ("4 m²", "4"),
        ("4 m2", "4"),
        ("0,5 m³", "0.5"),
        ("10 ml", "10"),
        ("2 L", "2"),
        ("2 rouleaux", "2"),
        ("3 boîtes", "3"),
        ("1 unité", "1"),
        ("x2", "2"),
        ("X 2", "2"),
        ("×2", "2"),
        ("2x", "2"),
        ("2 x", "2"),
        ("1 000", "1000"),
        (f"1{NBSP}000 m", "1000"),
        ("100 000", "100000"),
    ],
)
def test_quantities_with_a_unit_or_x_after_the_number_give_the_number(
    typed: str, quantity: str
) -> None:
    assert str(parse_quantity(typed)) == quantity


@pytest.mark.parametrize(
    "typed", ["abc", "", "2 abc", "2 h", "2 €", "2 x 3", "x", "m", "1e9", "12²", TOO_LONG]
)
def test_a_quantity_that_cannot_be_read_is_refused_as_not_a_number(typed: str) -> None:
    error = refusal(lambda: parse_quantity(typed))
    assert (error.key, error.values) == ("parse.number", {})


@pytest.mark.parametrize("typed", ["0", "0 u", "-3", "-1 m", "0,000"])
def test_a_quantity_of_zero_or_less_is_refused_as_too_small(typed: str) -> None:
    error = refusal(lambda: parse_quantity(typed))
    assert (error.key, error.values) == ("parse.too_small", {"minimum": Decimal("0.001")})


@pytest.mark.parametrize("typed", ["1 000 000 000", "100 001", "1.000.000.000"])
def test_an_absurd_quantity_is_refused_as_too_large(typed: str) -> None:
    error = refusal(lambda: parse_quantity(typed))
    assert (error.key, error.values) == ("parse.too_large", {"maximum": Decimal("100000")})


def test_a_quantity_with_four_decimals_is_refused() -> None:
    error = refusal(lambda: parse_quantity("1,2345 kg"))
    assert (error.key, error.values) == ("parse.too_many_decimals", {"places": 3})


# --- hours --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "hours"),
    [
        ("2", "2.00"),
        ("2,5", "2.50"),
        ("2.5", "2.50"),
        ("0,25", "0.25"),
        ("2,30", "2.30"),
        ("1,333", "1.33"),
        ("1h", "1.00"),
        ("1 h", "1.00"),
        ("1H", "1.00"),
        ("2,5 h", "2.50"),
        ("2 heures", "2.00"),
        ("2 hours", "2.00"),
        ("2 hrs", "2.00"),
        ("2h30", "2.50"),
        ("2H30", "2.50"),
        ("2 h 30", "2.50"),
        ("2h 30 min", "2.50"),
        ("2h30min", "2.50"),
        ("2 heures 30", "2.50"),
        ("2 hours 30 minutes", "2.50"),
        ("2h05", "2.08"),
        ("2h5min", "2.08"),
        ("2h10", "2.17"),
        ("0h45", "0.75"),
        ("2:30", "2.50"),
        ("0:45", "0.75"),
        ("150 min", "2.50"),
        ("45min", "0.75"),
        ("45 mn", "0.75"),
        ("90 minutes", "1.50"),
        ("1 min", "0.02"),
        ("+2", "2.00"),
        ("24", "24.00"),
        ("24h00", "24.00"),
        (f"{NBSP}2h30{NBSP}", "2.50"),
        # What the bot shows is read back the same (an edited message, a copy).
        (f"2{NBSP}h{NBSP}31", "2.52"),
        (f"2{NBSP}h{NBSP}31{NBSP}min", "2.52"),
        ("2 h 5 min", "2.08"),
    ],
)
def test_durations_in_hours_or_minutes_are_understood_as_hours(typed: str, hours: str) -> None:
    value = parse_hours(typed)
    assert str(value) == hours


@pytest.mark.parametrize(
    "typed", ["2h75", "2:75", "1h60", "abc", "", "2h5", "2,5h30", "2 30", "--1", "h", TOO_LONG]
)
def test_a_duration_that_cannot_be_read_is_refused_as_a_bad_duration(typed: str) -> None:
    error = refusal(lambda: parse_hours(typed))
    assert (error.key, error.values) == ("parse.duration", {})


@pytest.mark.parametrize("typed", ["0", "0h", "0:00", "0 min", "-0", "0,004"])
def test_zero_hours_are_refused_as_no_time_at_all(typed: str) -> None:
    error = refusal(lambda: parse_hours(typed))
    assert (error.key, error.values) == ("parse.duration_zero", {})


@pytest.mark.parametrize("typed", ["-3", "-3 h", "-2h30", "\u22121,5", "- 45 min"])
def test_negative_hours_are_refused_as_negative(typed: str) -> None:
    error = refusal(lambda: parse_hours(typed))
    assert (error.key, error.values) == ("parse.duration_negative", {})


@pytest.mark.parametrize("typed", ["30", "30 h", "24h01", "1500 min", "1 000"])
def test_more_than_a_day_of_work_is_refused_as_too_long(typed: str) -> None:
    error = refusal(lambda: parse_hours(typed))
    assert (error.key, error.values) == ("parse.duration_too_long", {"maximum": Decimal(24)})


def test_the_hours_maximum_can_be_chosen_by_the_step() -> None:
    assert parse_hours("30", maximum=Decimal(48)) == Decimal(30)


# --- times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "time"),
    [
        ("14h30", (14, 30)),
        ("14H30", (14, 30)),
        ("14:30", (14, 30)),
        ("14 : 30", (14, 30)),
        ("14.30", (14, 30)),
        ("14h", (14, 0)),
        ("14 h", (14, 0)),
        ("14 h 30", (14, 30)),
        ("14 heures 30", (14, 30)),
        ("9h05", (9, 5)),
        ("09:05", (9, 5)),
        ("0h00", (0, 0)),
        ("23h59", (23, 59)),
        ("0930", (9, 30)),
        ("930", (9, 30)),
        ("1430", (14, 30)),
        ("14", (14, 0)),
        ("9", (9, 0)),
        ("2:30 pm", (14, 30)),
        ("2:30pm", (14, 30)),
        ("2.30 p.m.", (14, 30)),
        ("2pm", (14, 0)),
        ("2 PM", (14, 0)),
        ("9am", (9, 0)),
        ("12am", (0, 0)),
        ("12:30 am", (0, 30)),
        ("12pm", (12, 0)),
        ("midi", (12, 0)),
        ("Minuit", (0, 0)),
        ("noon", (12, 0)),
        ("midnight", (0, 0)),
    ],
)
def test_times_of_day_typed_the_french_or_english_way_are_understood(
    typed: str, time: tuple[int, int]
) -> None:
    assert parse_time(typed) == dt.time(*time)


@pytest.mark.parametrize(
    "typed",
    [
        "25h",
        "24h",
        "24:00",
        "14h61",
        "14:60",
        "9h5",
        "abc",
        "",
        "14h30m",
        "14:30 pm",
        "0pm",
        "13pm",
        "2400",
        "960",
        "14:3",
        "-14h",
        TOO_LONG,
    ],
)
def test_a_time_that_does_not_exist_or_cannot_be_read_is_refused(typed: str) -> None:
    error = refusal(lambda: parse_time(typed))
    assert (error.key, error.values) == ("parse.time", {})


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "date"),
    [
        ("22/11/2026", (2026, 11, 22)),
        ("22/11/26", (2026, 11, 22)),
        ("22-11-2026", (2026, 11, 22)),
        ("22.11.2026", (2026, 11, 22)),
        ("22 / 11 / 2026", (2026, 11, 22)),
        ("1/2/2026", (2026, 2, 1)),
        ("01/02/2026", (2026, 2, 1)),
        ("22/11", (2026, 11, 22)),
        ("22.11", (2026, 11, 22)),
        ("2026-11-22", (2026, 11, 22)),
        ("le 22/11", (2026, 11, 22)),
        ("on 22/11/2026", (2026, 11, 22)),
        ("29/02/2028", (2028, 2, 29)),
        ("22 novembre 2026", (2026, 11, 22)),
        ("22 Novembre", (2026, 11, 22)),
        ("1er mars", (2026, 3, 1)),
        ("3 févr. 2027", (2027, 2, 3)),
        ("15 août", (2026, 8, 15)),
        ("22 November 2026", (2026, 11, 22)),
        ("22nd of November", (2026, 11, 22)),
        ("Nov 22, 2026", (2026, 11, 22)),
        ("November 22", (2026, 11, 22)),
    ],
)
def test_dates_written_day_first_or_iso_or_with_a_month_name_are_understood(
    typed: str, date: tuple[int, int, int]
) -> None:
    assert parse_date(typed, today=TODAY) == dt.date(*date)


@pytest.mark.parametrize(
    ("typed", "days"),
    [
        ("aujourd'hui", 0),
        ("Aujourd’hui", 0),
        ("aujourdhui", 0),
        ("today", 0),
        ("Demain", 1),
        ("tomorrow", 1),
        ("hier", -1),
        ("Yesterday", -1),
        ("après-demain", 2),
        ("apres demain", 2),
        ("avant-hier", -2),
    ],
)
def test_today_tomorrow_and_yesterday_in_french_or_english_are_understood(
    typed: str, days: int
) -> None:
    assert parse_date(typed, today=TODAY) == TODAY + dt.timedelta(days=days)


def test_tomorrow_on_new_years_eve_is_next_year() -> None:
    assert parse_date("demain", today=dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)


@pytest.mark.parametrize(
    "typed",
    [
        "31/02/2026",
        "32/01/2026",
        "29/02/2026",
        "29/02",
        "00/01/2026",
        "12/13/2026",
        "22/11-2026",
        "22/11/126",
        "22/11/1850",
        "22/11/2150",
        "2026-13-01",
        "22 brumaire",
        "abc",
        "",
        "22",
        "22 11 2026",
        "après",
        TOO_LONG,
    ],
)
def test_a_date_that_does_not_exist_or_cannot_be_read_is_refused(typed: str) -> None:
    error = refusal(lambda: parse_date(typed, today=TODAY))
    assert (error.key, error.values) == ("parse.date", {})


# --- date and time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "date", "time"),
    [
        ("22/11/2026 14h30", (2026, 11, 22), (14, 30)),
        ("22/11/2026, 14h30", (2026, 11, 22), (14, 30)),
        ("22/11 à 14h30", (2026, 11, 22), (14, 30)),
        ("22/11 a 14h30", (2026, 11, 22), (14, 30)),
        ("le 22/11 à 14h", (2026, 11, 22), (14, 0)),
        ("22/11/2026 at 2:30 pm", (2026, 11, 22), (14, 30)),
        ("22/11/2026 @ 14:30", (2026, 11, 22), (14, 30)),
        ("demain 9h", (2026, 5, 11), (9, 0)),
        ("Demain à 9h", (2026, 5, 11), (9, 0)),
        ("demain vers 9h", (2026, 5, 11), (9, 0)),
        ("demain midi", (2026, 5, 11), (12, 0)),
        ("tomorrow 9am", (2026, 5, 11), (9, 0)),
        ("après-demain 8h", (2026, 5, 12), (8, 0)),
        ("apres demain 8h", (2026, 5, 12), (8, 0)),
        ("22 novembre 2026 à 14h30", (2026, 11, 22), (14, 30)),
        ("14h30 demain", (2026, 5, 11), (14, 30)),
        ("9h le 22/11", (2026, 11, 22), (9, 0)),
        ("2026-11-22T14:30", (2026, 11, 22), (14, 30)),
        ("2026-11-22 14:30", (2026, 11, 22), (14, 30)),
    ],
)
def test_a_date_followed_by_a_time_is_understood(
    typed: str, date: tuple[int, int, int], time: tuple[int, int]
) -> None:
    assert parse_datetime(typed, today=TODAY) == (dt.date(*date), dt.time(*time))


@pytest.mark.parametrize(
    ("typed", "time"), [("14:30", (14, 30)), ("14h30", (14, 30)), ("1430", (14, 30))]
)
def test_a_time_alone_leaves_the_day_to_the_step(typed: str, time: tuple[int, int]) -> None:
    assert parse_datetime(typed, today=TODAY) == (None, dt.time(*time))


def test_a_year_after_a_date_is_not_mistaken_for_a_time() -> None:
    error = refusal(lambda: parse_datetime("22 nov 2026", today=TODAY))
    assert error.key == "parse.datetime"


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("22/11/2026 25h", "parse.time"),
        ("22/11/2026 14h61", "parse.time"),
        ("demain matin", "parse.time"),
        ("31/02/2026 14h", "parse.date"),
        ("32/01 à 9h", "parse.date"),
        ("22/11/2026", "parse.datetime"),
        ("demain", "parse.datetime"),
        ("abc", "parse.datetime"),
        ("", "parse.datetime"),
        ("14h61", "parse.datetime"),
        (TOO_LONG, "parse.datetime"),
    ],
)
def test_a_date_and_time_that_cannot_be_read_says_which_part_is_wrong(typed: str, key: str) -> None:
    error = refusal(lambda: parse_datetime(typed, today=TODAY))
    assert (error.key, error.values) == (key, {})


# --- kilometres ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "km"),
    [
        ("35", "35"),
        ("35 km", "35"),
        ("35km", "35"),
        ("35 KM", "35"),
        ("35,5km", "35.5"),
        ("35.5 km", "35.5"),
        ("35 kilomètres", "35"),
        ("0", "0"),
        ("1 200 km", "1200"),
        ("2000", "2000"),
    ],
)
def test_kilometres_with_or_without_km_are_understood(typed: str, km: str) -> None:
    assert str(parse_km(typed)) == km


@pytest.mark.parametrize(
    ("typed", "key", "values"),
    [
        ("abc", "parse.number", {}),
        ("35 miles", "parse.number", {}),
        ("", "parse.number", {}),
        (TOO_LONG, "parse.number", {}),
        ("-3", "parse.negative", {}),
        ("-3 km", "parse.negative", {}),
        ("3000", "parse.too_large", {"maximum": Decimal(2000)}),
        ("35,55", "parse.too_many_decimals", {"places": 1}),
    ],
)
def test_kilometres_that_cannot_be_right_are_refused(
    typed: str, key: str, values: dict[str, object]
) -> None:
    error = refusal(lambda: parse_km(typed))
    assert (error.key, error.values) == (key, values)


# --- free text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  Fuite réparée  ", "Fuite réparée"),
        ("\n\nFuite\n\n", "Fuite"),
        ("a\n\n\nb", "a\n\n\nb"),
        ("a\n\n\n\nb", "a\n\n\nb"),
        ("a\n\n\n\n\n\n\n\nb", "a\n\n\nb"),
        ("a\n   \n  \n \n\nb", "a\n\n\nb"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("a\u2028b", "a\nb"),
        ("col1\tcol2", "col1\tcol2"),
        ("bell\x07 nul\x00 esc\x1b del\x7f", "bell nul esc del"),
        ("a\x0bb\x0cc", "abc"),
        ("fin   \nsuite", "fin\nsuite"),
        ("  indenté\n  encore", "indenté\n  encore"),
        ("pay\u202eload", "payload"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("broken \ud800surrogate", "broken surrogate"),
        ("e\u0301te\u0301", "été"),
        ("👨\u200d🔧 fait ✔️", "👨\u200d🔧 fait ✔️"),
        ("<b>gras</b> & co", "<b>gras</b> & co"),
    ],
)
def test_free_text_is_kept_without_control_characters_or_extra_blank_lines(
    typed: str, kept: str
) -> None:
    assert clean_text(typed) == kept


@pytest.mark.parametrize("typed", ["", "   ", "\n\n\t\n", "\x00\x01", "\u200b", f"{NBSP}"])
def test_an_empty_message_is_refused_as_empty(typed: str) -> None:
    error = refusal(lambda: clean_text(typed))
    assert (error.key, error.values) == ("parse.empty", {})


def test_text_over_telegrams_limit_is_refused_with_its_length() -> None:
    error = refusal(lambda: clean_text("x" * (MAX_TEXT + 1)))
    assert (error.key, error.values) == ("parse.too_long", {"maximum": 4000, "length": 4097})


def test_text_over_the_steps_maximum_is_refused_with_its_length() -> None:
    error = refusal(lambda: clean_text("  " + "é" * 201 + "  ", maximum=200))
    assert (error.key, error.values) == ("parse.too_long", {"maximum": 200, "length": 201})


def test_text_exactly_at_the_maximum_is_kept() -> None:
    assert clean_text("x" * 4000) == "x" * 4000


def test_removed_characters_do_not_count_towards_the_maximum() -> None:
    assert clean_text("x" * 10 + "\x00" * 10 + "\n" * 10, maximum=10) == "x" * 10


# --- yes or no ----------------------------------------------------------------------------


YES = ["oui", "Oui", "OUI", "o", "O", "yes", "Yes!", "y", "ok", "OK.", "okay", "ouais", "ouí"]
YES_WITH_MARKS = ["Oui !", "oui!!!", " oui ", "👍", "👍🏽", "✅", "✔️"]


@pytest.mark.parametrize("typed", YES + YES_WITH_MARKS)
def test_yes_in_french_or_english_is_understood(typed: str) -> None:
    assert parse_yes_no(typed) is True


@pytest.mark.parametrize(
    "typed", ["non", "Non", "NON", "n", "N", "no", "No.", "nope", "nan", "Non !", "nön", "👎", "❌"]
)
def test_no_in_french_or_english_is_understood(typed: str) -> None:
    assert parse_yes_no(typed) is False


@pytest.mark.parametrize(
    "typed", ["", "peut-être", "maybe", "oui non", "ouiii", "1", "!", "oui merci", TOO_LONG]
)
def test_an_answer_that_is_neither_yes_nor_no_is_refused(typed: str) -> None:
    error = refusal(lambda: parse_yes_no(typed))
    assert (error.key, error.values) == ("parse.yes_no", {})


# --- the error and its message ------------------------------------------------------------


def test_a_refusal_carries_its_key_and_values() -> None:
    error = ParseError("parse.too_long", maximum=4000, length=4097)
    assert isinstance(error, ValueError)
    assert error.key == "parse.too_long"
    assert error.values == {"maximum": 4000, "length": 4097}
    assert str(error) == "parse.too_long (maximum=4000, length=4097)"
    assert str(ParseError("parse.number")) == "parse.number"


@pytest.mark.parametrize(
    ("value", "language", "shown"),
    [
        (Decimal("1000000"), "fr", f"1{NBSP}000{NBSP}000"),
        (Decimal("1000000"), "en", "1,000,000"),
        (Decimal("0.01"), "fr", "0,01"),
        (Decimal("0.01"), "en", "0.01"),
        (Decimal("1234.5"), "fr", f"1{NBSP}234,5"),
        (Decimal("24"), "fr", "24"),
    ],
)
def test_limits_in_messages_are_written_the_way_the_reader_writes_numbers(
    value: Decimal, language: str, shown: str
) -> None:
    assert format_decimal(value, language) == shown


def test_the_values_of_a_refusal_are_ready_for_the_french_message() -> None:
    error = refusal(lambda: parse_money("10 000 000 €"))
    assert error.display_values("fr") == {"maximum": f"1{NBSP}000{NBSP}000"}
    error = refusal(lambda: clean_text("x" * 5000))
    assert error.display_values("en") == {"maximum": "4,000", "length": "5,000"}
    assert ParseError("parse.too_many_decimals", places=2).display_values("fr") == {"places": "2"}


def test_the_catalog_keys_are_documented_in_the_module() -> None:
    import reports.rules.reading

    doc = reports.rules.reading.__doc__ or ""
    assert all(f"`{key}`" in doc for key in KEYS)


REFUSAL_VALUES: dict[str, dict[str, object]] = {
    "parse.too_small": {"minimum": Decimal("0.01")},
    "parse.too_large": {"maximum": Decimal("1000000")},
    "parse.too_many_decimals": {"places": 2},
    "parse.too_long": {"maximum": 4000, "length": 4097},
    "parse.duration_too_long": {"maximum": Decimal(24)},
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_refusal_has_a_message_in_each_language(language: str) -> None:
    texts = catalog(language)
    if not any(key.startswith("parse.") for key in texts):
        pytest.skip("the [parse] section is not in the catalogs yet")
    for key in KEYS:
        values = ParseError(key, **REFUSAL_VALUES.get(key, {})).display_values(language)
        assert key in texts, f"{key} missing from {language}.toml"
        fields = {name for _, name, _, _ in string.Formatter().parse(texts[key]) if name}
        assert fields <= set(values), f"{key} in {language}.toml uses unknown {fields}"
        assert not re.search(r"\{\w+\}", texts[key].format(**values))
