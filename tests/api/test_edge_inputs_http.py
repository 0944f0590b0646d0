"""Inputs at a parser's or a database's edge (SPEC §8): each is a clear 4xx and changes nothing.

Every case here answered 500 (or was silently changed) before: deep JSON, lone surrogates, NUL
characters, numbers beyond 64 bits, ``NaN``/``Infinity``, dates outside 2000–2100, strings and
lists longer than a form allows, a UTF-16 diagram, a very long flow, case numbers of two
processes whose keys share their first letters.
"""

import io
import json
from typing import Any

import pytest

from marshrut.engine.models import Definition, Instance
from tests.api.conftest import Http, count_rows, problem
from tests.api.test_errors_http import MINIMAL, multipart
from tests.walks import APPLICATION


@pytest.fixture
def case(api: Http) -> dict[str, Any]:
    api.set_clock("2026-02-02T10:00:00+02:00")
    return api.as_("programs_dept").start("address_aid", APPLICATION)


def raw_post(api: Http, path: str, body: str | bytes, role: str = "programs_dept"):
    return api.client.post(f"/api/v1{path}", data=body, content_type="application/json",
                           headers={"Authorization": f"Bearer token-{role}"})


def registration(data: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"process_key": "address_aid", "data": data if data is not None else dict(APPLICATION), **extra}


# JSON a parser chokes on -------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_thousands_deep_is_400_and_registers_nothing(api, db, depth):
    api.set_clock("2026-02-02T10:00:00+02:00")
    nested = "[" * depth + "]" * depth
    body = f'{{"process_key": "address_aid", "data": {{"surname": {nested}}}}}'
    problem(raw_post(api, "/process-instances", body), 400)
    assert count_rows(db, Instance) == 0


def test_json_nested_thousands_deep_in_a_completion_is_400_and_the_task_stays_ready(api, db, case):
    task = case["open_tasks"][0]["id"]
    nested = "{\"a\":" * 50_000 + "1" + "}" * 50_000
    problem(raw_post(api, f"/tasks/{task}/complete", f'{{"data": {nested}}}'), 400)
    assert api.as_("manager").get(f"/tasks/{task}").json["state"] == "ready"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_not_stored_as_null(api, db, literal):
    api.set_clock("2026-02-02T10:00:00+02:00")
    body = json.dumps(registration()).replace('"total_income_3m": ', f'"total_income_3m": {literal}, "_x": ', 1)
    response = raw_post(api, "/process-instances", body)
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    problem(response, response.status_code)
    assert count_rows(db, Instance) == 0


def test_a_lone_surrogate_in_a_field_is_422_naming_it(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    body = json.dumps(registration()).replace('"surname": "', '"surname": "\\ud800', 1)
    body_json = problem(raw_post(api, "/process-instances", body), 422)
    assert any("surname" in e["path"] for e in body_json["errors"]), body_json
    assert count_rows(db, Instance) == 0


def test_a_nul_character_in_a_field_is_422_naming_it(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    data = {**APPLICATION, "request": "допомога\u0000"}
    body = problem(api.as_("programs_dept").post("/process-instances", 422, json=registration(data)), 422)
    assert any("request" in e["path"] for e in body["errors"]), body
    assert count_rows(db, Instance) == 0


@pytest.mark.parametrize("number", [10**400, 2**63, -(2**63) - 1])
def test_an_integer_beyond_64_bits_is_422_naming_the_field(api, db, number):
    api.set_clock("2026-02-02T10:00:00+02:00")
    body = json.dumps(registration()).replace('"family_members": ', f'"family_members": {number}, "_x": ', 1)
    result = problem(raw_post(api, "/process-instances", body), 422)
    assert any("family_members" in e["path"] for e in result["errors"]), result
    assert count_rows(db, Instance) == 0


# Query strings and paths -------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    {"instance_id": "-99999999999999999999"}, {"instance_id": "99999999999999999999"},
    {"process_key": "address\u0000aid"}, {"role": "programs\u0000dept"}, {"state": "ready\u0000"},
])
def test_a_filter_beyond_a_column_or_with_nul_is_4xx(api, query):
    response = api.as_("manager").client.get("/api/v1/tasks", query_string=query,
                                              headers={"Authorization": "Bearer token-manager"})
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    problem(response, response.status_code)


@pytest.mark.parametrize("path", ["/process-definitions/address%00aid", "/process-definitions/address%00aid/xml",
                                  "/process-instances?process_key=a%00b", "/sla/summary?process_key=%00"])
def test_nul_in_a_path_or_query_is_4xx(api, path):
    response = api.client.get(f"/api/v1{path}", headers={"Authorization": "Bearer token-manager"})
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)


# Dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("received_at", ["0001-01-02T00:00:00+02:00", "1900-01-01T10:00:00+02:00",
                                         "1999-12-31T10:00:00+02:00", "2101-01-01T10:00:00+02:00",
                                         "9999-12-31T23:00:00+02:00"])
def test_a_receipt_date_outside_2000_2100_is_422_and_registers_nothing(api, db, received_at):
    api.set_clock("2026-02-02T10:00:00+02:00")
    body = problem(api.as_("programs_dept").post("/process-instances", 422, json=registration(received_at=received_at)), 422)
    assert any("received_at" in e["path"] for e in body["errors"]), body
    assert count_rows(db, Instance) == 0


@pytest.mark.parametrize("path", ["/sla/overdue", "/sla/summary"])
@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "1999-06-01T00:00:00+03:00"])
def test_a_moment_outside_2000_2100_is_422(api, path, at):
    response = api.as_("manager").get(path, 422, query={"at": at})
    problem(response, 422)


@pytest.mark.parametrize("now", ["9999-12-31T23:00:00+00:00", "0001-01-01T00:00:00+00:00", "2101-01-01T00:00:00+00:00"])
def test_the_controlled_clock_outside_2000_2100_is_422_and_the_service_keeps_answering(api, now):
    before = api.set_clock("2026-02-02T10:00:00+02:00")
    problem(api.as_("admin").put("/admin/clock", 422, json={"now": now}), 422)
    assert api.as_("manager").get("/sla/summary").json is not None
    assert api.as_("admin").put("/admin/clock", json={"now": "2026-02-03T10:00:00+02:00"}).json["now"] != before


# Bounds of forms ---------------------------------------------------------------------------------


def test_seven_megabytes_of_document_titles_are_refused(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    data = {**APPLICATION, "documents": ["Довідка " + str(i) * 20 for i in range(200_000)]}
    response = api.client.post("/api/v1/process-instances", json=registration(data),
                               headers={"Authorization": "Bearer token-programs_dept"})
    assert response.status_code in (413, 422), response.status_code
    assert count_rows(db, Instance) == 0


def test_a_list_longer_than_the_form_allows_is_422(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    data = {**APPLICATION, "documents": [f"Документ {i}" for i in range(1000)]}
    body = problem(api.as_("programs_dept").post("/process-instances", 422, json=registration(data)), 422)
    assert any("documents" in e["path"] for e in body["errors"]), body


def test_a_string_longer_than_the_form_allows_is_422(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    data = {**APPLICATION, "request": "я" * 100_000}
    body = problem(api.as_("programs_dept").post("/process-instances", 422, json=registration(data)), 422)
    assert any("request" in e["path"] for e in body["errors"]), body


def test_the_stored_application_equals_what_was_sent(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    sent = {**APPLICATION, "request": "  Прошу   надати допомогу ’ʼ' «лапки» \t кінець  ", "total_income_3m": 1234.5}
    case = api.as_("programs_dept").start("address_aid", sent)
    stored = api.as_("manager").instance(case["id"])["data"]
    assert {key: stored.get(key) for key in sent} == sent


def test_a_form_without_bounds_on_its_strings_and_lists_is_refused_at_deploy(http, db):
    unbounded = json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Перший крок",
                            "type": "object", "additionalProperties": False, "required": ["note"],
                            "properties": {"note": {"type": "string", "title": "Примітка"},
                                           "tags": {"type": "array", "title": "Мітки", "items": {"type": "string", "maxLength": 10}}}})
    upload = multipart((MINIMAL / "mini.bpmn").read_bytes())
    upload["files"] = [(io.BytesIO((MINIMAL / "forms" / "mini" / "start.json").read_bytes()), "start.json"),
                       (io.BytesIO(unbounded.encode()), "step_one.json")]
    body = problem(http.as_("analyst").post("/process-definitions", 422, data=upload, content_type="multipart/form-data"), 422)
    messages = " ".join(e["message"] for e in body["errors"])
    assert "note" in messages and "tags" in messages, body
    assert count_rows(db, Definition) == 0


def test_every_shipped_form_bounds_its_strings_and_lists(api):
    """The shipped diagrams deploy (the ``api`` fixture) under the rule above."""
    card = api.as_("analyst").get("/process-definitions/address_aid").json
    assert card["start_form"]["properties"]["surname"]["maxLength"] > 0


# Diagrams ----------------------------------------------------------------------------------------


def test_a_utf16_diagram_is_422_and_deploys_nothing(http, db):
    xml = (MINIMAL / "mini.bpmn").read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    response = http.as_("analyst").post("/process-definitions", 422, data=xml.encode("utf-16"),
                                        content_type="application/xml")
    problem(response, 422)
    assert count_rows(db, Definition) == 0


def long_flow(nodes: int) -> bytes:
    """The minimal diagram with ``nodes`` script tasks chained between its start and its step."""
    xml = (MINIMAL / "mini.bpmn").read_text(encoding="utf-8")
    chain = "".join(f'<bpmn:scriptTask id="s{i}"><bpmn:incoming>f{i}</bpmn:incoming><bpmn:outgoing>f{i + 1}</bpmn:outgoing>'
                    f'<bpmn:script>x = {i}</bpmn:script></bpmn:scriptTask>'
                    f'<bpmn:sequenceFlow id="f{i + 1}" sourceRef="s{i}" targetRef="{"s" + str(i + 1) if i + 1 < nodes else "step_one"}" />'
                    for i in range(nodes))
    refs = "".join(f"<bpmn:flowNodeRef>s{i}</bpmn:flowNodeRef>" for i in range(nodes))
    xml = xml.replace('<bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="step_one" />',
                      f'<bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="s0" />{chain}')
    xml = xml.replace('<bpmn:incoming>flow_1</bpmn:incoming>\n      <bpmn:outgoing>flow_2</bpmn:outgoing>',
                      f'<bpmn:incoming>f{nodes}</bpmn:incoming>\n      <bpmn:outgoing>flow_2</bpmn:outgoing>')
    xml = xml.replace("<bpmn:outgoing>flow_1</bpmn:outgoing>", "<bpmn:outgoing>flow_1</bpmn:outgoing>")
    xml = xml.replace("<bpmn:flowNodeRef>finish</bpmn:flowNodeRef>", f"<bpmn:flowNodeRef>finish</bpmn:flowNodeRef>{refs}")
    return xml.encode()


def test_a_flow_thousands_of_nodes_long_is_answered_4xx_not_500(http, db):
    response = http.client.post("/api/v1/process-definitions/validate", data=long_flow(3000),
                                content_type="application/xml", headers={"Authorization": "Bearer token-analyst"})
    assert response.status_code in (200, 413, 422), response.get_data(as_text=True)[:500]


@pytest.mark.parametrize("element, expected", [
    ('<bpmn:intermediateCatchEvent id="wait_msg"><bpmn:messageEventDefinition messageRef="m1" /></bpmn:intermediateCatchEvent>', "wait_msg"),
    ('<bpmn:serviceTask id="call_out" camunda:type="external" camunda:topic="x" />', "call_out"),
    ('<bpmn:sendTask id="send_it" />', "send_it"),
])
def test_elements_the_engine_cannot_run_here_are_refused_at_deploy(http, db, element, expected):
    xml = (MINIMAL / "mini.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('<bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="step_one" />',
                      f'<bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="{expected}" />{element}'
                      f'<bpmn:sequenceFlow id="flow_x" sourceRef="{expected}" targetRef="step_one" />'
                      '<bpmn:message id="m1" name="m1" />')
    body = problem(http.as_("analyst").post("/process-definitions", 422, data=xml.encode(), content_type="application/xml"), 422)
    assert any(e["path"] == expected for e in body["errors"]), body
    assert count_rows(db, Definition) == 0


def test_camunda_attributes_marshrut_ignores_are_named_with_what_to_use_instead(http, db):
    xml = (MINIMAL / "mini.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:userTask id="step_one" name="Перший крок">',
        '<bpmn:userTask id="step_one" name="Перший крок" camunda:candidateGroups="x" camunda:assignee="y" camunda:dueDate="z" camunda:formKey="f">')
    body = http.as_("analyst").post("/process-definitions/validate", 200, data=multipart(xml.encode()),
                                    content_type="multipart/form-data").json
    warnings = " ".join(w["message"] if isinstance(w, dict) else str(w) for w in body.get("warnings", []))
    for attribute in ("candidateGroups", "assignee", "dueDate", "formKey"):
        assert attribute in warnings, body


# Case numbers ------------------------------------------------------------------------------------


def test_two_processes_whose_keys_share_their_first_letters_number_their_cases_apart(http, db):
    analyst = http.as_("analyst")
    xml = (MINIMAL / "mini.bpmn").read_text(encoding="utf-8").replace(
        '<camunda:property name="number_prefix" value="МП" />', "")
    for key in ("aid_a", "aid_b"):
        keyed = xml.replace('id="mini"', f'id="{key}"').replace('processRef="mini"', f'processRef="{key}"')
        upload = {"file": (io.BytesIO(keyed.encode()), f"{key}.bpmn"),
                  "files": [(io.BytesIO(p.read_bytes()), p.name) for p in sorted((MINIMAL / "forms" / "mini").glob("*.json"))]}
        analyst.post("/process-definitions", 201, data=upload, content_type="multipart/form-data")
    http.set_clock("2026-02-02T10:00:00+02:00")
    first = http.as_("programs_dept").start("aid_a", {"surname": "Бондаренко"})
    second = http.as_("programs_dept").start("aid_b", {"surname": "Бондаренко"})
    assert first["number"] != second["number"]
    assert count_rows(db, Instance) == 2
