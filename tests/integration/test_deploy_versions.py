"""Deploying versions: a change makes a new version, the same files make none, running cases
keep the version they started on (SPEC §1, bpmn/README.md)."""

import json

import pytest
from sqlalchemy import func, select

from marshrut.engine import definitions
from marshrut.engine.errors import InvalidInput
from marshrut.engine.models import Definition
from marshrut.engine.operation import operation
from tests.conftest import ROOT, kyiv
from tests.integration.engine_walk import Walker

MINIMAL = ROOT / "tests" / "data" / "minimal"
V1 = (MINIMAL / "mini.bpmn").read_text(encoding="utf-8")
FORMS = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (MINIMAL / "forms" / "mini").glob("*.json")}
STEP_TWO_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Другий крок", "type": "object",
    "properties": {"checked": {"type": "boolean", "title": "Перевірено"}}, "required": ["checked"],
}
STEP_TWO = """<bpmn:userTask id="step_two" name="Другий крок">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="action" value="В" />
          <camunda:property name="days" value="3" />
        </camunda:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_2</bpmn:incoming>
      <bpmn:outgoing>flow_3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="finish" name="Кінець">
      <bpmn:incoming>flow_3</bpmn:incoming>
    </bpmn:endEvent>"""


def version_two() -> str:
    """The minimal process with a second step after the first."""
    text = V1.replace("""<bpmn:endEvent id="finish" name="Кінець">
      <bpmn:incoming>flow_2</bpmn:incoming>
    </bpmn:endEvent>""", STEP_TWO)
    text = text.replace('<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="finish" />',
                        '<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="step_two" />'
                        '<bpmn:sequenceFlow id="flow_3" sourceRef="step_two" targetRef="finish" />')
    text = text.replace("<bpmn:flowNodeRef>step_one</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>step_one</bpmn:flowNodeRef><bpmn:flowNodeRef>step_two</bpmn:flowNodeRef>")
    assert text.count("step_two") >= 4
    return text


def bundle(text: str, forms: dict | None = None) -> definitions.Bundle:
    return definitions.Bundle("mini.bpmn", text.encode("utf-8"), {}, forms if forms is not None else FORMS)


def deploy(db, settings, text: str, forms: dict | None = None) -> tuple[int, bool]:
    with operation(db, settings) as (uow, ctx):
        row, created = definitions.deploy(uow, bundle(text, forms), "analyst", ctx.now())
        uow.commit()
        return row.version, created


def version_count(db, settings) -> int:
    with operation(db, settings) as (uow, _ctx):
        return uow.session.scalar(select(func.count()).select_from(Definition).where(Definition.key == "mini"))


def version_of_case(walker: Walker, case: int) -> int:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        return uow.session.get(Definition, walker.instance(case).definition_id).version


@pytest.fixture
def walker(db, settings, actors) -> Walker:
    return Walker(db, settings, actors).at(kyiv("2026-02-02 10:00"))


def test_the_first_deploy_is_version_one_and_a_changed_diagram_is_version_two(walker, settings):
    assert deploy(walker.db, settings, V1) == (1, True)
    assert deploy(walker.db, settings, version_two(), {**FORMS, "step_two": STEP_TWO_FORM}) == (2, True)
    with operation(walker.db, settings) as (uow, _ctx):
        assert [d.version for d in definitions.versions(uow, "mini")] == [2, 1]
        latest = definitions.latest(uow, "mini")
        assert [s["element_id"] for s in latest.steps] == ["step_one", "step_two"]
        assert latest.deployed_by == "analyst"


def test_an_identical_redeploy_creates_nothing(walker, settings):
    assert deploy(walker.db, settings, V1) == (1, True)
    assert deploy(walker.db, settings, V1) == (1, False)
    assert version_count(walker.db, settings) == 1


def test_a_changed_form_alone_is_a_new_version(walker, settings):
    deploy(walker.db, settings, V1)
    changed = {**FORMS, "step_one": {**FORMS["step_one"], "title": "Перший крок (нова редакція)"}}
    assert deploy(walker.db, settings, V1, changed) == (2, True)


def test_a_redeploy_of_an_older_diagram_after_a_newer_one_is_a_new_version(walker, settings):
    deploy(walker.db, settings, V1)
    deploy(walker.db, settings, version_two(), {**FORMS, "step_two": STEP_TWO_FORM})
    assert deploy(walker.db, settings, V1) == (3, True)


def test_an_invalid_diagram_deploys_nothing(walker, settings):
    deploy(walker.db, settings, V1)
    with pytest.raises(InvalidInput):
        deploy(walker.db, settings, V1.replace('value="В"', 'value="B"'))
    assert version_count(walker.db, settings) == 1


def test_a_case_started_on_version_one_finishes_on_version_one_while_new_cases_get_version_two(walker, settings):
    deploy(walker.db, settings, V1)
    old = walker.start("mini", {"surname": "Бондар"})
    assert walker.open_ids(old) == ["step_one"]

    assert deploy(walker.db, settings, version_two(), {**FORMS, "step_two": STEP_TWO_FORM}) == (2, True)
    new = walker.start("mini", {"surname": "Мельник"})
    assert (version_of_case(walker, old), version_of_case(walker, new)) == (1, 2)

    definitions._COMPILED.clear()  # as after a restart: versions are compiled again from the rows
    walker.complete(old, "step_one", {"done_on": "2026-02-03"})
    assert walker.open_ids(old) == []
    assert walker.instance(old).status == "completed"
    assert version_of_case(walker, old) == 1

    walker.complete(new, "step_one", {"done_on": "2026-02-03"})
    assert walker.open_ids(new) == ["step_two"]
    assert walker.instance(new).status == "running"
    walker.complete(new, "step_two", {"checked": True})
    assert walker.instance(new).status == "completed"


def test_the_numbering_goes_on_across_versions(walker, settings):
    deploy(walker.db, settings, V1)
    first = walker.start("mini", {"surname": "Бондар"})
    deploy(walker.db, settings, version_two(), {**FORMS, "step_two": STEP_TWO_FORM})
    second = walker.start("mini", {"surname": "Мельник"})
    assert [walker.instance(c).number for c in (first, second)] == ["МП-2026-000001", "МП-2026-000002"]
