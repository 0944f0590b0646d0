"""Technological cards over HTTP: import a DOCX as a diagram, deploy it, walk a case, export the card."""

import io
import json

import docx

from marshrut.engine import tech_card, users
from tests import card_docs
from tests.api.conftest import problem
from tests.conftest import kyiv

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def upload(card: bytes, key: str, name: str | None = None) -> dict:
    data = {"file": (io.BytesIO(card), "card.docx"), "process_key": key}
    return data | ({"name": name} if name else {})


def test_an_analyst_imports_a_new_services_card_deploys_it_and_staff_walk_a_case_to_the_end(http, db):
    analyst = http.as_("analyst")
    answer = analyst.post("/tech-cards/import", 200, data=upload(card_docs.certificate_card(), "family_certificate",
                                                                  "Видача довідки про склад сім’ї"),
                          content_type="multipart/form-data").json
    assert set(answer["new_roles"]) == {"tsentr_nadannia_administratyvnykh_posluh", "zastupnyk_miskoho_holovy_diialnosti"}
    assert len(answer["warnings"]) == 2 and "start" in answer["forms"]
    files = [(io.BytesIO(json.dumps(schema).encode()), f"{task}.json") for task, schema in answer["forms"].items()]
    deployed = analyst.post("/process-definitions", 201, data={"file": (io.BytesIO(answer["bpmn"].encode()), "fc.bpmn"),
                                                              "files": files},
                            content_type="multipart/form-data").json
    assert (deployed["key"], deployed["version"]) == ("family_certificate", 1)
    with db.unit_of_work() as uow:  # the administrator gives the new units' roles to their staff
        for role in answer["new_roles"]:
            users.create_user(uow, role, [role], kyiv("2026-01-05 09:00"), token=f"token-{role}")
        uow.commit()

    card = http.as_("programs_dept").get("/process-definitions/family_certificate").json
    assert card["name"] == "Видача довідки про склад сім’ї" and (card["target_days"], card["legal_days"]) == (5, 10)
    case = http.as_("intake").start("family_certificate", {
        "surname": "Коваленко", "first_name": "Ольга", "request": "Довідка про склад сім’ї", "personal_data_consent": True})
    for step in card["steps"]:
        staff = http.as_(step["role"])
        task = staff.task_in(case["id"], step["element_id"])
        data = {"approved": True, "resolution": "Затверджено"} if step["action"] == "З" else {"done": True}
        staff.complete(task["id"], data)
    assert http.as_("manager").instance(case["id"])["status"] == "completed"


def test_a_card_that_cannot_be_read_is_a_422_naming_the_problem_and_only_analysts_import(http):
    body = problem(http.as_("analyst").post("/tech-cards/import", 422, data=upload(card_docs.unreadable_card(), "x_card"),
                                            content_type="multipart/form-data"), 422)
    assert body["errors"][0]["path"] == "file" and "Етапи послуги" in body["errors"][0]["message"]
    body = problem(http.as_("analyst").post("/tech-cards/import", 422, data=upload(card_docs.seed_card(), "Bad Key"),
                                            content_type="multipart/form-data"), 422)
    assert body["errors"][0]["path"] == "process_key"
    http.as_("programs_dept").post("/tech-cards/import", 403, data=upload(card_docs.seed_card(), "aid_card"),
                                   content_type="multipart/form-data")


def test_the_address_aid_card_is_exported_in_the_seeds_layout(api):
    response = api.as_("programs_dept").get("/process-definitions/address_aid/card.docx")
    assert response.mimetype == DOCX
    assert "attachment" in response.headers["Content-Disposition"]
    table = docx.Document(io.BytesIO(response.data)).tables[0]
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0][1] == "Етапи послуги" and rows[1] == ["1", "2", "3", "4", "5"]
    body = rows[2:-2]
    assert len(body) == 13
    assert body[0][2:] == ["Відділ реалізації міських соціальних програм", "В", "Протягом 1 дня"]
    assert body[2][4] == "Протягом 3-4 днів"
    assert body[10][1].startswith("Фіксація рішення виконавчого комітету") and body[10][4] == "1 та 3 середа місяця"
    assert body[11][2] == "Начальник відділу бухгалтерського обліку і звітності\nНачальник відділу реалізації міських соціальних програм"
    assert (body[11][3], body[11][4]) == ("В\nУ", "Протягом 20 днів")
    assert rows[-2][-1] == "20" and rows[-1][-1] == "30" and "законодавством" in rows[-1][0]


def test_an_exported_card_imports_back_to_the_same_stages(api):
    exported = api.as_("programs_dept").get("/process-definitions/address_aid/card.docx").data
    card = tech_card.parse_docx(exported)
    assert len(card.rows) == 13 and (card.target_days, card.legal_days) == (20, 30)
    assert [row.units[0][1] for row in card.rows] == ["В", "В", "В", "В", "П", "В", "В", "В", "В", "В", "У", "В", "В"]
    assert card.rows[10].committee
    again = api.as_("analyst").post("/tech-cards/import", 200, data=upload(exported, "address_aid_copy"),
                                    content_type="multipart/form-data").json
    assert again["new_roles"] == {}
