"""A technological card imported from DOCX deploys and a case of it walks to the end (engine level)."""

import pytest

from marshrut.engine import card_to_bpmn, definitions, queries, tech_card, users
from marshrut.engine.errors import InvalidInput
from marshrut.engine.operation import operation
from tests import card_docs
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker

APPLICANT = {"surname": "Коваленко", "first_name": "Ольга", "address": "м. Житомир, вул. Київська, 1",
             "phone": "+38 (050) 123-45-67", "request": "Прошу надати послугу", "personal_data_consent": True}


def deploy_card(db, card: bytes, key: str) -> tuple[definitions.Definition, card_to_bpmn.Generated]:
    generated = card_to_bpmn.generate(tech_card.parse_docx(card), key)
    bundle = definitions.Bundle(f"{key}.bpmn", generated.bpmn.encode(), {}, generated.forms)
    with db.unit_of_work() as uow:
        row, _created = definitions.deploy(uow, bundle, "analyst", kyiv("2026-01-05 09:00"))
        uow.commit()
        return row, generated


def with_new_role_users(db, walker: Walker, roles: dict[str, str]) -> None:
    with db.unit_of_work() as uow:
        for role in roles:
            user, _token = users.create_user(uow, role, [role], kyiv("2026-01-05 09:00"))
            walker.actors[role] = users.actor_of(user)
        uow.commit()


def answer(form: dict) -> dict:
    return {"approved": True, "resolution": "Погоджено"} if "approved" in form["properties"] else {"done": True}


@pytest.mark.parametrize("card, key", [
    (card_docs.seed_card, "aid_from_card"), (card_docs.housing_card, "housing_subsidy"),
    (card_docs.certificate_card, "family_certificate"),
])
def test_an_imported_card_deploys_and_a_case_walks_every_stage_to_the_end(db, settings, actors, card, key):
    row, generated = deploy_card(db, card(), key)
    walker = Walker(db, settings, dict(actors)).at(kyiv("2026-02-02 10:00"))
    with_new_role_users(db, walker, generated.new_roles)
    case = walker.start(key, APPLICANT)
    walked = []
    for step in row.steps:
        if walker.open_ids(case) == [] and walker.instance(case).status == "running":
            walker.at(kyiv("2026-02-19 09:00")).tick()  # the committee's Wednesday has come
        assert walker.open_ids(case) == [step["element_id"]]
        task = walker.open_tasks(case)[0]
        assert (task.role, task.action) == (step["role"], step["action"])
        walker.complete(case, step["element_id"], answer(row.forms[step["element_id"]]))
        walked.append(step["element_id"])
    assert walker.instance(case).status == "completed"
    assert len(walked) == len(tech_card.parse_docx(card()).rows)


def test_the_seed_cards_diagram_has_the_cards_limits_committee_wait_and_totals(db, settings):
    row, _generated = deploy_card(db, card_docs.seed_card(), "aid_from_card")
    assert row.properties == {"target_days": "20", "legal_days": "30"}
    steps = {s["name"][:30]: s for s in row.steps}
    register = steps["Реєстрація заяви через відділ "]
    assert (register["role"], register["days_min"], register["days"]) == ("appeals_office", 3, 4)
    registers = row.steps[11]
    assert (registers["role"], registers["action"], registers["deadline"]) == ("accounting_head", "В", "target")
    assert registers["participants"] == [{"role": "programs_head", "action": "У"}]
    assert row.steps[4]["action"] == "П" and row.steps[4]["role"] == "director"
    assert "next_committee_meeting(today())" in row.bpmn_xml
    assert row.bpmn_xml.count("<bpmndi:BPMNShape") == 13 + 3 + 1 + 7  # tasks, start/timer/end, pool, lanes


def test_the_committee_stage_waits_for_the_first_or_third_wednesday(db, settings, actors):
    row, _generated = deploy_card(db, card_docs.seed_card(), "aid_from_card")
    walker = Walker(db, settings, dict(actors)).at(kyiv("2026-02-02 10:00"))
    case = walker.start("aid_from_card", APPLICANT)
    for index, step in enumerate(row.steps[:10]):
        if index == 9:
            walker.at(kyiv("2026-02-12 15:00"))  # the draft decision endorsed on Thursday
        walker.complete(case, step["element_id"], answer(row.forms[step["element_id"]]))
    assert walker.open_ids(case) == []
    with operation(walker.db, settings) as (uow, ctx):
        timers = queries.waiting_timers(uow, case)
        assert [ctx.calendar.local_date(t.fires_at).isoformat() for t in timers] == ["2026-02-18"]


def test_a_role_no_diagram_declares_is_still_refused_for_users(db):
    with db.unit_of_work() as uow, pytest.raises(InvalidInput):
        users.create_user(uow, "x", ["sektor_zhytlovykh_subsydii"], kyiv("2026-01-05 09:00"))
