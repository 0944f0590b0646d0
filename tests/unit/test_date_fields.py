"""Date fields read and show дд.мм.рррр whatever the browser's language (issue 13, item 9)."""

from werkzeug.datastructures import MultiDict

from marshrut.ui.forms import fields, parse

SCHEMA = {"type": "object", "properties": {"decision_date": {"type": "string", "format": "date", "title": "Дата рішення"}}}


def test_a_date_typed_the_ukrainian_way_is_stored_as_iso_and_shown_back_the_same_way():
    data, notes = parse(SCHEMA, MultiDict({"decision_date": "18.02.2026"}))
    assert data == {"decision_date": "2026-02-18"} and notes == {}
    assert parse(SCHEMA, MultiDict({"decision_date": "2026-02-18"}))[0] == {"decision_date": "2026-02-18"}
    assert fields(SCHEMA, data)[0].value == "18.02.2026"


def test_a_date_that_is_not_one_is_left_for_the_engine_with_a_plain_note():
    data, notes = parse(SCHEMA, MultiDict({"decision_date": "31.02.2026"}))
    assert data == {"decision_date": "31.02.2026"}
    assert notes == {"/decision_date": "Введіть дату у форматі дд.мм.рррр"}
