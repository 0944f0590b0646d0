"""Incidents and migration over HTTP (SPEC §6.1): GET /incidents, POST /incidents/{id}/retry,
POST /process-instances/{id}/migrate and a whole version's cases at once."""

import pytest

from marshrut.engine import definitions
from marshrut.engine.operation import operation
from tests.api.conftest import problem
from tests.incident_diagrams import FAILING_CELL, FAILING_SCRIPT, FAILURE_TEXT, with_decision, with_script, without_compute

INCIDENT_FIELDS = {"id", "instance_id", "number", "element_id", "message", "created_at", "attempts"}


@pytest.fixture
def deploy(http, db, settings):
    def deploy_(bundle: definitions.Bundle) -> int:
        with operation(db, settings) as (uow, ctx):
            row, _created = definitions.deploy(uow, bundle, "analyst", ctx.now())
            uow.commit()
            return row.version
    http.set_clock("2026-02-02T10:00:00+02:00")
    return deploy_


def failing_case(http, surname: str = "Коваль") -> tuple[int, dict]:
    """A case of the latest ``mini`` whose first step is done; returns its id and the completion's answer."""
    staff = http.as_("programs_dept")
    case = staff.start("mini", {"surname": surname})["id"]
    answer = staff.complete(staff.task_in(case, "step_one")["id"], {"done_on": "2026-02-02"})
    return case, answer


@pytest.mark.parametrize("broken", [with_script(FAILING_SCRIPT), with_decision(FAILING_CELL)], ids=["script", "cell"])
def test_a_completion_before_failing_automatic_work_answers_200_and_the_case_shows_the_incident(http, deploy, broken):
    deploy(broken)
    case, answer = failing_case(http)
    assert answer["task"]["state"] == "completed"
    assert answer["instance"]["status"] == "running" and answer["instance"]["open_tasks"] == []
    [incident] = answer["instance"]["incidents"]
    assert incident["element_id"] == "compute" and incident["attempts"] == 1
    assert http.as_("manager").instance(case)["incidents"] == [incident]

    for role in ("admin", "analyst", "manager"):
        listed = http.as_(role).get("/incidents").json
        assert listed["total"] == 1 and (listed["page"], listed["per_page"]) == (1, 50)
        [item] = listed["items"]
        assert INCIDENT_FIELDS <= set(item) and item["number"].startswith("МП-2026-")
        assert (item["id"], item["instance_id"], item["element_id"]) == (incident["id"], case, "compute")
    problem(http.as_("programs_dept").get("/incidents", 403), 403)
    notes = http.as_("admin").get("/notifications").json
    assert [n["instance_id"] for n in notes if n["breach"] == "incident"] == [case]


def test_a_broken_version_is_repaired_over_http_fix_migrate_retry(http, deploy):
    deploy(without_compute())
    deploy(with_script(FAILING_SCRIPT))
    case, answer = failing_case(http)
    incident_id = answer["instance"]["incidents"][0]["id"]
    admin, analyst = http.as_("admin"), http.as_("analyst")

    failed = admin.post(f"/incidents/{incident_id}/retry").json  # not fixed yet
    assert failed["resolved_at"] is None and failed["attempts"] == 2 and FAILURE_TEXT in failed["message"]
    problem(http.as_("manager").post(f"/incidents/{incident_id}/retry", 403), 403)

    refused = problem(analyst.post(f"/process-instances/{case}/migrate", 422, json={"version": 1}), 422)
    assert [e["path"] for e in refused["errors"]] == ["compute"]
    problem(analyst.post(f"/process-instances/{case}/migrate", 404, json={"version": 9}), 404)
    problem(http.as_("manager").post(f"/process-instances/{case}/migrate", 403, json={"version": 1}), 403)

    assert deploy(with_script("x = len(surname)")) == 3
    moved = analyst.post(f"/process-instances/{case}/migrate", json={"version": 3}).json
    assert moved["version"] == 3 and moved["id"] == case
    resolved = analyst.post(f"/incidents/{incident_id}/retry").json
    assert resolved["resolved_at"] is not None
    instance = http.as_("manager").instance(case)
    assert instance["incidents"] == [] and [t["element_id"] for t in instance["open_tasks"]] == ["step_two"]
    assert admin.get("/incidents").json["total"] == 0
    problem(admin.post(f"/incidents/{incident_id}/retry", 409), 409)
    problem(admin.post("/incidents/99999/retry", 404), 404)
    events = [e["event"] for e in http.as_("manager").get(f"/process-instances/{case}/history").json["items"]]
    assert {"incident_opened", "incident_retry_failed", "case_migrated", "incident_resolved"} <= set(events)


def test_every_running_case_of_a_version_is_moved_at_once_with_a_result_per_case(http, deploy):
    deploy(without_compute())
    deploy(with_script(FAILING_SCRIPT))
    stuck, _answer = failing_case(http, "Коваль")
    staff = http.as_("programs_dept")
    fresh = staff.start("mini", {"surname": "Шевчук"})["id"]  # still at step_one, which version 1 has
    admin = http.as_("admin")

    back = admin.post("/process-definitions/mini/versions/2/migrate", json={"to_version": 1}).json
    by_case = {r["instance_id"]: r for r in back["results"]}
    assert (back["migrated"], back["refused"]) == (1, 1)
    assert by_case[fresh]["status"] == 200
    assert by_case[stuck]["status"] == 422 and by_case[stuck]["missing"] == ["compute"]
    assert http.as_("manager").instance(fresh)["version"] == 1
    assert http.as_("manager").instance(stuck)["version"] == 2

    deploy(with_script("x = 1"))
    forward = admin.post("/process-definitions/mini/versions/2/migrate", json={"to_version": 3}).json
    assert [(r["instance_id"], r["status"]) for r in forward["results"]] == [(stuck, 200)]
    problem(admin.post("/process-definitions/mini/versions/7/migrate", 404, json={"to_version": 3}), 404)
    problem(http.as_("manager").post("/process-definitions/mini/versions/2/migrate", 403, json={"to_version": 3}), 403)
