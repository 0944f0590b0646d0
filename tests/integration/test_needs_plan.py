"""The annual needs-assessment plan (SPEC §3.3): ten measures, one at a time, all due by 31 December."""

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from marshrut.engine import cases, definitions
from marshrut.engine.errors import Conflict, Forbidden
from marshrut.engine.models import Task
from marshrut.engine.operation import operation
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker

KEY = "needs_assessment_plan"
MEASURES = [
    "social_research", "analyse_development_documents", "analyse_service_system", "monitor_service_providers",
    "assess_needs_satisfaction", "forecast_vulnerable_groups", "define_required_services", "approve_needs_report",
    "introduce_services", "approve_services_list",
]


def result(element_id: str) -> dict[str, str]:
    return {"result": f"Виконано: {element_id}", "completed_on": "2026-03-02"}


@pytest.fixture
def walker(deployed, settings, actors) -> Walker:
    return Walker(deployed, settings, actors).at(kyiv("2026-02-02 10:00"))


def local_due(walker: Walker, task: Task) -> str:
    with operation(walker.db, walker.settings) as (_uow, ctx):
        moment = task.due_at.astimezone(ctx.calendar.tz)
    return moment.isoformat()


def test_the_diagram_lists_ten_measures_research_first_and_the_approved_list_last(deployed, settings):
    with operation(deployed, settings) as (uow, _ctx):
        definition = definitions.latest(uow, KEY)
        steps = definition.steps
    assert [s["element_id"] for s in steps] == MEASURES
    assert all((s["role"], s["action"], s["deadline"]) == ("dept_specialist", "В", "year_end") for s in steps)


def test_one_instance_walks_the_ten_measures_in_turn_each_due_on_31_december(walker):
    case = walker.start(KEY, {"year": 2026}, as_role="dept_specialist")
    assert walker.instance(case).number == "ПП-2026-000001"
    seen = []
    for day, element_id in enumerate(MEASURES, start=3):
        [task] = walker.open_tasks(case)
        assert (task.element_id, task.role) == (element_id, "dept_specialist")
        assert local_due(walker, task) == "2026-12-31T23:59:59+02:00"  # a Thursday: no shift
        seen.append(task.element_id)
        walker.at(kyiv(f"2026-03-{day:02d} 11:00"))
        walker.complete(case, element_id, result(element_id))
    assert seen == MEASURES
    instance = walker.instance(case)
    assert instance.status == "completed"
    assert walker.open_tasks(case) == []
    with operation(walker.db, walker.settings) as (uow, _ctx):
        rows = list(uow.session.scalars(select(Task).where(Task.instance_id == case).order_by(Task.id)))
    assert [(r.element_id, r.state) for r in rows] == [(m, "completed") for m in MEASURES]


def test_the_year_end_moves_to_the_next_working_day_when_31_december_is_a_day_off(deployed, settings, actors):
    holiday = replace(settings, extra_holidays=(date(2026, 12, 31),))
    walker = Walker(deployed, holiday, actors).at(kyiv("2026-02-02 10:00"))
    case = walker.start(KEY, {"year": 2026}, as_role="dept_specialist")
    [task] = walker.open_tasks(case)
    assert local_due(walker, task) == "2027-01-01T23:59:59+02:00"  # Friday 1 January 2027


def test_only_the_department_may_work_the_plan(walker):
    case = walker.start(KEY, {"year": 2026}, as_role="dept_specialist")
    with pytest.raises(Forbidden):
        walker.complete(case, "social_research", result("social_research"), as_role="programs_dept")
    assert walker.open_ids(case) == ["social_research"]


def test_a_plan_takes_its_year_from_the_form_not_from_the_receipt(walker):
    # Was: a plan for 2027 registered in December 2026 was due on 31 December 2026 (issue 12 item 11).
    walker.at(kyiv("2026-12-10 10:00"))
    case = walker.start(KEY, {"year": 2027}, as_role="dept_specialist")
    [task] = walker.open_tasks(case)
    assert local_due(walker, task) == "2027-12-31T23:59:59+02:00"  # a Friday
    assert walker.instance(case).number == "ПП-2027-000001"


def test_a_second_plan_for_the_same_year_is_refused_and_a_cancelled_one_does_not_count(walker):
    first = walker.start(KEY, {"year": 2026}, as_role="dept_specialist")
    with pytest.raises(Conflict, match="2026"):
        walker.start(KEY, {"year": 2026}, as_role="dept_specialist")
    walker.start(KEY, {"year": 2027}, as_role="dept_specialist")  # another year is fine
    with operation(walker.db, walker.settings) as (uow, ctx):
        cases.cancel_case(uow, walker.actors["manager"], ctx, first, "Помилково зареєстровано")
        uow.commit()
    again = walker.start(KEY, {"year": 2026}, as_role="dept_specialist")
    assert walker.instance(again).status == "running"


def test_the_last_measure_approves_the_list_for_the_coming_year(deployed, settings):
    with operation(deployed, settings) as (uow, _ctx):
        steps = definitions.latest(uow, KEY).steps
    assert steps[-1]["name"] == "Затвердження переліку соціальних послуг на наступний рік"
