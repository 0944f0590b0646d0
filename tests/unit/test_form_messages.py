"""Validation messages in Ukrainian that name the field by the form's own title (issue 13, item 3)."""

import json
import re

import pytest

from marshrut.engine.config import PROJECT_ROOT
from marshrut.engine.errors import InvalidInput
from marshrut.engine.forms import validate_form

FORMS = PROJECT_ROOT / "forms" / "address_aid"


def messages(form: str, data: dict) -> dict[str, str]:
    schema = json.loads((FORMS / f"{form}.json").read_text(encoding="utf-8"))
    with pytest.raises(InvalidInput) as refused:
        validate_form(schema, data)
    return {e.path: e.message for e in refused.value.errors}


def no_english(text: str) -> bool:
    return not re.search(r"\b(is|are|not|expected|greater|less|should|valid|required)\b", text)


def test_a_checked_document_list_on_a_complete_package_names_the_field_in_ukrainian():
    found = messages("accept_documents", {"package_complete": True, "missing_documents": ["Довідка про склад сім’ї"]})
    assert found == {"/missing_documents": "«Відсутні документи»: за цих умов має бути порожнім"}


def test_a_number_over_the_maximum_and_a_missing_field_say_so_with_the_title():
    found = messages("start", {"family_members": 51})
    assert found["/family_members"].endswith(": не більше 50")
    assert found["/surname"] == "«Прізвище»: обов’язкове поле"
    assert all(no_english(m) for m in found.values()), found


def test_wrong_types_formats_and_choices_are_told_in_ukrainian():
    found = messages("record_committee_decision", {"decision": "maybe", "decision_number": "", "decision_date": "18.02.2026",
                                                   "aid_amount": "багато", "surprise": 1})
    assert found["/decision"] == "«Рішення»: оберіть значення з переліку"
    assert found["/decision_date"] == "«Дата рішення»: потрібна дата у форматі РРРР-ММ-ДД"
    assert found["/aid_amount"] == "«Розмір допомоги, грн»: очікується число"
    assert found["/"] == "Зайві поля: surprise"
    assert all(no_english(m) for m in found.values()), found
