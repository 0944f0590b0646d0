"""Comments on a case and on a step (SPEC §6.1), participants (У) included; a participant's list shows the step."""

from tests.api.conftest import Http, problem
from tests.api.test_address_aid_http import do_step, hold_the_meeting, register, walk_to_committee
from tests.walks import ADDRESS_AID_STEPS, APPLICATION


def at_payment_registers(api: Http) -> int:
    """A granted case at «prepare_payment_registers» (accounting_head В, programs_head У)."""
    case_id = walk_to_committee(api)
    hold_the_meeting(api, case_id)
    do_step(api, case_id, "record_committee_decision")
    return case_id


def test_a_participant_sees_the_step_in_the_default_list_marked_as_participation_and_comments_on_it(api):
    case_id = at_payment_registers(api)
    listed = api.as_("programs_head").tasks()
    assert [(t["element_id"], t["participation"]) for t in listed] == [("prepare_payment_registers", True)]
    assert [t["participation"] for t in api.as_("accounting_head").tasks()] == [False]
    task_id = listed[0]["id"]

    sent = api.as_("programs_head").post(f"/process-instances/{case_id}/comments", 201,
                                         json={"text": "Перевірте реквізити рахунку", "task_id": task_id}).json
    assert set(sent) >= {"id", "author", "text", "task_id", "created_at"}
    assert (sent["author"], sent["task_id"], sent["text"]) == ("programs_head", task_id, "Перевірте реквізити рахунку")
    api.as_("accounting_head").post(f"/process-instances/{case_id}/comments", 201, json={"text": "Перевірено"})

    seen = api.as_("accounting_head").get(f"/process-instances/{case_id}/comments").json["items"]
    assert [(c["author"], c["text"]) for c in seen] == [("programs_head", "Перевірте реквізити рахунку"),
                                                        ("accounting_head", "Перевірено")]
    one_step = api.as_("manager").get(f"/process-instances/{case_id}/comments", query={"task_id": task_id}).json
    assert [c["text"] for c in one_step["items"]] == ["Перевірте реквізити рахунку"]


def test_a_participant_cannot_complete_the_step_it_comments_on(api):
    case_id = at_payment_registers(api)
    task_id = api.as_("programs_head").tasks()[0]["id"]
    api.as_("programs_head").complete(task_id, {}, expect=403)
    assert api.as_("manager").instance(case_id)["open_tasks"][0]["element_id"] == "prepare_payment_registers"


def test_a_role_not_involved_may_neither_read_nor_write_comments(api):
    case_id = register(api)["id"]
    api.as_("case_manager").post(f"/process-instances/{case_id}/comments", 403, json={"text": "Привіт"})
    api.as_("case_manager").get(f"/process-instances/{case_id}/comments", 403)
    api.as_("programs_dept").get("/process-instances/999999/comments", 404)


def test_an_empty_a_too_long_or_a_foreign_step_comment_is_refused_with_the_field(api):
    case_id = register(api)["id"]
    other = api.as_("programs_dept").start("address_aid", APPLICATION)
    clerk = api.as_("programs_dept")
    for body, path in (({"text": "   "}, "/text"), ({"text": "я" * 4001}, "/text"),
                       ({"text": "ok", "task_id": other["open_tasks"][0]["id"]}, "/task_id"), ({"text": "a\x00b"}, "/text")):
        errors = problem(clerk.post(f"/process-instances/{case_id}/comments", 422, json=body), 422)["errors"]
        assert [e["path"] for e in errors] == [path], body
    assert clerk.get(f"/process-instances/{case_id}/comments").json["items"] == []


def test_a_list_of_own_steps_and_participations_is_paged_by_due_date_each_step_once(api):
    # programs_head records the committee's decision (В) and takes part in the payment registers (У):
    # the two ways a step is theirs are read apart and merged into one page order.
    participating, own, also_own = walk_to_committee(api), walk_to_committee(api), walk_to_committee(api)
    api.set_clock("2026-02-18T09:00:00+02:00")
    assert api.tick()["timers_fired"] == 3  # the cases' meetings: all at «record_committee_decision»
    head = api.as_("programs_head")
    task = head.task_in(participating, "record_committee_decision")
    head.post(f"/tasks/{task['id']}/claim")
    head.complete(task["id"], ADDRESS_AID_STEPS["record_committee_decision"])
    whole = head.get("/tasks", query={"per_page": 50}).json
    assert whole["total"] == 3
    assert sorted((t["instance_id"], t["element_id"], t["participation"]) for t in whole["items"]) == sorted(
        [(participating, "prepare_payment_registers", True), (own, "record_committee_decision", False),
         (also_own, "record_committee_decision", False)])
    dues = [t["due_at"] for t in whole["items"]]
    assert dues == sorted(dues)

    pages = [head.get("/tasks", query={"per_page": 1, "page": n}).json for n in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [3, 3, 3, 3]
    assert [t["id"] for p in pages for t in p["items"]] == [t["id"] for t in whole["items"]]
    assert pages[3]["items"] == []
