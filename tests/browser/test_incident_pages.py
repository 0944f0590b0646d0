"""The incidents page: an analyst sees the failed element on the diagram, moves the case to the
fixed version and retries it, without touching the database."""

from marshrut.engine import cases, definitions
from marshrut.engine.operation import operation
from tests.browser.conftest import login
from tests.conftest import kyiv, set_now
from tests.incident_diagrams import FAILING_SCRIPT, FAILURE_TEXT, with_script
from tests.integration.engine_walk import Walker


def deploy(db, settings, bundle) -> None:
    with operation(db, settings) as (uow, ctx):
        definitions.deploy(uow, bundle, "analyst", ctx.now())
        uow.commit()


def failed_case(db, settings, actors):
    """A ``mini`` case whose script after the first step failed."""
    set_now(db, kyiv("2026-02-02 10:00"))
    deploy(db, settings, with_script(FAILING_SCRIPT))
    with operation(db, settings) as (uow, ctx):
        instance = cases.start_case(uow, actors["programs_dept"], ctx, "mini", {"surname": "Коваль"})
        uow.commit()
    Walker(db, settings, actors).complete(instance.id, "step_one", {"done_on": "2026-02-02"})
    return instance


def test_the_case_page_shows_its_incident_and_the_failed_element_on_its_diagram(live_server, page, db, settings, actors):
    instance = failed_case(db, settings, actors)
    login(page, live_server, "manager")  # the admin administers, managers oversee cases (SPEC §8)
    page.goto(f"{live_server}/cases/{instance.id}")
    assert FAILURE_TEXT in page.locator(".case-incidents").inner_text()
    page.wait_for_selector("#bpmn-diagram[data-state=ready]")
    failed = page.locator("#bpmn-diagram .djs-element.marshrut-error")
    assert failed.evaluate_all("shapes => shapes.map(s => s.dataset.elementId)") == ["compute"]


def test_an_analyst_sees_the_failed_element_migrates_the_case_and_retries_it(live_server, page, db, settings, actors):
    instance = failed_case(db, settings, actors)
    deploy(db, settings, with_script("x = 1"))

    login(page, live_server, "analyst")
    page.click("nav >> text=Інциденти")
    row = page.locator("tr.incident")
    assert row.count() == 1 and FAILURE_TEXT in row.inner_text() and instance.number in row.inner_text()
    page.wait_for_selector("#incident-diagram[data-state=ready]")
    failed = page.locator("#incident-diagram .djs-element.marshrut-error")
    assert failed.evaluate_all("shapes => shapes.map(s => s.dataset.elementId)") == ["compute"]

    page.select_option("select[name=version]", "2")
    page.click("form[action$='/migrate'] button")
    assert "перенесено на версію 2" in page.locator(".flash").inner_text()
    page.click("form[action$='/retry'] button")
    assert "справа продовжується" in page.locator(".flash").inner_text()
    assert page.locator("tr.incident").count() == 0
    assert Walker(db, settings, actors).open_ids(instance.id) == ["step_two"]
