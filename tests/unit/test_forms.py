"""JSON Schema forms in forms/ (SPEC §4, §6): valid Draft 2020-12, the fixed fields and their rules."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from marshrut.engine import reference
from marshrut.engine.forms import FORMAT_CHECKER

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"
BPMN = ROOT / "bpmn"
ALL_FORMS = sorted(FORMS.glob("**/*.json"))
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def load(process: str, task: str) -> dict:
    return json.loads((FORMS / process / f"{task}.json").read_text(encoding="utf-8"))


def validator(process: str, task: str) -> Draft202012Validator:
    return Draft202012Validator(load(process, task), format_checker=FORMAT_CHECKER)  # the engine's formats (iban)


def problems(process: str, task: str, data: dict) -> list[str]:
    return [error.message for error in validator(process, task).iter_errors(data)]


def accepts(process: str, task: str, data: dict) -> bool:
    return not problems(process, task, data)


def enum_values(field: dict) -> list:
    """The allowed values of an enum field, whether written as `enum` or as `oneOf` of consts."""
    if "enum" in field:
        return list(field["enum"])
    return [option["const"] for option in field["oneOf"]]


ADDRESS_AID_APPLICATION = {
    "surname": "Коваленко",
    "first_name": "Олена",
    "patronymic": "Петрівна",
    "address": "вул. Велика Бердичівська, 10, кв. 5",
    "phone": "+38 (067) 123-45-67",
    "rnokpp": "1234567890",
    "iban": "UA213223130000026007233566001",
    "channel": "in_person",
    "sheets": 5,
    "request": "надати адресну соціальну допомогу у зв’язку з оперативним лікуванням",
    "reason": "surgery",
    "documents": [
        "Довідка про склад сім’ї",
        "Довідка про доходи всіх членів сім’ї за останні 3 місяці",
        "Копія паспорта та ідентифікаційного номера",
    ],
    "family_members": 3,
    "total_income_3m": 18000,
    "able_bodied_not_working": False,
    "obligation_to_report_changes": True,
    "personal_data_consent": True,
}

ROADMAP_APPLICATION = {
    "surname": "Шевчук",
    "first_name": "Іван",
    "birth_date": "1958-04-12",
    "id_document": "ВК123456",
    "address": "м. Житомир, вул. Київська, 1",
    "phone": "0500000000",
    "channel": "in_person",
    "circumstances": ["financial_hardship"],
    "situation_description": "Потребує догляду вдома після інсульту.",
    "crisis": False,
    "violence_or_threat": False,
    "documents": ["Паспорт/ID картка", "РНОКПП"],
    "personal_data_consent": True,
}


# --- every form --------------------------------------------------------------


def test_there_are_forms_for_all_three_processes():
    assert {path.parent.name for path in ALL_FORMS} >= {
        "address_aid",
        "social_services_roadmap",
        "needs_assessment_plan",
    }


@pytest.mark.parametrize("path", ALL_FORMS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_every_form_is_a_valid_draft_2020_12_schema(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", ALL_FORMS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_every_form_is_a_closed_object_with_titles_and_a_required_list(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["title"].strip() and schema["description"].strip()
    assert set(schema["required"]) <= set(schema["properties"])
    for name, field in schema["properties"].items():
        assert field.get("title", "").strip(), name


@pytest.mark.parametrize("path", ALL_FORMS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_every_labelled_choice_is_a_const_with_a_title(path):
    def walk(node):
        if isinstance(node, dict):
            for option in node.get("oneOf", []):
                assert "const" in option and option["title"].strip()
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(path.read_text(encoding="utf-8")))


# --- address aid ---------------------------------------------------------------


def test_the_address_aid_application_accepts_a_complete_valid_example():
    assert problems("address_aid", "start", ADDRESS_AID_APPLICATION) == []


def test_the_address_aid_application_refuses_withheld_personal_data_consent():
    assert not accepts("address_aid", "start", {**ADDRESS_AID_APPLICATION, "personal_data_consent": False})
    without = {k: v for k, v in ADDRESS_AID_APPLICATION.items() if k != "personal_data_consent"}
    assert not accepts("address_aid", "start", without)


def test_the_address_aid_application_requires_the_obligation_to_report_changes():
    assert not accepts("address_aid", "start", {**ADDRESS_AID_APPLICATION, "obligation_to_report_changes": False})


@pytest.mark.parametrize("phone", ["0500226967", "+380500226967", "(0412) 47-09-17", "+38 (050) 022-69-67"])
def test_the_address_aid_application_accepts_ukrainian_phone_numbers(phone):
    assert accepts("address_aid", "start", {**ADDRESS_AID_APPLICATION, "phone": phone})


@pytest.mark.parametrize("phone", ["12345", "телефон", "050-12"])
def test_the_address_aid_application_refuses_what_is_not_a_phone_number(phone):
    assert not accepts("address_aid", "start", {**ADDRESS_AID_APPLICATION, "phone": phone})


@pytest.mark.parametrize(
    "change",
    [
        {"rnokpp": "12345"},
        {"family_members": 0},
        {"total_income_3m": -1},
        {"documents": ["Довідка про склад сім’ї", "Довідка про склад сім’ї"]},
        {"reason": "boredom"},
        {"unexpected": 1},
    ],
)
def test_the_address_aid_application_refuses_bad_figures_and_unknown_fields(change):
    assert not accepts("address_aid", "start", {**ADDRESS_AID_APPLICATION, **change})


def test_accept_documents_requires_missing_documents_when_the_package_is_incomplete():
    assert not accepts("address_aid", "accept_documents", {"package_complete": False})
    assert not accepts("address_aid", "accept_documents", {"package_complete": False, "missing_documents": []})
    assert accepts(
        "address_aid",
        "accept_documents",
        {"package_complete": False, "missing_documents": ["Довідка про склад сім’ї"]},
    )


def test_accept_documents_needs_nothing_more_when_the_package_is_complete():
    assert accepts("address_aid", "accept_documents", {"package_complete": True})
    assert not accepts("address_aid", "accept_documents", {})


def test_the_documents_checklist_covers_the_card_and_the_application_form():
    # The lists are offered as options (x-options); staff may also type a document not on them.
    checklist = load("address_aid", "accept_documents")["properties"]["missing_documents"]["x-options"]
    attached = load("address_aid", "start")["properties"]["documents"]["x-options"]
    assert "Заява за формою встановленого зразка" in checklist
    assert set(attached) <= set(checklist)


def test_record_committee_decision_requires_the_decision_number_and_date():
    assert not accepts("address_aid", "record_committee_decision", {"decision": "refused"})
    assert not accepts(
        "address_aid", "record_committee_decision", {"decision": "refused", "decision_number": "123"}
    )
    assert accepts(
        "address_aid",
        "record_committee_decision",
        {"decision": "refused", "decision_number": "123", "decision_date": "2026-02-18", "refusal_ground": "not_working"},
    )


# Issue 12 item 9: a refusal needs its ground (card item 13); "other" is stated in words.
REFUSED = {"decision": "refused", "decision_number": "124", "decision_date": "2026-02-18"}


@pytest.mark.parametrize(
    ("extra", "accepted"),
    [
        ({}, False),  # was accepted: a refusal without a ground
        ({"refusal_ground": "not_working"}, True),
        ({"refusal_ground": "income_above_line"}, True),
        ({"refusal_ground": "other"}, False),
        ({"refusal_ground": "other", "refusal_ground_text": "   "}, False),
        ({"refusal_ground": "other", "refusal_ground_text": "Подано недостовірні відомості"}, True),
        ({"refusal_ground": "income_above_limit"}, False),  # the old code is gone
    ],
)
def test_a_committee_refusal_needs_its_ground(extra, accepted):
    assert accepts("address_aid", "record_committee_decision", {**REFUSED, **extra}) is accepted


def test_a_grant_carries_no_refusal_ground():
    granted = {"decision": "granted", "decision_number": "123", "decision_date": "2026-02-18", "aid_amount": 2000}
    assert not accepts("address_aid", "record_committee_decision", {**granted, "refusal_ground": "not_working"})


# Issue 12 items 8 and 13: the hardship reason, sheets, channel and IBAN of the application.
@pytest.mark.parametrize("field", ["reason", "sheets", "channel", "iban"])
def test_the_address_aid_application_requires(field):
    data = {k: v for k, v in ADDRESS_AID_APPLICATION.items() if k != field}
    assert not accepts("address_aid", "start", data)


@pytest.mark.parametrize(
    ("iban", "accepted"),
    [
        ("UA213223130000026007233566001", True),  # the Ukrainian example of the IBAN registry
        ("UA213223130000026007233566002", False),  # one digit changed: the checksum fails
        ("UA123223130000026007233566001", False),  # wrong check digits
        ("UA21322313000002600723356600", False),  # 28 characters
        ("UA21 3223 1300 0002 6007 2335 6600 1", False),  # spaces are not stored
        ("DE89370400440532013000", False),  # a valid German IBAN is not a Ukrainian account
        ("ua213223130000026007233566001", False),
    ],
)
def test_the_iban_is_a_ukrainian_account_with_a_valid_checksum(iban, accepted):
    assert accepts("address_aid", "start", {**ADDRESS_AID_APPLICATION, "iban": iban}) is accepted


def test_the_iban_format_checks_the_mod_97_checksum_for_any_country():
    from marshrut.engine.forms import is_iban
    assert is_iban("DE89370400440532013000") and is_iban("GB82WEST12345698765432")
    assert not is_iban("DE89370400440532013001") and not is_iban("GB82WEST1234569876543Z")


@pytest.mark.parametrize(("sheets", "accepted"), [(1, True), (500, True), (0, False), (501, False), (2.5, False)])
def test_the_number_of_sheets_is_a_whole_number_from_1(sheets, accepted):
    assert accepts("address_aid", "start", {**ADDRESS_AID_APPLICATION, "sheets": sheets}) is accepted


def test_an_application_through_a_representative_names_the_representative():
    data = {**ADDRESS_AID_APPLICATION, "channel": "representative"}
    assert not accepts("address_aid", "start", data)
    assert accepts("address_aid", "start", {**data, "representative": "Коваленко Петро Іванович, син"})
    assert not accepts("address_aid", "start", {**ADDRESS_AID_APPLICATION, "channel": "portal"})


def test_record_committee_decision_requires_the_amount_when_granted():
    granted = {"decision": "granted", "decision_number": "123", "decision_date": "2026-02-18"}
    assert not accepts("address_aid", "record_committee_decision", granted)
    assert accepts("address_aid", "record_committee_decision", {**granted, "aid_amount": 2000})


def test_record_committee_decision_checks_the_date_format():
    data = {"decision": "refused", "decision_number": "1", "decision_date": "18.02.2026"}
    assert not accepts("address_aid", "record_committee_decision", data)


def test_the_director_records_approval_and_the_resolution_text():
    assert not accepts("address_aid", "director_resolution", {"approved": True})
    assert accepts("address_aid", "director_resolution", {"approved": True, "resolution": "До виконання"})


# --- social services roadmap ------------------------------------------------------


def test_the_roadmap_application_accepts_a_complete_valid_example():
    assert problems("social_services_roadmap", "start", ROADMAP_APPLICATION) == []


def test_the_roadmap_application_requires_the_crisis_and_violence_flags():
    for flag in ("crisis", "violence_or_threat"):
        without = {k: v for k, v in ROADMAP_APPLICATION.items() if k != flag}
        assert not accepts("social_services_roadmap", "start", without)


def test_the_roadmap_application_needs_at_least_one_known_circumstance():
    assert not accepts("social_services_roadmap", "start", {**ROADMAP_APPLICATION, "circumstances": []})
    assert not accepts("social_services_roadmap", "start", {**ROADMAP_APPLICATION, "circumstances": ["bored"]})


def test_the_roadmap_circumstances_are_the_reference_circumstances():
    field = load("social_services_roadmap", "start")["properties"]["circumstances"]["items"]
    assert enum_values(field) == reference.circumstance_codes()


def test_decide_refuses_provide_without_services():
    base = {"decision": "provide", "decision_date": "2026-02-10"}
    assert not accepts("social_services_roadmap", "decide", base)
    assert not accepts("social_services_roadmap", "decide", {**base, "services": []})


def test_decide_accepts_catalogue_codes_1_and_5_each_with_a_provider_that_offers_it():
    data = {"decision": "provide", "decision_date": "2026-02-10", "services": [1, 5],
            "providers": {"1": "territorial_center", "5": "myloserdia"}}
    assert accepts("social_services_roadmap", "decide", data)


@pytest.mark.parametrize(
    ("providers", "why"),
    [
        (None, "no providers at all"),
        ({"1": "territorial_center"}, "service 5 has no provider"),
        ({"1": "territorial_center", "5": "utog"}, "the sign-language society does not run the night shelter"),
        ({"1": "territorial_center", "5": "myloserdia", "13": "territorial_center"}, "a provider for a service not chosen"),
        ({"1": "territorial_center", "5": "nobody"}, "an unknown provider"),
    ],
)
def test_decide_refuses_a_provider_the_catalogue_does_not_give_for_the_service(providers, why):
    # Issue 12 item 4: a night shelter (5) "delivered" by the sign-language society (utog).
    data = {"decision": "provide", "decision_date": "2026-02-10", "services": [1, 5]}
    if providers is not None:
        data["providers"] = providers
    assert not accepts("social_services_roadmap", "decide", data), why


def test_decide_s_provider_rules_are_the_catalogue_s():
    rules = {r["x-catalogue"]: r for r in load("social_services_roadmap", "decide")["allOf"] if "x-catalogue" in r}
    assert sorted(rules) == reference.service_codes()
    for code, rule in rules.items():
        allowed = rule["then"]["properties"]["providers"]["properties"][str(code)]["enum"]
        assert allowed == reference.service_provider_ids(code), code


def test_decide_refuses_codes_outside_the_catalogue():
    data = {"decision": "provide", "decision_date": "2026-02-10", "services": [25]}
    assert not accepts("social_services_roadmap", "decide", data)


def test_decide_requires_a_reason_for_refusal():
    base = {"decision": "refuse", "decision_date": "2026-02-10"}
    assert not accepts("social_services_roadmap", "decide", base)
    assert accepts("social_services_roadmap", "decide", {**base, "refusal_reason": "Немає підстав"})


def test_every_service_code_enum_equals_the_catalogue_codes():
    for task, field in (("decide", "services"), ("assess_needs", "recommended_services")):
        items = load("social_services_roadmap", task)["properties"][field]["items"]
        assert enum_values(items) == reference.service_codes(), task


def test_provider_enums_are_reference_provider_ids():
    known = set(reference.provider_ids())
    for task, field in (("register_application", "assessment_provider"),):
        values = enum_values(load("social_services_roadmap", task)["properties"][field])
        assert values and set(values) <= known, task


def test_deliver_service_has_no_field_that_would_overwrite_the_service_variable():
    properties = load("social_services_roadmap", "deliver_service")["properties"]
    assert "service" not in properties and "services" not in properties
    assert "provider_id" not in properties  # the decision names the provider; the branch is bound to it


# --- needs-assessment plan ----------------------------------------------------------


def test_the_plan_year_is_one_of_2025_to_2027():
    assert accepts("needs_assessment_plan", "start", {"year": 2026})
    assert not accepts("needs_assessment_plan", "start", {"year": 2028})
    assert not accepts("needs_assessment_plan", "start", {})


def plan_task_forms() -> list[Path]:
    return [path for path in sorted((FORMS / "needs_assessment_plan").glob("*.json")) if path.stem != "start"]


def test_every_plan_measure_records_a_result():
    paths = plan_task_forms()
    assert len(paths) == 10
    for path in paths:
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["required"] == ["result"], path.stem
        check = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        assert check.is_valid({"result": "Виконано", "completed_on": "2026-12-01"})
        assert not check.is_valid({"completed_on": "2026-12-01"})


# --- forms match the diagrams ---------------------------------------------------------


def user_task_ids(diagram: Path) -> list[str]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    tree = etree.parse(str(diagram), parser)
    return tree.xpath("//bpmn:userTask/@id", namespaces={"bpmn": BPMN_NS})


@pytest.mark.parametrize("process", ["address_aid", "social_services_roadmap", "needs_assessment_plan"])
def test_every_user_task_of_a_shipped_diagram_has_a_form(process):
    diagram = BPMN / f"{process}.bpmn"
    if not diagram.exists():
        pytest.skip(f"{diagram.name} is not in bpmn/ yet")
    for task_id in user_task_ids(diagram):
        assert (FORMS / process / f"{task_id}.json").exists(), f"forms/{process}/{task_id}.json is missing"
