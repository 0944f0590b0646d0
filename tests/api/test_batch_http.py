"""Batch completion over HTTP (SPEC §6.1): the ready tasks of one step, completed together, each
as a single completion would be, with a result per task and the batch's id in the audit log."""

import threading
from collections import Counter
from typing import Any

import pytest

from marshrut.engine.models import AuditEvent
from tests.api.conftest import Http, problem
from tests.integration.engine_walk import Walker
from tests.meeting_cases import APPLICANTS, cases_at
from tests.walks import APPLICATION

MATERIALS = "prepare_commission_materials"


@pytest.fixture
def walker(api: Http, db, settings, actors) -> Walker:
    return Walker(db, settings, actors)


def step_tasks(api: Http, role: str, element_id: str) -> dict[int, int]:
    """``{case id: task id}`` of the ready ``element_id`` tasks the role sees through the filter."""
    items = api.as_(role).tasks(element_id=element_id, per_page=500)
    assert {t["element_id"] for t in items} <= {element_id}
    return {t["instance_id"]: t["id"] for t in items}


def batch(api: Http, role: str, body: dict[str, Any], expect: int = 200) -> Any:
    return api.as_(role).post("/tasks/complete-batch", expect, json=body)


def test_the_element_id_filter_lists_only_the_ready_tasks_of_that_step(api, walker):
    ready = cases_at(walker, MATERIALS, APPLICANTS[:2])
    behind = walker.start("address_aid", {**APPLICATION, **APPLICANTS[0]})

    assert set(step_tasks(api, "programs_deputy", MATERIALS)) == set(ready)
    assert set(step_tasks(api, "programs_dept", "accept_documents")) == {behind}
    assert step_tasks(api, "programs_deputy", "accept_documents") == {}
    assert step_tasks(api, "programs_deputy", "no_such_step") == {}


def test_a_batch_completes_the_valid_tasks_and_answers_each_of_the_others_as_a_single_completion_would(api, walker):
    first, second, done_already, invalid = cases_at(walker, MATERIALS)
    tasks = step_tasks(api, "programs_deputy", MATERIALS)
    api.as_("programs_deputy").complete(tasks[done_already], {"commission_date": "2026-02-10"})
    other_role = api.as_("programs_dept").start("address_aid", {**APPLICATION, **APPLICANTS[0]})["open_tasks"][0]["id"]
    unknown = 999_999
    ids = [tasks[first], tasks[second], tasks[done_already], other_role, unknown, tasks[invalid]]

    answer = batch(api, "programs_deputy", {
        "task_ids": ids, "data": {"commission_date": "2026-02-10", "materials_note": "Спільні матеріали"},
        "per_task": {str(tasks[second]): {"materials_note": "Окремо: акт обстеження"},
                     str(tasks[invalid]): {"commission_date": "10.02.2026"}},
    }).json

    assert answer["batch_id"]
    results = {r["task_id"]: r for r in answer["results"]}
    assert [r["task_id"] for r in answer["results"]] == ids
    assert {k: r["status"] for k, r in results.items()} == {
        tasks[first]: 200, tasks[second]: 200, tasks[done_already]: 409, other_role: 403, unknown: 404, tasks[invalid]: 422}
    assert (results[tasks[first]]["instance_id"], results[tasks[invalid]]["instance_id"]) == (first, invalid)
    assert results[unknown]["instance_id"] is None and results[other_role]["instance_id"] is None
    assert "problem" not in results[tasks[first]]
    for task_id, status in ((tasks[done_already], 409), (other_role, 403), (unknown, 404), (tasks[invalid], 422)):
        body = results[task_id]["problem"]
        assert body["status"] == status and body["type"].startswith("https://") and body["title"] and body["detail"]
    assert results[tasks[invalid]]["problem"]["errors"][0]["path"].startswith("/commission_date")

    # The valid cases moved on with the shared data merged with their own; the invalid one did not move.
    manager = api.as_("manager")
    for case_id, note in ((first, "Спільні матеріали"), (second, "Окремо: акт обстеження")):
        case = manager.instance(case_id)
        assert [t["element_id"] for t in case["open_tasks"]] == ["prepare_commission_minutes"]
        assert (case["data"]["commission_date"], case["data"]["materials_note"]) == ("2026-02-10", note)
    assert [t["element_id"] for t in manager.instance(invalid)["open_tasks"]] == [MATERIALS]

    # Every event the batch wrote carries its id; the single completion before it does not.
    history = manager.get(f"/process-instances/{first}/history").json["items"]
    completed = [e for e in history if e["event"] == "task_completed"]
    assert completed[-1]["data"]["batch_id"] == answer["batch_id"]
    earlier = manager.get(f"/process-instances/{done_already}/history").json["items"]
    assert all("batch_id" not in e["data"] for e in earlier)


def test_a_batch_through_the_committee_decides_granted_and_refused_cases_with_their_own_fields(api, walker):
    cases = cases_at(walker, "record_committee_decision", APPLICANTS[:2])
    tasks = step_tasks(api, "programs_head", "record_committee_decision")
    answer = batch(api, "programs_head", {
        "task_ids": [tasks[c] for c in cases],
        "data": {"decision_number": "77", "decision_date": "2026-02-18"},
        "per_task": {str(tasks[cases[0]]): {"decision": "granted", "aid_amount": 2500},
                     str(tasks[cases[1]]): {"decision": "refused", "refusal_ground": "other",
                                             "refusal_ground_text": "Подано недостовірні відомості"}},
    }).json
    assert [r["status"] for r in answer["results"]] == [200, 200]
    granted, refused = (api.as_("manager").instance(c) for c in cases)
    assert [t["element_id"] for t in granted["open_tasks"]] == ["prepare_payment_registers"]
    assert [t["element_id"] for t in refused["open_tasks"]] == ["notify_applicant"]
    assert (granted["data"]["decision_number"], granted["data"]["aid_amount"]) == ("77", 2500)


@pytest.mark.parametrize("body, path", [
    ({"task_ids": []}, "/task_ids"),
    ({"task_ids": list(range(1, 502))}, "/task_ids"),
    ({"task_ids": [1, 1]}, "/task_ids"),
    ({"task_ids": [1], "per_task": {"2": {"x": 1}}}, "/per_task/2"),
    ({"task_ids": ["abc"]}, "/task_ids"),
    ({"data": {}}, "/task_ids"),
])
def test_a_malformed_batch_is_refused_whole_with_422(api, walker, body, path):
    [case] = cases_at(walker, MATERIALS, APPLICANTS[:1])
    answer = problem(batch(api, "programs_deputy", body, expect=422), 422)
    assert any(e["path"].startswith(path) for e in answer["errors"]), answer
    assert [t["element_id"] for t in api.as_("manager").instance(case)["open_tasks"]] == [MATERIALS]


def test_a_batch_racing_single_completions_of_the_same_tasks_completes_each_exactly_once(api, walker, app, db):
    cases = cases_at(walker, MATERIALS)
    tasks = step_tasks(api, "programs_deputy", MATERIALS)
    ids = [tasks[c] for c in cases]
    start = threading.Barrier(2)
    answers: dict[str, Any] = {}

    def run_batch() -> None:
        client = app.test_client()
        start.wait(timeout=30)
        answers["batch"] = client.post("/api/v1/tasks/complete-batch", headers={"Authorization": "Bearer token-programs_deputy"},
                                       json={"task_ids": ids, "data": {"commission_date": "2026-02-10"}})

    def run_singles() -> None:
        client = app.test_client()
        start.wait(timeout=30)
        answers["singles"] = [client.post(f"/api/v1/tasks/{t}/complete", headers={"Authorization": "Bearer token-programs_deputy"},
                                          json={"data": {"commission_date": "2026-02-11"}}) for t in reversed(ids)]

    threads = [threading.Thread(target=run_batch), threading.Thread(target=run_singles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers["batch"].status_code == 200
    by_batch = {r["task_id"]: r["status"] for r in answers["batch"].json["results"]}
    by_single = dict(zip(reversed(ids), (a.status_code for a in answers["singles"]), strict=True))
    for task_id in ids:  # exactly one winner per task, the loser told it is done
        assert sorted([by_batch[task_id], by_single[task_id]]) == [200, 409], (task_id, by_batch, by_single)
    with db.unit_of_work() as uow:
        events = uow.session.query(AuditEvent).filter(AuditEvent.event == "task_completed").all()
        completions = Counter(e.task_id for e in events if e.data.get("element_id") == MATERIALS)
    assert all(completions[t] == 1 for t in ids)
    for case_id in cases:
        assert [t["element_id"] for t in api.as_("manager").instance(case_id)["open_tasks"]] == ["prepare_commission_minutes"]

