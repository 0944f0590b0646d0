"""Finding a case by number, applicant's surname or first name, or РНОКПП (SPEC §6.1 ``q``)."""

from typing import Any

from marshrut.engine.models import AuditEvent
from tests.api.conftest import Http, count_rows
from tests.walks import APPLICATION


def register(api: Http, **person: Any) -> dict[str, Any]:
    return api.as_("programs_dept").start("address_aid", {**APPLICATION, **person})


def found(api: Http, q: str, role: str = "programs_dept") -> list[str]:
    return [i["number"] for i in api.as_(role).get("/process-instances", query={"q": q}).json["items"]]


def test_a_case_is_found_by_surname_prefix_in_any_case_and_by_first_name(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    bondarenko = register(api, surname="Бондаренко", first_name="Олена", patronymic="Петрівна")["number"]
    bondar = register(api, surname="Бондар", first_name="Іван")["number"]
    register(api, surname="Коваль", first_name="Олег")

    assert found(api, "бонд") == [bondar, bondarenko]
    assert found(api, "БОНДАРЕНКО") == [bondarenko]
    assert found(api, "  Олен ") == [bondarenko]
    assert found(api, "Бондаренко Ол") == [bondarenko]
    assert found(api, "Шевченко") == []


def test_a_list_item_shows_the_applicant_by_surname_and_initials(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = register(api, surname="Бондаренко", first_name="Олена", patronymic="Петрівна")
    items = api.as_("programs_dept").get("/process-instances", query={"q": "Бондаренко"}).json["items"]
    assert items[0]["applicant"] == "Бондаренко О. П."
    task = api.as_("programs_dept").tasks(instance_id=case["id"])[0]
    assert task["applicant"] == "Бондаренко О. П."


def test_apostrophes_of_every_kind_are_the_same_letter(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    number = register(api, surname="Дем’яненко", first_name="Мар'яна")["number"]
    for q in ("Дем'ян", "демʼяненко", "Дем‘я", "мар’яна", "МАРʼЯ"):
        assert found(api, q) == [number], q


def test_a_case_is_found_by_number_prefix_and_by_rnokpp_exactly(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    first = register(api, rnokpp="1234567890")["number"]
    second = register(api, rnokpp="1234567891")["number"]
    assert first == "АД-2026-000001"
    assert found(api, "ад-2026-000001") == [first]
    assert found(api, "АД-2026") == [second, first]
    assert found(api, "1234567891") == [second]
    assert found(api, "123456789") == []


def test_search_shows_only_cases_the_caller_may_see_and_is_audited(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    register(api, surname="Бондаренко")
    assert found(api, "Бондаренко", role="director") == []
    assert len(found(api, "Бондаренко", role="manager")) == 1
    assert count_rows(api.client.application.extensions["marshrut"]["db"], AuditEvent, event="cases_searched") == 2


def test_a_query_longer_than_a_name_is_refused(api):
    api.as_("programs_dept").get("/process-instances", 422, query={"q": "б" * 101})


def test_the_task_list_finds_the_steps_of_the_cases_a_query_names(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    wanted = register(api, surname="Бондаренко")
    register(api, surname="Коваль")
    steps = api.as_("programs_dept").tasks(q="бондаренко")
    assert [(t["instance_id"], t["applicant"]) for t in steps] == [(wanted["id"], "Бондаренко М. І.")]
