"""Reading technological cards from DOCX: seed 004's card and cards of other services."""

import pytest

from marshrut.engine import card_to_bpmn, tech_card
from marshrut.engine.errors import InvalidInput
from tests import card_docs


def test_the_seed_card_gives_thirteen_stages_in_order_with_units_actions_and_terms():
    card = tech_card.parse_docx(card_docs.seed_card())
    assert card.title.startswith("надання адресних соціальних допомог")
    assert (card.target_days, card.legal_days) == (20, 30)
    assert len(card.rows) == 13
    first, register, resolution = card.rows[0], card.rows[2], card.rows[4]
    assert first.units == [("Відділ реалізації міських соціальних програм", "В")]
    assert (first.days, first.days_min) == (1, None)
    assert register.units == [("Управління звернень та діловодства Житомирської міської ради", "В")]
    assert (register.days_min, register.days) == (3, 4)
    assert resolution.units[0][1] == "П" and (resolution.days_min, resolution.days) == (1, 2)
    assert card.rows[5].days == 1  # "Протягом \n\n1дня"
    assert card.rows[10].committee and card.rows[10].units[0][1] == "У"
    assert card.rows[11].units == [("Начальник відділу реалізації міських соціальних програм", "У"),
                                   ("Начальник відділу бухгалтерського обліку і звітності", "В")]
    assert card.legend["З"] == "затверджує"  # the legend's digit "3" read as the letter


def test_the_card_table_is_found_after_the_information_cards_table():
    card = tech_card.parse_docx(card_docs.seed_card(information_card=True))
    assert len(card.rows) == 13 and (card.target_days, card.legal_days) == (20, 30)


def test_the_seed_card_units_map_to_the_projects_roles_despite_typos_and_truncation():
    card = tech_card.parse_docx(card_docs.seed_card())
    roles = [card_to_bpmn.match_role(unit) for row in card.rows for unit, _action in row.units]
    assert roles == ["programs_dept", "programs_dept", "appeals_office", "org_specialist", "director", "org_specialist",
                     "programs_deputy", "programs_deputy", "programs_deputy", "programs_head", "programs_head",
                     "programs_head", "accounting_head", "programs_dept"]


def test_a_stage_merged_over_two_rows_and_latin_action_letters_are_read():
    card = tech_card.parse_docx(card_docs.housing_card())
    assert [row.stage for row in card.rows] == [
        "Прийом заяви та декларації про доходи", "Перевірка доходів за даними ДПС і ПФУ",
        "Погодження розрахунку субсидії", "Повідомлення заявника про призначення субсидії"]
    assert card.rows[0].units == [("Сектор житлових субсидій", "В")]  # Latin B
    assert card.rows[1].units == [("Сектор житлових субсидій", "В"), ("Відділ реалізації міських соціальних програм", "У")]
    assert card.rows[2].units[0][1] == "П"  # Latin P
    assert (card.target_days, card.legal_days) == (10, 10)


def test_a_card_without_number_column_and_a_same_day_stage():
    card = tech_card.parse_docx(card_docs.certificate_card())
    assert len(card.rows) == 4
    assert card.rows[0].days == 0 and card.rows[0].immediate
    assert card.rows[2].units == [("Заступник міського голови з питань діяльності виконавчих органів", "З")]
    assert (card.target_days, card.legal_days) == (5, 10)


def test_latin_lookalikes_inside_cyrillic_words_are_replaced():
    assert tech_card.fix_lookalikes("Bідділ cоціальних прогpам OK") == "Відділ соціальних програм OK"


@pytest.mark.parametrize("data, path, words", [
    (b"not a docx", "file", "DOCX"),
    (card_docs.unreadable_card(), "file", "Етапи послуги"),
    (card_docs.build("x", card_docs.HEADER, [["1.", "Етап", "Відділ", "Q", "1 день"]], []), "table/row/3", "невідома дія"),
    (card_docs.build("x", card_docs.HEADER, [["1.", "Етап", "Відділ", "В", "коли зможемо"]], []), "table/row/3", "строк"),
    (card_docs.build("x", card_docs.HEADER, [["1.", "Етап", "Відділ А", "В\nУ", "1 день"]], []), "table/row/3", "підрозділ"),
])
def test_a_card_that_cannot_be_read_is_refused_naming_what_to_fix(data, path, words):
    with pytest.raises(InvalidInput) as caught:
        tech_card.parse_docx(data)
    assert caught.value.errors[0].path == path
    assert words in caught.value.errors[0].message


def test_new_units_get_transliterated_role_keys_listed_in_warnings():
    generated = card_to_bpmn.generate(tech_card.parse_docx(card_docs.certificate_card()), "family_certificate")
    assert generated.new_roles == {
        "tsentr_nadannia_administratyvnykh_posluh": "Центр надання адміністративних послуг",
        "zastupnyk_miskoho_holovy_diialnosti": "Заступник міського голови з питань діяльності виконавчих органів",
    }
    assert any("tsentr_nadannia_administratyvnykh_posluh" in w for w in generated.warnings)


def test_a_bad_process_key_is_refused():
    with pytest.raises(ValueError):
        card_to_bpmn.generate(tech_card.parse_docx(card_docs.certificate_card()), "Bad Key")


def test_the_process_name_is_the_services_name_or_the_one_given_cut_to_fit():
    card = tech_card.parse_docx(card_docs.certificate_card())
    assert 'name="Видача довідки про склад сім’ї"' in card_to_bpmn.generate(card, "family_certificate").bpmn
    assert f'name="{"Я" * 200}"' in card_to_bpmn.generate(card, "family_certificate", "Я" * 1000).bpmn
