"""The roadmap of a social-services recipient (SPEC §3.2) walked on a real database."""

from typing import Any

import pytest
from sqlalchemy import select

from marshrut.engine import cases, definitions, queries
from marshrut.engine.errors import Forbidden, InvalidInput
from marshrut.engine.models import AuditEvent, Task
from marshrut.engine.operation import operation
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker
from tests.walks import ROADMAP_APPLICATION, ROADMAP_STEPS

KEY = "social_services_roadmap"
REFUSAL = {"decision": "refuse", "decision_date": "2026-02-05", "refusal_reason": "Немає підстав"}
NO_REFUSAL_MESSAGE = (
    "Відмова не допускається: у зверненні повідомлено про загрозу життю чи здоров'ю, домашнє насильство, "
    "насильство за ознакою статі або жорстоке поводження з дитиною (Закон «Про соціальні послуги»)."
)


@pytest.fixture
def walker(deployed, settings, actors) -> Walker:
    return Walker(deployed, settings, actors).at(kyiv("2026-02-02 10:00"))


def start(walker: Walker, **changes: Any) -> int:
    return walker.start(KEY, {**ROADMAP_APPLICATION, **changes}, as_role="dept_specialist")


def due_day(walker: Walker, case: int, element_id: str) -> str:
    task = next(t for t in walker.open_tasks(case) if t.element_id == element_id)
    with operation(walker.db, walker.settings) as (_uow, ctx):
        assert ctx.calendar.end_of_day(ctx.calendar.local_date(task.due_at)) == task.due_at  # end of a day
        return ctx.calendar.local_date(task.due_at).isoformat()


def complete_by_id(walker: Walker, task: Task, data: dict[str, Any]) -> None:
    who = f"provider-{task.provider_id}" if task.provider_id else task.role
    with operation(walker.db, walker.settings) as (uow, ctx):
        cases.complete_task(uow, walker.actors[who], ctx, task.id, data)
        uow.commit()


def providing(services: list[int]) -> dict[str, Any]:
    """The decision to provide ``services``, each from the first provider the catalogue gives for it."""
    from marshrut.engine import reference
    return {**ROADMAP_STEPS["decide"], "services": services,
            "providers": {str(c): reference.service_provider_ids(c)[0] for c in services}}


def walk_to_delivery(walker: Walker, services: list[int]) -> int:
    case = start(walker)
    for element_id in ("register_application", "assess_needs"):
        walker.complete(case, element_id, ROADMAP_STEPS[element_id])
    walker.complete(case, "decide", providing(services))
    for element_id in ("notify_decision", "draft_individual_plan", "sign_contract"):
        walker.complete(case, element_id, ROADMAP_STEPS[element_id])
    return case


def task_rows(walker: Walker, case: int, element_id: str) -> list[Task]:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        query = select(Task).where(Task.instance_id == case, Task.element_id == element_id)
        return list(uow.session.scalars(query))


def test_the_normal_path_runs_from_registration_to_two_parallel_deliveries(walker):
    case = start(walker)
    assert walker.instance(case).number == "СП-2026-000001"
    steps = [
        ("register_application", "dept_specialist"), ("assess_needs", "case_manager"),
        ("decide", "dept_specialist"), ("notify_decision", "dept_specialist"),
        ("draft_individual_plan", "case_manager"), ("sign_contract", "case_manager"),
    ]
    for element_id, role in steps:
        [task] = walker.open_tasks(case)
        assert (task.element_id, task.role, task.action) == (element_id, role, "В")
        walker.complete(case, element_id, ROADMAP_STEPS[element_id])

    deliveries = walker.open_tasks(case)
    assert [t.element_id for t in deliveries] == ["deliver_service", "deliver_service"]
    assert sorted(t.inputs["service"] for t in deliveries) == [1, 5]
    assert all(t.inputs == {"service": t.inputs["service"]} and t.role == "provider" for t in deliveries)

    first, second = sorted(deliveries, key=lambda t: t.inputs["service"])
    complete_by_id(walker, first, ROADMAP_STEPS["deliver_service"])
    assert [t.inputs for t in walker.open_tasks(case)] == [{"service": 5}]
    assert walker.instance(case).status == "running"

    complete_by_id(walker, second, ROADMAP_STEPS["deliver_service"])
    instance = walker.instance(case)
    assert instance.status == "completed"
    assert instance.data["services"] == [1, 5]
    assert instance.data["decision"] == "provide"
    assert walker.open_tasks(case) == []


def test_a_crisis_case_goes_straight_to_the_decision_due_24_hours_after_receipt(walker):
    # Was: due at the end of the next working day. Law "On social services", art. 21: one доба.
    case = start(walker, crisis=True)
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    assert walker.open_ids(case) == ["decide"]
    [decide] = walker.open_tasks(case)
    assert decide.due_at == kyiv("2026-02-03 10:00")  # received Mon 2 Feb 10:00
    assert task_rows(walker, case, "assess_needs") == []


def test_a_crisis_case_received_on_friday_at_16_is_due_on_saturday_at_16_with_its_case_dates(walker):
    # Was: due Monday 23:59:59, and the case's target and legal dates stayed at 10 working days.
    walker.at(kyiv("2026-02-06 16:00"))
    case = start(walker, crisis=True)
    [register] = walker.open_tasks(case)
    assert register.due_at == kyiv("2026-02-07 16:00")
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    [decide] = walker.open_tasks(case)
    assert decide.due_at == kyiv("2026-02-07 16:00")
    instance = walker.instance(case)
    assert instance.target_due == instance.legal_due == kyiv("2026-02-07 16:00")


def test_a_crisis_case_turns_at_risk_and_then_breached_by_the_hour(walker):
    walker.at(kyiv("2026-02-06 16:00"))
    case = start(walker, crisis=True)
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    with operation(walker.db, walker.settings) as (_uow, ctx):
        from marshrut.engine.views import case_sla
        instance = walker.instance(case)
        assert case_sla(instance, instance.target_due, kyiv("2026-02-07 16:00")) == "on_track"
        assert case_sla(instance, instance.target_due, kyiv("2026-02-07 16:01")) == "breached"


def test_a_crisis_case_skips_the_needs_assessment_and_still_completes(walker):
    case = start(walker, crisis=True)
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    walker.complete(case, "decide", providing([11]))
    for element_id in ("notify_decision", "draft_individual_plan", "sign_contract", "deliver_service"):
        walker.complete(case, element_id, ROADMAP_STEPS[element_id])
    assert walker.instance(case).status == "completed"
    assert task_rows(walker, case, "assess_needs") == []


def test_refusing_a_case_that_reports_violence_is_rejected_with_the_law_and_changes_nothing(walker):
    case = start(walker, violence_or_threat=True)
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    walker.complete(case, "assess_needs", ROADMAP_STEPS["assess_needs"])
    before = walker.instance(case)

    with pytest.raises(InvalidInput) as error:
        walker.complete(case, "decide", REFUSAL)
    assert error.value.message == NO_REFUSAL_MESSAGE

    after = walker.instance(case)
    assert after.status == "running"
    assert after.state == before.state
    assert "decision" not in after.data
    [task] = walker.open_tasks(case)
    assert (task.element_id, task.state, task.completed_by) == ("decide", "ready", None)
    with operation(walker.db, walker.settings) as (uow, _ctx):
        events = list(uow.session.scalars(select(AuditEvent.event).where(AuditEvent.instance_id == case)))
    assert events.count("task_completed") == 2  # register and assess only


def test_a_violence_case_may_still_be_granted_services(walker):
    case = start(walker, violence_or_threat=True)
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    walker.complete(case, "assess_needs", ROADMAP_STEPS["assess_needs"])
    walker.complete(case, "decide", ROADMAP_STEPS["decide"])
    assert walker.open_ids(case) == ["notify_decision"]


def test_an_ordinary_case_may_be_refused_and_ends_after_the_notice(walker):
    case = start(walker)
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    walker.complete(case, "assess_needs", ROADMAP_STEPS["assess_needs"])
    walker.complete(case, "decide", REFUSAL)
    assert walker.open_ids(case) == ["notify_decision"]
    walker.complete(case, "notify_decision", ROADMAP_STEPS["notify_decision"])
    instance = walker.instance(case)
    assert instance.status == "completed"
    assert instance.data["decision"] == "refuse"
    assert walker.open_ids(case) == []
    assert task_rows(walker, case, "draft_individual_plan") == []


def test_assessment_and_decision_are_due_counted_in_working_days_from_receipt(walker):
    case = start(walker)  # received Mon 2026-02-02
    assert due_day(walker, case, "register_application") == "2026-02-03"
    walker.at(kyiv("2026-02-03 09:00"))
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    assert due_day(walker, case, "assess_needs") == "2026-02-09"  # 5 working days from receipt, not from entry
    walker.at(kyiv("2026-02-06 12:00"))
    walker.complete(case, "assess_needs", ROADMAP_STEPS["assess_needs"])
    assert due_day(walker, case, "decide") == "2026-02-16"  # 10 working days from receipt


def test_the_notice_is_due_three_working_days_after_the_decision(walker):
    case = start(walker)
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    walker.complete(case, "assess_needs", ROADMAP_STEPS["assess_needs"])
    walker.at(kyiv("2026-02-12 17:30"))  # decided on Thursday
    walker.complete(case, "decide", ROADMAP_STEPS["decide"])
    assert due_day(walker, case, "notify_decision") == "2026-02-17"  # Fri, Mon, Tue


def test_a_case_restored_mid_delivery_with_a_fresh_spec_keeps_its_services(walker):
    case = walk_to_delivery(walker, [1, 5, 13])
    definitions._COMPILED.clear()
    first, second, third = sorted(walker.open_tasks(case), key=lambda t: t.inputs["service"])
    complete_by_id(walker, first, ROADMAP_STEPS["deliver_service"])
    assert walker.instance(case).data["services"] == [1, 5, 13]

    definitions._COMPILED.clear()
    complete_by_id(walker, second, ROADMAP_STEPS["deliver_service"])
    definitions._COMPILED.clear()
    assert [t.inputs for t in walker.open_tasks(case)] == [{"service": 13}]
    complete_by_id(walker, third, ROADMAP_STEPS["deliver_service"])

    instance = walker.instance(case)
    assert instance.status == "completed"
    assert instance.data["services"] == [1, 5, 13]


def test_deciding_to_provide_without_services_is_refused_by_the_form(walker):
    case = start(walker)
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    walker.complete(case, "assess_needs", ROADMAP_STEPS["assess_needs"])
    with pytest.raises(InvalidInput) as error:
        walker.complete(case, "decide", {"decision": "provide", "decision_date": "2026-02-05"})
    assert "/services" in [e.path for e in error.value.errors]
    assert walker.open_ids(case) == ["decide"]


@pytest.mark.parametrize("category", ["domestic_or_gender_violence", "child_abuse"])
def test_refusal_is_rejected_when_a_category_means_violence_even_without_the_checkbox(walker, category):
    # Was: only the checkbox counted; a case of category "domestic violence" could be refused.
    case = start(walker, violence_or_threat=False, circumstances=["financial_hardship", category])
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    walker.complete(case, "assess_needs", ROADMAP_STEPS["assess_needs"])
    with pytest.raises(InvalidInput) as error:
        walker.complete(case, "decide", REFUSAL)
    assert error.value.message == NO_REFUSAL_MESSAGE
    assert walker.open_ids(case) == ["decide"]


def test_refusal_stays_possible_for_other_categories(walker):
    case = start(walker, violence_or_threat=False, circumstances=["old_age", "homelessness"])
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    walker.complete(case, "assess_needs", ROADMAP_STEPS["assess_needs"])
    walker.complete(case, "decide", REFUSAL)
    assert walker.open_ids(case) == ["notify_decision"]


def test_every_no_refusal_category_of_the_reference_data_is_in_the_diagram_s_rule(deployed, settings):
    from marshrut.engine import reference
    with operation(deployed, settings) as (uow, _ctx):
        rule = definitions.compiled(definitions.latest(uow, KEY)).step("decide")["reject_if"]
    for item in reference.circumstances():
        assert (f'"{item["code"]}"' in rule) == bool(item.get("no_refusal")), item["code"]


def test_each_delivery_branch_is_bound_to_the_provider_the_decision_named(walker):
    # Issue 12 item 4: any provider user completed any branch.
    case = walk_to_delivery(walker, [1, 5])  # providers: 1 -> territorial_center, 5 -> myloserdia
    deliveries = {t.inputs["service"]: t for t in walker.open_tasks(case)}
    assert {s: t.provider_id for s, t in deliveries.items()} == {1: "territorial_center", 5: "myloserdia"}
    with operation(walker.db, walker.settings) as (uow, ctx):
        mine = queries.list_tasks(uow, walker.actors["provider-myloserdia"], ctx.now())
        assert [(t.inputs["service"], t.provider_id) for t in mine.items] == [(5, "myloserdia")]
        assert queries.list_tasks(uow, walker.actors["provider-utog"], ctx.now()).items == []
        assert queries.list_tasks(uow, walker.actors["provider"], ctx.now()).items == []  # bound to no one
        assert len(queries.list_tasks(uow, walker.actors["manager"], ctx.now(), everything=True).items) == 2
    for outsider in ("provider-utog", "provider-territorial_center", "provider"):
        with operation(walker.db, walker.settings) as (uow, ctx), pytest.raises(Forbidden):
            cases.complete_task(uow, walker.actors[outsider], ctx, deliveries[5].id, ROADMAP_STEPS["deliver_service"])
    complete_by_id(walker, deliveries[5], ROADMAP_STEPS["deliver_service"])
    complete_by_id(walker, deliveries[1], ROADMAP_STEPS["deliver_service"])
    assert walker.instance(case).status == "completed"


def test_a_crisis_case_is_forecast_within_its_24_hours_even_when_ordinary_decisions_take_days(walker):
    import uuid

    from marshrut.engine import forecast
    parent = start(walker)
    with operation(walker.db, walker.settings) as (uow, _ctx):  # 20 ordinary decisions of 6 days each
        for _ in range(20):
            uow.session.add(Task(instance_id=parent, process_key=KEY, spiff_id=str(uuid.uuid4()), element_id="decide",
                                 name="decide", role="dept_specialist", action="В", participants=[], participant_roles=",",
                                 state="completed", created_at=kyiv("2026-01-10 10:00"), completed_at=kyiv("2026-01-16 10:00"),
                                 completed_by="history", inputs={}))
        uow.commit()
    forecast.clear_history_cache()
    case = start(walker, crisis=True)
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    instance = walker.instance(case)
    assert instance.forecast_at <= instance.target_due == kyiv("2026-02-03 10:00")
    ordinary = start(walker)
    assert walker.instance(ordinary).forecast_basis == "card"  # assess_needs has no history yet
