"""Reference data shipped in reference/ (SPEC §3.4): catalogue, providers, circumstances, contacts."""

import json
import re
from pathlib import Path

import pytest

from marshrut.engine import reference

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_directory_is_the_shipped_reference_folder():
    assert reference.DEFAULT_DIRECTORY == (ROOT / "reference").resolve()


def test_the_catalogue_has_24_services_numbered_1_to_24():
    assert [service["code"] for service in reference.services()] == list(range(1, 25))
    assert reference.service_codes() == list(range(1, 25))


def test_every_service_has_a_name_and_a_content():
    for service in reference.services():
        assert isinstance(service["code"], int)
        assert service["name"].strip(), service["code"]
        assert service["content"].strip(), service["code"]


def test_service_texts_are_whitespace_normalised():
    for service in reference.services():
        for field in ("name", "content"):
            text = service[field]
            assert text == text.strip()
            assert "  " not in text and "\n" not in text and "\t" not in text
            assert "[bookmark" not in text


def test_the_catalogue_names_match_the_seed_at_both_ends():
    services = reference.services()
    assert services[0]["name"] == "Інформування"
    assert services[10]["name"] == "Екстрене (кризове) втручання"
    assert services[23]["name"].startswith("Комплексна соціальна послуга з формування життєстійкості")


def test_every_provider_id_referenced_by_a_service_exists():
    ids = set(reference.provider_ids())
    for service in reference.services():
        assert set(service["providers"]) <= ids, service["code"]


def test_every_service_names_its_providers_or_is_open_to_all_registered_providers():
    for service in reference.services():
        assert service["providers"] or service["all_registered_providers"], service["code"]
        assert reference.service_provider_ids(service["code"]), service["code"]


def test_the_catalogue_providers_are_the_ones_in_the_seed():
    by_code = {service["code"]: service["providers"] for service in reference.services()}
    assert by_code[1] == ["territorial_center", "social_services_center", "myloserdia"]
    assert by_code[13] == ["territorial_center", "home_care_individuals"]
    assert by_code[18] == ["utog"]
    assert by_code[23] == ["caritas_zhytomyr"]
    assert by_code[24] == []


def test_provider_ids_are_unique_ascii_slugs():
    ids = reference.provider_ids()
    assert len(ids) == len(set(ids))
    for provider_id in ids:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", provider_id)


def test_every_provider_has_a_name_a_sector_and_its_sources():
    for provider in reference.providers():
        assert provider["name"].strip() and provider["short_name"].strip()
        assert provider["sector"] in ("communal", "non_governmental", None)
        assert provider["kind"] in ("department", "provider")
        assert isinstance(provider["phones"], list)
        assert provider["source"] and set(provider["source"]) <= {"000", "001", "002", "003", "004"}


def test_the_department_is_listed_with_the_transparent_office_and_the_hotline():
    department = reference.provider("social_policy_department")
    assert department["name"] == "Департамент соціальної політики Житомирської міської ради"
    assert "Польова, 8" in department["address"] and "Прозорий офіс" in department["address"]
    assert "0500226967" in department["phones"]


def test_phones_are_ten_digit_national_numbers():
    for provider in reference.providers():
        for phone in provider["phones"]:
            assert re.fullmatch(r"0[0-9]{9}", phone), (provider["id"], phone)


def test_circumstances_are_not_empty_and_have_unique_codes():
    circumstances = reference.circumstances()
    assert len(circumstances) == 26  # seed 002's 20 and six the law lists that the catalogue serves
    codes = [item["code"] for item in circumstances]
    assert len(codes) == len(set(codes))
    for item in circumstances:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", item["code"])
        assert item["name"].strip()


def test_the_hotline_is_shown_to_the_applicant():
    contacts = reference.contacts()
    assert contacts["hotline"]["number"] == "0500226967"
    assert contacts["portal"]["url"] == "https://soc.gov.ua"


def test_the_address_aid_office_is_shown_with_its_phone_and_email():
    offices = {office["id"]: office for office in reference.contacts()["offices"]}
    office = offices["address_aid_acceptance"]
    assert "Корольова, буд. 7, каб. 1" in office["address"]
    assert office["phones"][0]["display"] == "(0412) 47-09-17"
    assert office["email"] == "upszn@zt-rada.gov.ua"
    assert "Польова, 8" in offices["transparent_office"]["address"]


def test_callers_get_copies_they_may_change_freely():
    first = reference.services()
    first[0]["name"] = "змінено"
    first.clear()
    assert reference.services()[0]["name"] == "Інформування"


def test_another_directory_can_be_read(tmp_path):
    (tmp_path / "services.json").write_text(
        json.dumps([{"code": 7, "name": "n", "content": "c", "providers": []}]), encoding="utf-8"
    )
    assert reference.service_codes(tmp_path) == [7]
    assert reference.service_codes() == list(range(1, 25))


def test_an_unknown_code_or_id_gives_none():
    assert reference.service(99) is None
    assert reference.provider("nobody") is None
    assert reference.service_provider_ids(99) == []


@pytest.mark.parametrize("name", ["services.json", "providers.json", "circumstances.json", "contacts.json"])
def test_reference_files_are_pretty_printed_utf8_without_ascii_escapes(name):
    text = (ROOT / "reference" / name).read_text(encoding="utf-8")
    assert "\\u04" not in text
    assert text.startswith(("[\n  ", "{\n  "))


def test_circumstances_name_their_source_and_the_law_s_categories_the_catalogue_serves_are_there():
    # Issue 12 item 12: old age, disability, homelessness, incurable illness (Law "On social services", art. 1).
    by_code = {item["code"]: item for item in reference.circumstances()}
    for code in ("old_age", "disability", "homelessness", "incurable_or_long_illness", "child_abuse"):
        assert "2671-VIII" in by_code[code]["source"]
    assert all(item["source"].strip() for item in by_code.values())
    assert {code for code, item in by_code.items() if item.get("no_refusal")} == {"domestic_or_gender_violence", "child_abuse"}


def test_seed_002_s_three_extra_services_of_the_city_centre_are_noted_against_the_2025_catalogue():
    # Issue 12 item 13: seed 002 lists посередництво, соціальна адаптація, соціальна інтеграція for the centre.
    for code in (3, 10, 12):
        item = reference.service(code)
        assert "social_services_center" not in item["providers"]
        assert "Seed 002" in item["providers_note"] and "seed 001" in item["providers_note"]
