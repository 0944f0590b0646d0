"""The address-aid card over HTTP, each step done by its own role with its own token (SPEC §3.1, §6)."""

from typing import Any

import pytest

from tests.api.conftest import Http
from tests.walks import ADDRESS_AID_STEPS, APPLICATION, REFUSED

CARD = list(ADDRESS_AID_STEPS)
UNTIL_ENDORSEMENT = CARD[: CARD.index("endorse_draft_decision") + 1]
ROLE_OF = {
    "accept_documents": "programs_dept", "form_personal_file": "programs_dept", "register_application": "appeals_office",
    "send_to_director": "org_specialist", "director_resolution": "director", "send_to_executor": "org_specialist",
    "prepare_commission_materials": "programs_deputy", "prepare_commission_minutes": "programs_deputy",
    "draft_committee_decision": "programs_deputy", "endorse_draft_decision": "programs_head",
    "record_committee_decision": "programs_head", "prepare_payment_registers": "accounting_head",
    "notify_applicant": "programs_dept",
}


def register(api: Http) -> dict[str, Any]:
    """Mon 2026-02-02 10:00: the department registers an application received that moment."""
    api.set_clock("2026-02-02T10:00:00+02:00")
    return api.as_("programs_dept").start("address_aid", APPLICATION)


def do_step(api: Http, case_id: int, element_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The step's role finds it in its own list, reads it with its form, claims and completes it."""
    caller = api.as_(ROLE_OF[element_id])
    mine = caller.tasks()
    assert [(t["instance_id"], t["element_id"]) for t in mine] == [(case_id, element_id)]
    task = caller.get(f"/tasks/{mine[0]['id']}").json
    assert task["form"]["type"] == "object"
    assert task["state"] == "ready" and task["assignee"] is None
    claimed = caller.post(f"/tasks/{task['id']}/claim").json
    assert claimed["assignee"] == ROLE_OF[element_id]
    return caller.complete(task["id"], ADDRESS_AID_STEPS[element_id] if data is None else data)


def walk_to_committee(api: Http) -> int:
    """Register on Mon 2026-02-02 and do every step up to the endorsement on Thu 2026-02-12."""
    case_id = register(api)["id"]
    for element_id in UNTIL_ENDORSEMENT:
        if element_id == "endorse_draft_decision":
            api.set_clock("2026-02-12T15:00:00+02:00")
        do_step(api, case_id, element_id)
    return case_id


def hold_the_meeting(api: Http, case_id: int) -> None:
    api.set_clock("2026-02-18T09:00:00+02:00")
    assert api.tick()["timers_fired"] == 1
    assert [t["element_id"] for t in api.as_("manager").instance(case_id)["open_tasks"]] == ["record_committee_decision"]


def test_intake_registers_a_numbered_case_with_its_target_and_legal_dates_and_the_first_step(api):
    case = register(api)

    assert case["number"] == "АД-2026-000001"
    assert (case["process_key"], case["version"], case["status"]) == ("address_aid", 1, "running")
    assert case["received_at"] == "2026-02-02T10:00:00+02:00"
    assert (case["target_date"], case["legal_date"]) == ("2026-02-23", "2026-03-04")
    assert case["forecast_date"] is not None
    assert case["forecast_basis"] == "card"  # no history yet (SPEC §5)
    assert case["endorse_by"] == "2026-03-03"  # the 4 Mar meeting is the last by the legal date
    for which in ("target", "legal"):  # nothing is late yet: at risk exactly when the forecast passes the date
        expected = "at_risk" if case["forecast_date"] > case[f"{which}_date"] else "on_track"
        assert case["sla"][which] == expected
    assert case["data"]["surname"] == "Шевченко"
    [first] = case["open_tasks"]
    assert (first["element_id"], first["role"], first["action"], first["state"]) == ("accept_documents", "programs_dept", "В", "ready")
    assert first["due_date"] == "2026-02-03"
    assert first["due_at"] == "2026-02-03T23:59:59+02:00"


def test_a_second_case_of_the_year_gets_the_next_number(api):
    register(api)
    second = api.as_("programs_dept").start("address_aid", APPLICATION)
    assert second["number"] == "АД-2026-000002"


def test_an_application_received_earlier_is_dated_from_its_receipt_with_the_day_off_shift(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("programs_dept").start("address_aid", APPLICATION, received_at="2026-01-30T16:00:00+02:00")

    assert case["received_at"] == "2026-01-30T16:00:00+02:00"
    assert case["target_date"] == "2026-02-19"  # Fri 30 Jan + 20 days
    assert case["legal_date"] == "2026-03-02"  # + 30 days = Sun 1 Mar → Mon 2 Mar (Civil Code art. 254)


def test_lists_are_paginated_with_items_total_page_and_per_page(api):
    register(api)
    api.as_("programs_dept").start("address_aid", APPLICATION)
    manager = api.as_("manager")

    first = manager.get("/process-instances", query={"per_page": 1}).json
    second = manager.get("/process-instances", query={"per_page": 1, "page": 2}).json
    assert (first["total"], first["page"], first["per_page"], len(first["items"])) == (2, 1, 1, 1)
    assert (second["total"], second["page"], len(second["items"])) == (2, 2, 1)
    assert first["items"][0]["id"] != second["items"][0]["id"]
    tasks = manager.get("/tasks", query={"all": "true", "per_page": 1}).json
    assert (tasks["total"], len(tasks["items"])) == (2, 1)
    assert manager.get("/process-instances", query={"process_key": "social_services_roadmap"}).json["total"] == 0


def test_a_task_read_by_its_role_carries_the_json_schema_form(api):
    case = register(api)
    task = api.as_("programs_dept").get(f"/tasks/{case['open_tasks'][0]['id']}").json

    assert task["instance_id"] == case["id"] and task["process_key"] == "address_aid"
    assert task["lane"] == "Відділ реалізації міських соціальних програм"
    assert set(task["form"]["properties"]) >= {"package_complete", "missing_documents"}
    for field in ("id", "element_id", "name", "role", "action", "participants", "state", "assignee", "created_at",
                  "due_at", "due_date", "sla_status", "completed_at", "completed_by", "form"):
        assert field in task


def test_the_granted_case_walks_every_step_through_the_committee_timer_to_completion(api):
    case_id = walk_to_committee(api)

    waiting = api.as_("manager").instance(case_id)
    assert waiting["open_tasks"] == []
    committee = [w for w in waiting["waiting"] if w["element_id"] == "wait_committee_meeting"]
    assert committee == [{"element_id": "wait_committee_meeting", "name": "Засідання виконавчого комітету",
                          "fires_at": "2026-02-18T09:00:00+02:00"}]

    api.set_clock("2026-02-18T08:59:00+02:00")
    assert api.tick()["timers_fired"] == 0
    api.set_clock("2026-02-18T09:00:00+02:00")
    assert api.tick()["timers_fired"] == 1
    assert api.tick()["timers_fired"] == 0
    after_meeting = api.as_("manager").instance(case_id)
    assert not [w for w in after_meeting["waiting"] if w["element_id"] == "wait_committee_meeting"]

    do_step(api, case_id, "record_committee_decision")
    registers = api.as_("accounting_head").task_in(case_id, "prepare_payment_registers")
    assert registers["participants"] == [{"role": "programs_head", "action": "У"}]
    assert registers["due_date"] == "2026-02-23"

    head = api.as_("programs_head")
    # In the participant's list by default, marked as participation: not the head's to act on …
    assert [(t["element_id"], t["participation"]) for t in head.tasks(instance_id=case_id)] == [("prepare_payment_registers", True)]
    assert [t["element_id"] for t in head.tasks(instance_id=case_id, all="true")] == ["prepare_payment_registers"]
    assert head.get(f"/tasks/{registers['id']}").json["form"] is not None  # … but the participant sees it
    head.complete(registers["id"], ADDRESS_AID_STEPS["prepare_payment_registers"], expect=403)

    done = do_step(api, case_id, "prepare_payment_registers")
    assert done["task"]["state"] == "completed" and done["task"]["completed_by"] == "accounting_head"
    assert [t["element_id"] for t in done["instance"]["open_tasks"]] == ["notify_applicant"]
    finished = do_step(api, case_id, "notify_applicant")["instance"]
    assert finished["status"] == "completed"
    assert finished["open_tasks"] == [] and finished["waiting"] == []
    assert finished["data"]["decision"] == "granted"
    assert finished["sla"] == {"target": "on_track", "legal": "on_track"}
    assert api.as_("manager").get("/process-instances", query={"status": "completed"}).json["total"] == 1


def test_completing_a_step_answers_the_task_and_the_case_as_it_moved_on(api):
    case_id = register(api)["id"]
    body = do_step(api, case_id, "accept_documents")

    assert set(body) == {"task", "instance"}
    assert body["task"]["element_id"] == "accept_documents"
    assert body["task"]["state"] == "completed"
    assert body["task"]["completed_by"] == "programs_dept"
    assert body["task"]["completed_at"] == "2026-02-02T10:00:00+02:00"
    assert body["instance"]["id"] == case_id
    assert [t["element_id"] for t in body["instance"]["open_tasks"]] == ["form_personal_file"]


def test_the_refused_case_skips_the_payment_registers_and_goes_to_the_notice(api):
    case_id = walk_to_committee(api)
    hold_the_meeting(api, case_id)

    without_ground = {k: v for k, v in REFUSED.items() if k != "refusal_ground"}
    record = api.as_("programs_head").task_in(case_id, "record_committee_decision")
    problem = api.as_("programs_head").post(f"/tasks/{record['id']}/complete", json={"data": without_ground}, expect=422).json
    assert [e["path"] for e in problem["errors"]] == ["/refusal_ground"]  # was accepted (issue 12 item 9)

    refused = do_step(api, case_id, "record_committee_decision", REFUSED)
    [notice] = refused["instance"]["open_tasks"]
    assert notice["element_id"] == "notify_applicant"
    # the refusal's ground reaches whoever writes the applicant's notice
    assert notice["inputs"] == {"decision": "refused", "decision_number": "124", "decision_date": "2026-02-18",
                                "refusal_ground": "income_above_line"}
    assert api.as_("accounting_head").tasks() == []
    finished = do_step(api, case_id, "notify_applicant")["instance"]
    assert finished["status"] == "completed"
    assert finished["data"]["decision"] == "refused"


def test_an_incomplete_package_returns_the_case_with_the_list_of_missing_documents(api):
    case_id = register(api)["id"]
    missing = ["Довідка про доходи всіх членів сім’ї за останні 3 місяці"]

    returned = do_step(api, case_id, "accept_documents", {"package_complete": False, "missing_documents": missing})

    instance = returned["instance"]
    assert instance["status"] == "returned"
    assert instance["data"]["missing_documents"] == missing
    assert instance["open_tasks"] == [] and instance["waiting"] == []
    assert api.as_("programs_dept").tasks() == []
    listed = api.as_("manager").get("/process-instances", query={"status": "returned"}).json
    assert [i["id"] for i in listed["items"]] == [case_id]


def test_the_history_lists_every_event_in_order_with_who_did_it(api):
    case_id = register(api)["id"]
    do_step(api, case_id, "accept_documents")
    api.as_("manager").instance(case_id)

    history = api.as_("manager").get(f"/process-instances/{case_id}/history").json
    events = [(e["event"], e["actor"], (e["data"] or {}).get("element_id")) for e in history["items"]]

    assert events == [
        ("case_registered", "programs_dept", None),
        ("task_claimed", "programs_dept", "accept_documents"),
        ("task_completed", "programs_dept", "accept_documents"),
        ("case_viewed", "manager", None),
        ("case_viewed", "manager", None),  # this very read of the history
    ]
    assert history["total"] == len(history["items"])
    assert history["items"][0]["data"]["number"] == "АД-2026-000001"
    assert history["items"][2]["data"]["data"] == {"package_complete": True}
    assert all(e["at"].endswith("+02:00") for e in history["items"])


def test_the_whole_walk_leaves_a_history_of_registration_steps_timer_and_finish(api):
    case_id = walk_to_committee(api)
    hold_the_meeting(api, case_id)
    for element_id in ("record_committee_decision", "prepare_payment_registers", "notify_applicant"):
        do_step(api, case_id, element_id)

    items = api.as_("manager").get(f"/process-instances/{case_id}/history").json["items"]
    work = [(e["event"], e["actor"], e["data"].get("element_id")) for e in items if e["event"] != "case_viewed"]

    expected = [("case_registered", "programs_dept", None)]
    for element_id in UNTIL_ENDORSEMENT:
        expected += [("task_claimed", ROLE_OF[element_id], element_id), ("task_completed", ROLE_OF[element_id], element_id)]
    expected += [("timer_fired", None, "wait_committee_meeting")]
    for element_id in ("record_committee_decision", "prepare_payment_registers", "notify_applicant"):
        expected += [("task_claimed", ROLE_OF[element_id], element_id), ("task_completed", ROLE_OF[element_id], element_id)]
    expected += [("case_finished", "programs_dept", None)]
    assert work == expected
    assert [e["at"] for e in items] == sorted(e["at"] for e in items)


def test_a_role_not_involved_in_the_case_may_not_read_it_and_a_manager_may_with_the_read_audited(api):
    case_id = register(api)["id"]

    api.as_("case_manager").instance(case_id, expect=403)
    api.as_("case_manager").get(f"/process-instances/{case_id}/history", expect=403)
    assert api.as_("case_manager").get("/process-instances").json["total"] == 0
    seen = api.as_("manager").instance(case_id)
    assert seen["data"]["surname"] == "Шевченко"
    assert api.as_("programs_dept").instance(case_id)["id"] == case_id

    api.as_("admin").instance(case_id, expect=403)  # admins administer; they do not read cases
    items = api.as_("manager").get(f"/process-instances/{case_id}/history").json["items"]
    viewed = [e["actor"] for e in items if e["event"] == "case_viewed"]
    assert viewed == ["manager", "programs_dept", "manager"]


def test_a_role_becomes_involved_when_the_case_reaches_its_step(api):
    case_id = register(api)["id"]
    api.as_("appeals_office").instance(case_id, expect=403)
    for element_id in ("accept_documents", "form_personal_file"):
        do_step(api, case_id, element_id)
    assert api.as_("appeals_office").instance(case_id)["number"] == "АД-2026-000001"


def test_the_process_list_shows_the_latest_version_of_each_process(api):
    listed = {d["key"]: d for d in api.as_("programs_dept").get("/process-definitions").json}

    assert set(listed) == {"address_aid", "social_services_roadmap", "needs_assessment_plan"}
    aid = listed["address_aid"]
    assert (aid["version"], aid["target_days"], aid["legal_days"]) == (1, 20, 30)
    assert aid["name"]


def test_the_card_view_lists_the_thirteen_steps_in_flow_order_with_roles_actions_and_limits(api):
    card = api.as_("director").get("/process-definitions/address_aid").json

    assert (card["key"], card["version"], card["target_days"], card["legal_days"]) == ("address_aid", 1, 20, 30)
    assert [s["element_id"] for s in card["steps"]] == CARD
    assert {s["element_id"]: s["role"] for s in card["steps"]} == ROLE_OF
    steps = {s["element_id"]: s for s in card["steps"]}
    assert steps["director_resolution"]["action"] == "П"
    assert steps["record_committee_decision"]["action"] == "У"
    assert steps["accept_documents"]["action"] == "В"
    assert (steps["register_application"]["days_min"], steps["register_application"]["days"]) == (3, 4)
    assert (steps["accept_documents"]["days_min"], steps["accept_documents"]["days"]) == (None, 1)
    assert steps["prepare_payment_registers"]["participants"] == [{"role": "programs_head", "action": "У"}]
    assert steps["prepare_payment_registers"]["deadline"] == "target"
    assert steps["accept_documents"]["calendar"] == "working" and steps["accept_documents"]["from"] == "entered"
    for step in card["steps"]:
        assert set(step) >= {"element_id", "name", "lane", "role", "action", "participants", "days", "days_min",
                             "calendar", "from", "deadline"}
    start_form = card["start_form"]
    assert start_form["type"] == "object"
    assert "personal_data_consent" in start_form["required"]
    assert {"surname", "family_members", "total_income_3m"} <= set(start_form["properties"])


def test_the_diagram_xml_is_served_as_deployed(api, settings):
    response = api.as_("analyst").get("/process-definitions/address_aid/xml")

    assert response.mimetype == "application/xml"
    assert response.get_data() == (settings.bpmn_dir / "address_aid.bpmn").read_bytes()


def test_the_catalogue_has_the_24_services_numbered_1_to_24_with_providers(api):
    services = api.as_("case_manager").get("/services").json

    assert [s["code"] for s in services] == list(range(1, 25))
    for service in services:
        assert service["name"] and service["content"]
        assert isinstance(service["providers"], list)
    assert any(s["providers"] for s in services)
    assert api.as_("case_manager").get("/services/13").json["code"] == 13


def test_the_providers_come_with_their_contacts_and_the_services_they_give(api):
    providers = api.as_("provider").get("/providers").json

    assert providers
    ids = [p["id"] for p in providers]
    assert len(ids) == len(set(ids))
    assert "territorial_center" in ids
    codes = {c for p in providers for c in p["services"]}
    assert codes and codes <= set(range(1, 25))
    services = api.as_("provider").get("/services").json
    for service in services:
        for provider in service["providers"]:
            assert provider["id"] in ids


@pytest.mark.parametrize("role", ["director", "manager", "analyst", "provider"])
def test_reference_and_definitions_are_open_to_any_user(api, role):
    caller = api.as_(role)
    caller.get("/services")
    caller.get("/providers")
    caller.get("/process-definitions")
    assert caller.get("/me").json == {"login": role, "name": role, "roles": [role]}


def test_the_card_view_warns_that_the_card_s_own_limits_cannot_meet_the_target(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    card = api.as_("manager").get("/process-definitions/address_aid").json
    # 15 working days at the lower limits are at least three weeks, plus the committee wait:
    # no weekday receipt of 2026 meets the 20 days; the 30 days are met on some days only.
    [target, *rest] = card["warnings"]
    assert "цільовий строк 20 дн." in target and "для 261 з 261 робочих днів 2026 року" in target
    assert all("граничний строк 30 дн." in w for w in rest)
    roadmap = api.as_("manager").get("/process-definitions/social_services_roadmap").json
    assert roadmap["warnings"] == []


def test_an_application_without_the_hardship_reason_is_refused_with_its_path(api):
    # Issue 12 item 8: card item 8's first condition; was registered and recommended "grant".
    api.set_clock("2026-02-02T10:00:00+02:00")
    data = {k: v for k, v in APPLICATION.items() if k != "reason"}
    problem = api.as_("programs_dept").post("/process-instances", json={"process_key": "address_aid", "data": data},
                                            expect=422).json
    assert [e["path"] for e in problem["errors"]] == ["/reason"]


def test_an_application_with_a_wrong_iban_checksum_is_refused_with_its_path(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    data = {**APPLICATION, "iban": "UA213223130000026007233566002"}
    problem = api.as_("programs_dept").post("/process-instances", json={"process_key": "address_aid", "data": data},
                                            expect=422).json
    assert [e["path"] for e in problem["errors"]] == ["/iban"]
    assert "IBAN" in problem["errors"][0]["message"]


def test_each_step_keeps_its_own_data_in_order_on_the_case(api):
    # Issue 12 item 10: send_to_director and send_to_executor both stored transferred_on; the first was lost.
    case_id = walk_to_committee(api)
    case = api.as_("manager").instance(case_id)
    steps = [(s["element_id"], s["data"]) for s in case["steps"]]
    assert [e for e, _ in steps] == UNTIL_ENDORSEMENT
    data = dict(steps)
    assert data["send_to_director"] == ADDRESS_AID_STEPS["send_to_director"]
    assert data["send_to_executor"] == ADDRESS_AID_STEPS["send_to_executor"]
    assert case["data"]["transferred_on"] == ADDRESS_AID_STEPS["send_to_director"]["transferred_on"]
    assert case["data"]["executor_transferred_on"] == ADDRESS_AID_STEPS["send_to_executor"]["executor_transferred_on"]
    card = api.as_("manager").get("/process-definitions/address_aid").json
    assert not any("transferred_on" in w for w in card["warnings"])
