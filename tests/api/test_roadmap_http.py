"""The recipient's roadmap and the annual needs-assessment plan over HTTP (SPEC §3.2, §3.3, §6)."""

from typing import Any

from marshrut.engine.models import AuditEvent
from tests.api.conftest import Http, count_rows
from tests.walks import ROADMAP_APPLICATION, ROADMAP_STEPS

KEY = "social_services_roadmap"
NO_REFUSAL_MESSAGE = (
    "Відмова не допускається: у зверненні повідомлено про загрозу життю чи здоров'ю, домашнє насильство, "
    "насильство за ознакою статі або жорстоке поводження з дитиною (Закон «Про соціальні послуги»)."
)
REFUSAL = {"decision": "refuse", "decision_date": "2026-02-05", "refusal_reason": "Немає підстав"}
MEASURES = [
    "social_research", "analyse_development_documents", "analyse_service_system", "monitor_service_providers",
    "assess_needs_satisfaction", "forecast_vulnerable_groups", "define_required_services", "approve_needs_report",
    "introduce_services", "approve_services_list",
]


def register(api: Http, **changes: Any) -> dict[str, Any]:
    """Mon 2026-02-02 10:00: a department specialist registers an application at the «Прозорий офіс»."""
    api.set_clock("2026-02-02T10:00:00+02:00")
    return api.as_("dept_specialist").start(KEY, {**ROADMAP_APPLICATION, **changes})


def step(api: Http, role: str, case_id: int, element_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """``role`` finds the step in its list and completes it; returns ``{task, instance}``."""
    caller = api.as_(role)
    task = caller.task_in(case_id, element_id)
    assert (task["role"], task["action"]) == (role, "В")
    return caller.complete(task["id"], ROADMAP_STEPS[element_id] if data is None else data)


def open_steps(api: Http, case_id: int) -> list[str]:
    return sorted(t["element_id"] for t in api.as_("manager").instance(case_id)["open_tasks"])


def test_the_normal_path_runs_from_registration_to_the_provider_s_delivery(api):
    case = register(api)
    case_id = case["id"]
    assert case["number"] == "СП-2026-000001"
    assert [t["element_id"] for t in case["open_tasks"]] == ["register_application"]

    path = [("register_application", "dept_specialist"), ("assess_needs", "case_manager"), ("decide", "dept_specialist"),
            ("notify_decision", "dept_specialist"), ("draft_individual_plan", "case_manager"),
            ("sign_contract", "case_manager")]
    for element_id, role in path:
        assert open_steps(api, case_id) == [element_id]
        step(api, role, case_id, element_id)

    deliveries = api.as_("manager").tasks(instance_id=case_id, all=True)
    assert [t["element_id"] for t in deliveries] == ["deliver_service", "deliver_service"]
    assert sorted((t["inputs"]["service"], t["provider_id"]) for t in deliveries) == [(1, "territorial_center"), (5, "myloserdia")]
    assert {t["role"] for t in deliveries} == {"provider"}
    # each provider's staff see only their own branch; a provider user bound to no one sees none
    assert [t["inputs"]["service"] for t in api.as_("provider-myloserdia").tasks(instance_id=case_id)] == [5]
    assert [t["inputs"]["service"] for t in api.as_("provider-territorial_center").tasks(instance_id=case_id)] == [1]
    assert api.as_("provider").tasks(instance_id=case_id) == []
    night_shelter = next(t for t in deliveries if t["inputs"]["service"] == 5)
    api.as_("provider-utog").post(f"/tasks/{night_shelter['id']}/complete", json={"data": ROADMAP_STEPS["deliver_service"]}, expect=403)


def test_two_services_open_two_parallel_deliveries_and_the_case_ends_when_both_are_done(api):
    case_id = register(api)["id"]
    for element_id, role in [("register_application", "dept_specialist"), ("assess_needs", "case_manager")]:
        step(api, role, case_id, element_id)
    step(api, "dept_specialist", case_id, "decide",
         {**ROADMAP_STEPS["decide"], "services": [1, 13], "providers": {"1": "territorial_center", "13": "territorial_center"}})
    for element_id, role in [("notify_decision", "dept_specialist"), ("draft_individual_plan", "case_manager"),
                             ("sign_contract", "case_manager")]:
        step(api, role, case_id, element_id)

    provider = api.as_("provider-territorial_center")
    first, second = sorted(provider.tasks(instance_id=case_id), key=lambda t: t["inputs"]["service"])
    assert (first["inputs"], second["inputs"]) == ({"service": 1}, {"service": 13})
    assert provider.get(f"/tasks/{first['id']}").json["form"]["required"] == ["delivered_on"]

    halfway = provider.complete(first["id"], ROADMAP_STEPS["deliver_service"])["instance"]
    assert halfway["status"] == "running"
    assert [t["id"] for t in halfway["open_tasks"]] == [second["id"]]

    finished = provider.complete(second["id"], ROADMAP_STEPS["deliver_service"])["instance"]
    assert finished["status"] == "completed"
    assert finished["open_tasks"] == []
    assert finished["data"]["services"] == [1, 13]
    assert provider.tasks() == []


def test_a_decision_naming_a_provider_that_does_not_offer_the_service_is_refused_with_its_path(api):
    case_id = register(api)["id"]
    step(api, "dept_specialist", case_id, "register_application")
    step(api, "case_manager", case_id, "assess_needs")
    decide = api.as_("dept_specialist").task_in(case_id, "decide")
    data = {**ROADMAP_STEPS["decide"], "services": [5], "providers": {"5": "utog"}}
    problem = api.as_("dept_specialist").post(f"/tasks/{decide['id']}/complete", json={"data": data}, expect=422).json
    assert any(e["path"].startswith("/providers") for e in problem["errors"]), problem


def test_a_crisis_case_goes_to_the_decision_right_after_registration_due_24_hours_from_receipt(api):
    # Was: due at the end of the next working day (Tue 23:59:59). Law "On social services", art. 21.
    case_id = register(api, crisis=True)["id"]
    api.set_clock("2026-02-02T15:00:00+02:00")

    moved = step(api, "dept_specialist", case_id, "register_application")["instance"]

    [decide] = moved["open_tasks"]
    assert decide["element_id"] == "decide"
    assert decide["due_at"] == "2026-02-03T10:00:00+02:00"  # received Mon 2 Feb 10:00
    assert moved["target_date"] == moved["legal_date"] == "2026-02-03"
    assert api.as_("case_manager").tasks() == []  # no needs assessment in a crisis


def test_an_ordinary_case_is_decided_within_ten_working_days_of_receipt(api):
    case_id = register(api)["id"]
    step(api, "dept_specialist", case_id, "register_application")
    moved = step(api, "case_manager", case_id, "assess_needs")["instance"]
    assert [(t["element_id"], t["due_date"]) for t in moved["open_tasks"]] == [("decide", "2026-02-16")]


def test_refusing_a_case_that_reports_violence_is_rejected_with_the_law_s_message_and_the_task_stays_ready(api, db):
    case_id = register(api, violence_or_threat=True)["id"]
    step(api, "dept_specialist", case_id, "register_application")
    step(api, "case_manager", case_id, "assess_needs")
    decide = api.as_("dept_specialist").task_in(case_id, "decide")
    events_before = count_rows(db, AuditEvent, instance_id=case_id)

    problem = api.as_("dept_specialist").complete(decide["id"], REFUSAL, expect=422)

    assert problem["detail"] == NO_REFUSAL_MESSAGE
    assert problem["status"] == 422
    assert problem["errors"] and all(e["message"] == NO_REFUSAL_MESSAGE for e in problem["errors"])
    still = api.as_("dept_specialist").get(f"/tasks/{decide['id']}").json
    assert (still["state"], still["completed_by"], still["completed_at"]) == ("ready", None, None)
    assert count_rows(db, AuditEvent, instance_id=case_id) == events_before
    case = api.as_("manager").instance(case_id)
    assert case["status"] == "running" and "decision" not in case["data"]
    assert [t["element_id"] for t in case["open_tasks"]] == ["decide"]

    granted = api.as_("dept_specialist").complete(decide["id"], ROADMAP_STEPS["decide"])
    assert [t["element_id"] for t in granted["instance"]["open_tasks"]] == ["notify_decision"]


def test_an_ordinary_case_may_be_refused_and_ends_after_the_notice(api):
    case_id = register(api)["id"]
    step(api, "dept_specialist", case_id, "register_application")
    step(api, "case_manager", case_id, "assess_needs")
    step(api, "dept_specialist", case_id, "decide", REFUSAL)
    finished = step(api, "dept_specialist", case_id, "notify_decision")["instance"]
    assert finished["status"] == "completed"
    assert finished["data"]["decision"] == "refuse"


def test_the_roadmap_card_names_the_steps_and_roles_in_flow_order(api):
    card = api.as_("case_manager").get(f"/process-definitions/{KEY}").json
    assert [(s["element_id"], s["role"]) for s in card["steps"]] == [
        ("register_application", "dept_specialist"), ("assess_needs", "case_manager"), ("decide", "dept_specialist"),
        ("notify_decision", "dept_specialist"), ("draft_individual_plan", "case_manager"),
        ("sign_contract", "case_manager"), ("deliver_service", "provider"),
    ]
    assert {"crisis", "violence_or_threat"} <= set(card["start_form"]["properties"])
    decide = next(s for s in card["steps"] if s["element_id"] == "decide")
    assert (decide["days"], decide["from"]) == (10, "received")


def test_the_annual_plan_walks_its_ten_measures_in_order_all_due_on_31_december(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    specialist = api.as_("dept_specialist")
    case = specialist.start("needs_assessment_plan", {"year": 2026})
    assert case["number"] == "ПП-2026-000001"

    seen = []
    for day, element_id in enumerate(MEASURES, start=3):
        [task] = specialist.tasks(instance_id=case["id"])
        assert (task["element_id"], task["role"]) == (element_id, "dept_specialist")
        assert task["due_date"] == "2026-12-31"
        assert task["due_at"] == "2026-12-31T23:59:59+02:00"
        seen.append(element_id)
        api.set_clock(f"2026-03-{day:02d}T11:00:00+02:00")
        moved = specialist.complete(task["id"], {"result": f"Виконано: {element_id}", "completed_on": "2026-03-02"})

    assert seen == MEASURES
    assert moved["instance"]["status"] == "completed"
    card = specialist.get("/process-definitions/needs_assessment_plan").json
    assert [s["element_id"] for s in card["steps"]] == MEASURES
    done = specialist.tasks(instance_id=case["id"], state="completed", per_page=50)
    assert sorted(t["element_id"] for t in done) == sorted(MEASURES)


def test_a_second_plan_for_the_same_year_is_answered_409_and_registers_nothing(api):
    api.set_clock("2026-02-02T10:00:00+02:00")
    specialist = api.as_("dept_specialist")
    specialist.start("needs_assessment_plan", {"year": 2026})
    body = specialist.post("/process-instances", json={"process_key": "needs_assessment_plan", "data": {"year": 2026}},
                           expect=409).json
    assert "2026" in body["detail"]
    listed = api.as_("manager").get("/process-instances", query={"process_key": "needs_assessment_plan"}).json
    assert listed["total"] == 1
