"""The pages under their Content-Security-Policy (no inline script): every page a role opens
works, and the browser reports no refused script, style or connection."""

from playwright.sync_api import Page

from marshrut.engine import cases, queries
from tests.browser.conftest import login
from tests.browser.test_staff_pages import logout
from tests.conftest import context_at, kyiv, set_now
from tests.walks import ADDRESS_AID_STEPS, APPLICATION


def watch_csp(page: Page) -> list[str]:
    """Console messages in which the browser refuses something under the page's CSP."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    return refused


def test_every_page_works_under_its_csp_without_a_refused_script(live_server, deployed, settings, actors, page):
    with deployed.unit_of_work() as uow:
        instance = cases.start_case(uow, actors["programs_dept"], context_at(settings, kyiv("2026-02-02 10:00")),
                                    "address_aid", APPLICATION)
        uow.commit()
        case_id = instance.id
    with deployed.unit_of_work() as uow:
        task = queries.open_tasks(uow, case_id)[0]
        cases.complete_task(uow, actors["programs_dept"], context_at(settings, kyiv("2026-02-02 15:00")), task.id,
                            ADDRESS_AID_STEPS["accept_documents"])
        uow.commit()
    set_now(deployed, kyiv("2026-02-24 10:00"))
    refused = watch_csp(page)

    login(page, live_server, "programs_dept")
    page.goto(f"{live_server}/cases/{case_id}")
    page.wait_for_selector(".bpmn-diagram[data-state=ready]")
    page.goto(f"{live_server}/cases/{case_id}/receipt")
    page.evaluate("() => { window.print = () => { document.body.dataset.printed = 'yes'; }; }")
    page.click("[data-print]")
    assert page.locator("body").get_attribute("data-printed") == "yes"  # the button works without onclick
    page.goto(f"{live_server}/definitions/address_aid")
    page.wait_for_selector("#bpmn-diagram[data-state=ready]")
    logout(page)

    login(page, live_server, "manager")
    page.goto(f"{live_server}/dashboard")
    page.wait_for_selector("#durations[data-chart=ready]")
    logout(page)

    login(page, live_server, "analyst")
    page.goto(f"{live_server}/definitions/address_aid/modeler")
    page.wait_for_selector("#modeler[data-state=ready]")
    page.click("button[data-action=validate]")
    page.locator("[data-role=status]").filter(has_text="Діаграма коректна").wait_for()

    page.goto(f"{live_server}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info")
    assert refused == []
