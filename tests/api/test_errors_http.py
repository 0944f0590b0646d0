"""Every refusal of SPEC §6/§8 as an ``application/problem+json`` answer that changes nothing."""

import io
from dataclasses import replace
from typing import Any

import pytest

from marshrut.api.app import create_app
from marshrut.engine import users
from marshrut.engine.config import PROJECT_ROOT
from marshrut.engine.models import AuditEvent, Definition, Instance
from tests.api.conftest import Caller, Http, count_rows, problem
from tests.conftest import kyiv
from tests.walks import ADDRESS_AID_STEPS, APPLICATION

MINIMAL = PROJECT_ROOT / "tests" / "data" / "minimal"
SHIPPED_AID = (PROJECT_ROOT / "bpmn" / "address_aid.bpmn").read_bytes()
CYRILLIC_VE = "\u0412"  # «В»
ACCEPT_ACTION = f'<camunda:property name="action" value="{CYRILLIC_VE}"/>'.encode()
RENAMED_AID = SHIPPED_AID.replace("Повідомлення заявника про призначення (відмову) допомоги".encode(),
                                  "Повідомлення заявника про рішення".encode())


@pytest.fixture
def case(api: Http) -> dict[str, Any]:
    """A registered address-aid case whose first step, accept_documents, is ready."""
    api.set_clock("2026-02-02T10:00:00+02:00")
    return api.as_("programs_dept").start("address_aid", APPLICATION)


@pytest.fixture
def first_task(case: dict[str, Any]) -> int:
    return case["open_tasks"][0]["id"]


@pytest.fixture
def colleague(api: Http, db) -> Caller:
    """A second member of the programs department (token ``token-programs_dept_2``)."""
    with db.unit_of_work() as uow:
        users.create_user(uow, "programs_dept_2", ["programs_dept"], kyiv("2026-01-01 09:00"), token="token-programs_dept_2")
        uow.commit()
    return api.as_("programs_dept_2")


def task_state(api: Http, task_id: int) -> tuple[str, str | None, str | None]:
    task = api.as_("manager").get(f"/tasks/{task_id}").json
    return task["state"], task["assignee"], task["completed_by"]


def events(db, instance_id: int) -> int:
    return count_rows(db, AuditEvent, instance_id=instance_id)


# 401 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer ", "Basic dG9rZW4tYWRtaW46", "token-admin"])
def test_a_request_without_a_valid_bearer_token_is_401_with_a_challenge(api, header):
    headers = {"Authorization": header} if header is not None else {}
    response = api.client.get("/api/v1/tasks", headers=headers)
    problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_completing_without_a_token_is_401_and_the_task_stays_ready(api, db, case, first_task):
    before = events(db, case["id"])
    response = api.client.post(f"/api/v1/tasks/{first_task}/complete", json={"data": {"package_complete": True}})
    problem(response, 401)
    assert task_state(api, first_task) == ("ready", None, None)
    assert events(db, case["id"]) == before


def test_health_needs_no_token_and_reports_the_database(api):
    assert api.anonymous.get("/health").json == {"status": "ok", "database": "ok"}


# 403 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["director", "manager", "admin", "accounting_head"])
def test_a_role_that_does_not_execute_the_step_may_not_complete_it(api, db, case, first_task, role):
    before = events(db, case["id"])
    data = {"data": ADDRESS_AID_STEPS["accept_documents"]}
    problem(api.as_(role).post(f"/tasks/{first_task}/complete", 403, json=data), 403)
    assert task_state(api, first_task) == ("ready", None, None)
    assert events(db, case["id"]) == before


def test_a_role_that_does_not_execute_the_step_may_not_claim_it(api, case, first_task):
    problem(api.as_("director").post(f"/tasks/{first_task}/claim", 403), 403)
    problem(api.as_("manager").post(f"/tasks/{first_task}/claim", 403), 403)
    assert task_state(api, first_task) == ("ready", None, None)


def test_a_role_outside_the_task_may_not_read_it_but_a_manager_may(api, first_task):
    problem(api.as_("case_manager").get(f"/tasks/{first_task}", 403), 403)
    assert api.as_("manager").get(f"/tasks/{first_task}").json["element_id"] == "accept_documents"


@pytest.mark.parametrize("role", ["director", "case_manager", "manager", "provider"])
def test_only_intake_roles_may_register_a_case(api, db, role):
    api.set_clock("2026-02-02T10:00:00+02:00")
    response = api.as_(role).post("/process-instances", 403, json={"process_key": "address_aid", "data": APPLICATION})
    problem(response, 403)
    assert count_rows(db, Instance) == 0


@pytest.mark.parametrize("role", ["programs_dept", "director", "admin", "manager"])
def test_only_an_analyst_may_deploy_a_diagram(api, db, role):
    before = count_rows(db, Definition)
    response = api.as_(role).post("/process-definitions", 403, data=RENAMED_AID, content_type="application/xml")
    problem(response, 403)
    problem(api.as_(role).post("/process-definitions/validate", 403, data=RENAMED_AID, content_type="application/xml"), 403)
    assert count_rows(db, Definition) == before


@pytest.mark.parametrize("role", ["manager", "analyst", "programs_dept"])
def test_only_an_admin_may_set_the_clock_or_run_a_worker_pass(api, role):
    api.set_clock("2026-02-02T10:00:00+02:00")
    caller = api.as_(role)
    problem(caller.put("/admin/clock", 403, json={"now": "2030-01-01T00:00:00+02:00"}), 403)
    problem(caller.post("/admin/tick", 403), 403)
    assert api.as_("admin").get("/admin/clock").json["now"] == "2026-02-02T10:00:00+02:00"


def test_only_managers_and_admins_may_cancel_a_case(api, db, case):
    problem(api.as_("programs_dept").post(f"/process-instances/{case['id']}/cancel", 403, json={"reason": "дубль"}), 403)
    assert api.as_("manager").instance(case["id"])["status"] == "running"
    cancelled = api.as_("manager").post(f"/process-instances/{case['id']}/cancel", json={"reason": "Дубль заяви"}).json
    assert cancelled["status"] == "cancelled" and cancelled["open_tasks"] == []
    problem(api.as_("manager").post(f"/process-instances/{case['id']}/cancel", 409, json={"reason": "ще раз"}), 409)


# 404 / 405 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("GET", "/tasks/999999"), ("POST", "/tasks/999999/complete"), ("POST", "/tasks/999999/claim"),
    ("POST", "/tasks/999999/unclaim"), ("GET", "/process-instances/999999"),
    ("GET", "/process-instances/999999/history"), ("POST", "/process-instances/999999/cancel"),
    ("GET", "/process-definitions/no_such_process"), ("GET", "/process-definitions/no_such_process/xml"),
    ("GET", "/process-definitions/address_aid?version=99"), ("GET", "/services/99"), ("GET", "/no-such-route"),
])
def test_an_unknown_id_or_route_is_404(api, method, path):
    body = {"data": {}} if path.endswith("complete") else {"reason": "x"} if path.endswith("cancel") else None
    problem(api.as_("admin").request(method, path, 404, json=body), 404)


def test_registering_a_case_of_an_unknown_process_is_404_and_creates_nothing(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    response = api.as_("programs_dept").post("/process-instances", 404, json={"process_key": "no_such", "data": {}})
    problem(response, 404)
    assert count_rows(db, Instance) == 0


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/tasks/1"), ("PUT", "/process-definitions"), ("GET", "/tasks/1/complete"),
    ("DELETE", "/process-instances/1"), ("PATCH", "/admin/clock"),
])
def test_a_method_the_route_does_not_take_is_405(api, method, path):
    problem(api.as_("admin").request(method, path, 405), 405)


# 400 / 422 on bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("body", ['{"data": ', "{'data': {}}", "{\"data\": {\"package_complete\": tru}}", "\xff\xfe"])
def test_a_body_that_is_not_json_is_400_and_the_task_stays_ready(api, db, case, first_task, body):
    before = events(db, case["id"])
    response = api.as_("programs_dept").post(f"/tasks/{first_task}/complete", 400, data=body,
                                              content_type="application/json")
    problem(response, 400)
    assert task_state(api, first_task) == ("ready", None, None)
    assert events(db, case["id"]) == before


def test_a_registration_that_is_not_json_is_400_and_creates_nothing(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    problem(api.as_("programs_dept").post("/process-instances", 400, data="{", content_type="application/json"), 400)
    assert count_rows(db, Instance) == 0


def test_form_data_that_breaks_the_schema_is_422_with_field_paths_and_changes_nothing(api, db, case, first_task):
    before = events(db, case["id"])
    dept = api.as_("programs_dept")

    missing = problem(dept.post(f"/tasks/{first_task}/complete", 422, json={"data": {"package_complete": False}}), 422)
    assert [e["path"] for e in missing["errors"]] == ["/missing_documents"]

    wrong = problem(dept.post(f"/tasks/{first_task}/complete", 422,
                              json={"data": {"package_complete": "так", "missing_documents": [7]}}), 422)
    assert {"/missing_documents/0", "/package_complete"} <= {e["path"] for e in wrong["errors"]}

    extra = problem(dept.post(f"/tasks/{first_task}/complete", 422,
                              json={"data": {"package_complete": True, "colour": "red"}}), 422)
    assert extra["errors"] and all(e["path"].startswith("/") for e in extra["errors"])

    assert task_state(api, first_task) == ("ready", None, None)
    assert events(db, case["id"]) == before
    assert [t["element_id"] for t in api.as_("manager").instance(case["id"])["open_tasks"]] == ["accept_documents"]


def test_a_start_form_that_breaks_the_schema_is_422_and_uses_no_number(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    dept = api.as_("programs_dept")
    bad = {**APPLICATION, "personal_data_consent": False, "family_members": "two"}
    del bad["surname"]

    body = problem(dept.post("/process-instances", 422, json={"process_key": "address_aid", "data": bad}), 422)

    assert sorted(e["path"] for e in body["errors"]) == ["/family_members", "/personal_data_consent", "/surname"]
    assert count_rows(db, Instance) == 0
    assert dept.start("address_aid", APPLICATION)["number"] == "АД-2026-000001"


@pytest.mark.parametrize("body, path", [
    ({"process_key": "address_aid", "data": [1]}, "/data"), ({"process_key": "address_aid", "data": "x"}, "/data"),
    ({"process_key": "address_aid"}, "/data"), ({"data": APPLICATION}, "/process_key"),
    ({"process_key": "address_aid", "data": APPLICATION, "received_at": "2026-02-01T10:00:00"}, "/received_at"),
    ({"process_key": "address_aid", "data": APPLICATION, "received_at": "2026-03-01T10:00:00+02:00"}, "/received_at"),
])
def test_a_registration_body_of_the_wrong_shape_is_422_naming_the_field(api, db, body, path):
    api.set_clock("2026-02-02T10:00:00+02:00")
    answer = problem(api.as_("programs_dept").post("/process-instances", 422, json=body), 422)
    assert path in [e["path"] for e in answer["errors"]]
    assert count_rows(db, Instance) == 0


@pytest.mark.parametrize("path, query, field", [
    ("/tasks", {"state": "bogus"}, "state"), ("/tasks", {"sla_status": "late"}, "sla_status"),
    ("/tasks", {"instance_id": "abc"}, "instance_id"), ("/tasks", {"mine": "maybe"}, "mine"),
    ("/tasks", {"page": "0"}, "page"), ("/tasks", {"per_page": "100000"}, "per_page"),
    ("/process-instances", {"status": "lost"}, "status"), ("/process-instances", {"sla": "late"}, "sla"),
    ("/process-definitions/address_aid", {"version": "0"}, "version"),
])
def test_a_bad_filter_value_is_422_naming_the_parameter(api, path, query, field):
    body = problem(api.as_("manager").get(path, 422, query=query), 422)
    assert any(field in e["path"] for e in body["errors"]), body["errors"]


def test_a_bad_clock_value_is_422(api):
    body = problem(api.as_("admin").put("/admin/clock", 422, json={"now": "2026-02-02T10:00:00"}), 422)
    assert [e["path"] for e in body["errors"]] == ["/now"]


# 409 ---------------------------------------------------------------------------------------------


def test_completing_a_task_twice_is_409_and_the_case_moves_on_once(api, db, case, first_task):
    dept = api.as_("programs_dept")
    dept.complete(first_task, ADDRESS_AID_STEPS["accept_documents"])
    after_first = events(db, case["id"])

    body = problem(dept.post(f"/tasks/{first_task}/complete", 409, json={"data": ADDRESS_AID_STEPS["accept_documents"]}), 409)

    assert body["detail"]
    assert events(db, case["id"]) == after_first
    assert count_rows(db, AuditEvent, instance_id=case["id"], event="task_completed") == 1
    assert [t["element_id"] for t in api.as_("manager").instance(case["id"])["open_tasks"]] == ["form_personal_file"]
    problem(dept.post(f"/tasks/{first_task}/claim", 409), 409)


def test_a_task_held_by_a_colleague_cannot_be_claimed_completed_or_released_by_another(api, db, case, first_task, colleague):
    holder = api.as_("programs_dept")
    holder.post(f"/tasks/{first_task}/claim")
    before = events(db, case["id"])

    problem(colleague.post(f"/tasks/{first_task}/claim", 409), 409)
    problem(colleague.post(f"/tasks/{first_task}/complete", 409, json={"data": ADDRESS_AID_STEPS["accept_documents"]}), 409)
    problem(colleague.post(f"/tasks/{first_task}/unclaim", 409), 409)
    assert task_state(api, first_task) == ("ready", "programs_dept", None)
    assert events(db, case["id"]) == before

    assert holder.post(f"/tasks/{first_task}/claim").json["assignee"] == "programs_dept"  # claiming again is harmless
    assert holder.post(f"/tasks/{first_task}/unclaim").json["assignee"] is None
    assert colleague.post(f"/tasks/{first_task}/claim").json["assignee"] == "programs_dept_2"
    done = colleague.complete(first_task, ADDRESS_AID_STEPS["accept_documents"])
    assert done["task"]["completed_by"] == "programs_dept_2"


# Diagrams ----------------------------------------------------------------------------------------


def deploy_xml(caller: Caller, xml: bytes, expect: int) -> dict[str, Any]:
    return caller.post("/process-definitions", expect, data=xml, content_type="application/xml").json


@pytest.mark.parametrize("label, xml", [
    ("not XML", b"this is not a diagram"),
    ("not BPMN", b"<?xml version='1.0'?><definitions xmlns='urn:not-bpmn'><process id='p'/></definitions>"),
    ("a DTD", b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><r>&e;</r>"),
    ("an entity in BPMN", SHIPPED_AID.replace(b"?>", b"?><!DOCTYPE d [<!ENTITY x 'y'>]>", 1)),
    ("empty", b""),
])
def test_a_diagram_that_is_not_safe_bpmn_is_422_and_deploys_nothing(api, db, label, xml):
    before = count_rows(db, Definition)
    analyst = api.as_("analyst")
    problem(analyst.post("/process-definitions", 422, data=xml, content_type="application/xml"), 422)
    problem(analyst.post("/process-definitions/validate", 422, data=xml, content_type="application/xml"), 422)
    assert count_rows(db, Definition) == before


def test_a_latin_b_in_an_action_is_422_naming_the_element_and_the_cyrillic_letter(api, db):
    assert SHIPPED_AID.count(ACCEPT_ACTION) > 1
    latin = SHIPPED_AID.replace(ACCEPT_ACTION, b'<camunda:property name="action" value="B"/>', 1)
    before = count_rows(db, Definition)

    body = problem(api.as_("analyst").post("/process-definitions", 422, data=latin, content_type="application/xml"), 422)

    assert [e["path"] for e in body["errors"]] == ["accept_documents"]
    assert f"«{CYRILLIC_VE}»" in body["errors"][0]["message"]
    assert count_rows(db, Definition) == before
    assert api.as_("analyst").get("/process-definitions/address_aid").json["version"] == 1


def test_validate_answers_the_steps_of_a_good_diagram_without_deploying(api, db):
    before = count_rows(db, Definition)
    body = api.as_("analyst").post("/process-definitions/validate", data=SHIPPED_AID, content_type="application/xml").json
    assert body["valid"] is True and body["key"] == "address_aid"
    assert len(body["steps"]) == 13
    assert count_rows(db, Definition) == before


def multipart(bpmn: bytes) -> dict[str, Any]:
    forms = MINIMAL / "forms" / "mini"
    return {"file": (io.BytesIO(bpmn), "mini.bpmn"),
            "files": [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(forms.glob("*.json"))]}


def test_an_analyst_deploys_a_new_process_as_a_multipart_upload_and_a_changed_one_as_version_2(http, db):
    analyst = http.as_("analyst")
    mini = (MINIMAL / "mini.bpmn").read_bytes()

    first = analyst.post("/process-definitions", 201, data=multipart(mini), content_type="multipart/form-data").json
    assert (first["key"], first["version"]) == ("mini", 1)
    changed = mini.replace("Перший крок".encode(), "Перший крок (нова редакція)".encode())
    second = analyst.post("/process-definitions", 201, data=multipart(changed), content_type="multipart/form-data").json
    assert (second["key"], second["version"]) == ("mini", 2)

    card = http.as_("programs_dept").get("/process-definitions/mini").json
    assert (card["version"], card["steps"][0]["name"]) == (2, "Перший крок (нова редакція)")
    old = http.as_("programs_dept").get("/process-definitions/mini", query={"version": 1}).json
    assert old["steps"][0]["name"] == "Перший крок"
    assert count_rows(db, Definition, key="mini") == 2


def test_redeploying_a_changed_diagram_makes_version_2_while_a_running_case_keeps_version_1(api, db, case, first_task):
    assert case["version"] == 1
    assert RENAMED_AID != SHIPPED_AID

    deployed = deploy_xml(api.as_("analyst"), RENAMED_AID, 201)

    assert (deployed["key"], deployed["version"]) == ("address_aid", 2)
    assert api.as_("programs_dept").get("/process-definitions/address_aid").json["version"] == 2
    assert api.as_("manager").instance(case["id"])["version"] == 1
    moved = api.as_("programs_dept").complete(first_task, ADDRESS_AID_STEPS["accept_documents"])
    assert moved["instance"]["version"] == 1
    assert [t["element_id"] for t in moved["instance"]["open_tasks"]] == ["form_personal_file"]
    assert api.as_("programs_dept").start("address_aid", APPLICATION)["version"] == 2


def test_redeploying_an_unchanged_diagram_makes_no_new_version(api, db):
    before = count_rows(db, Definition)
    again = deploy_xml(api.as_("analyst"), SHIPPED_AID, 201)
    assert (again["key"], again["version"]) == ("address_aid", 1)
    assert count_rows(db, Definition) == before


def test_a_multipart_upload_without_exactly_one_diagram_is_422(http, db):
    analyst = http.as_("analyst")
    forms = {"files": [(io.BytesIO(b"{}"), "start.json")]}
    body = problem(analyst.post("/process-definitions", 422, data=forms, content_type="multipart/form-data"), 422)
    assert [e["path"] for e in body["errors"]] == ["file"]
    assert count_rows(db, Definition) == 0


# The controlled clock ----------------------------------------------------------------------------


def test_the_clock_endpoint_is_404_when_the_controlled_clock_is_off(settings, db, actors):
    app = create_app(replace(settings, controlled_clock=False))
    try:
        client = app.test_client()
        admin = {"Authorization": "Bearer token-admin"}
        problem(client.put("/api/v1/admin/clock", json={"now": "2026-02-02T10:00:00+02:00"}, headers=admin), 404)
        problem(client.get("/api/v1/admin/clock", headers=admin), 404)
    finally:
        app.extensions["marshrut"]["db"].dispose()


def test_the_admin_sets_the_clock_and_every_answer_follows_it(api):
    assert api.set_clock("2026-02-02T10:00:00+02:00") == "2026-02-02T10:00:00+02:00"
    assert api.set_clock("2026-02-02T08:00:00Z") == "2026-02-02T10:00:00+02:00"  # stored as Kyiv time
    case = api.as_("programs_dept").start("address_aid", APPLICATION)
    assert case["received_at"] == "2026-02-02T10:00:00+02:00"
    assert api.tick()["now"] == "2026-02-02T10:00:00+02:00"


def test_the_openapi_document_describes_the_api(api):
    document = api.anonymous.get("/openapi.json").json
    assert document["openapi"].startswith("3.")
    for path in ("/api/v1/tasks/{task_id}/complete", "/api/v1/process-instances", "/api/v1/process-definitions",
                 "/api/v1/admin/clock", "/api/v1/services"):
        assert path in document["paths"], path

