"""Staff through the pages: register a case, work it in «Мої завдання» through the JSON Schema
forms (a validation message on bad input), hand it on to the next unit, read the case."""

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, login
from tests.conftest import kyiv, set_now
from tests.walks import ADDRESS_AID_STEPS, APPLICATION


def fill_form(page: Page, data: dict[str, Any]) -> None:
    """Fill a rendered JSON Schema form with ``data`` the way a person would."""
    for name, value in data.items():
        if isinstance(value, list):
            extra = []
            for item in value:
                box = page.locator(f'input[type=checkbox][name="{name}"][value="{item}"]')
                if box.count():
                    box.check()
                else:
                    extra.append(str(item))
            if extra:
                page.fill(f'input[name="{name}__other"]', "; ".join(extra))
        elif isinstance(value, bool) and page.locator(f'input[type=checkbox][name="{name}"]').count():
            page.locator(f'input[type=checkbox][name="{name}"]').set_checked(value)
        elif page.locator(f'select[name="{name}"]').count():
            page.select_option(f'select[name="{name}"]', ("true" if value else "false") if isinstance(value, bool) else str(value))
        else:
            page.fill(f'[name="{name}"]', str(value))


def register_application(page: Page, base: str) -> str:
    """Fill the ЗАЯВА through /intake and return the registration number from the receipt."""
    page.goto(f"{base}/intake")
    page.click("[data-process=address_aid] a.button")
    fill_form(page, APPLICATION)
    page.click("button:has-text('Зареєструвати звернення')")
    expect(page.locator(".receipt-number")).to_contain_text("АД-2026-")
    return page.locator(".receipt-number").inner_text().strip()


def open_task(page: Page, base: str, number: str, element_id: str) -> None:
    page.goto(f"{base}/tasks")
    row = page.locator(f"tr.task-row[data-element={element_id}]", has_text=number)
    expect(row).to_have_count(1)
    row.locator("a.task-link").click()


def complete_step(page: Page, base: str, number: str, element_id: str) -> None:
    open_task(page, base, number, element_id)
    fill_form(page, ADDRESS_AID_STEPS[element_id])
    page.click("button[value=complete]")
    expect(page.locator(".flash.success")).to_contain_text(number)


def shot(page: Page, name: str) -> None:
    """A screenshot of a moment worth seeing (the fixture saves the last one)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def logout(page: Page) -> None:
    page.click("header .who button")
    expect(page.locator("input[name=login]")).to_be_visible()


def test_staff_take_a_case_from_intake_through_the_forms_to_the_next_unit(live_server, deployed, page):
    set_now(deployed, kyiv("2026-02-02 10:00"))
    login(page, live_server, "programs_dept")
    number = register_application(page, live_server)
    expect(page.locator(".receipt-target")).to_have_text("23.02.2026")

    page.click("nav.main-nav >> text=Мої завдання")
    row = page.locator("tr.task-row[data-element=accept_documents]", has_text=number)
    expect(row.locator(".badge")).to_have_text("вчасно")
    row.locator("a.task-link").click()
    expect(page.locator("h1.task-title")).to_contain_text("Прийом і перевірка повноти пакету документів")
    expect(page.locator(".case-data")).to_contain_text("Шевченко")

    # Package incomplete, but no missing document named: the engine's message next to the field.
    page.select_option("select[name=package_complete]", "false")
    page.click("button[value=complete]")
    error = page.locator("[data-field=missing_documents] .field-error")
    expect(error).to_have_text("«Відсутні документи»: обов’язкове поле")
    expect(page.locator(".form-errors")).to_contain_text("Дані форми не пройшли перевірку")
    # The summary at the top has the focus and links to the field.
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".error-summary a[href='#f-missing_documents']")).to_have_text("«Відсутні документи»: обов’язкове поле")
    expect(page.locator("select[name=package_complete]")).to_have_value("false")  # the input is kept
    expect(page.locator(".task-state")).to_have_attribute("data-state", "ready")
    shot(page, "staff_validation_message")

    # Claim, then complete correctly: the case moves on to the next step.
    page.click("button.claim")
    expect(page.locator(".assignee")).to_have_text("programs_dept")
    page.select_option("select[name=package_complete]", "true")
    page.click("button[value=complete]")
    expect(page.locator(".flash.success")).to_contain_text("Формування особової справи")
    expect(page.locator("tr.task-row[data-element=accept_documents]", has_text=number)).to_have_count(0)

    complete_step(page, live_server, number, "form_personal_file")
    expect(page.locator(".flash.success")).to_contain_text("Управління звернень та діловодства")
    logout(page)

    login(page, live_server, "appeals_office")
    complete_step(page, live_server, number, "register_application")
    expect(page.locator(".flash.success")).to_contain_text("Передача пакету документів директору")

    page.click("nav.main-nav >> text=Справи")
    page.locator("tr.case-row a", has_text=number).click()
    expect(page.locator("h1.case-title")).to_contain_text(number)
    history = page.locator("#case-history")
    expect(history).to_contain_text("Звернення зареєстровано")
    expect(history).to_contain_text("Крок виконано: «Реєстрація заяви через відділ звернень громадян»")
    expect(history.locator(".event-task_completed")).to_have_count(3)
    expect(page.locator(".case-sla .sla-target")).to_contain_text("23.02.2026")
    expect(page.locator(".case-sla .sla-legal")).to_contain_text("04.03.2026")
    expect(page.locator(".open-steps")).to_contain_text("Передача пакету документів директору")
    diagram = page.locator("#case-diagram .bpmn-diagram")
    expect(diagram).to_have_count(1)
    expect(diagram).to_have_attribute("data-state", "ready")
    completed = diagram.get_attribute("data-completed") or ""
    assert "accept_documents" in completed and "register_application" in completed
    assert "send_to_director" in (diagram.get_attribute("data-active") or "")
    shot(page, "staff_case_page")

    # A unit not involved in the case is refused with the engine's message, not a stack trace.
    task_url = page.locator(".open-steps a", has_text="Передача пакету").get_attribute("href")
    logout(page)
    login(page, live_server, "director")
    response = page.goto(f"{live_server}{task_url}")
    assert response is not None and response.status == 403
    expect(page.locator("p.error")).to_contain_text("доступне лише його ролі")
    response = page.goto(f"{live_server}/cases/999999")
    assert response is not None and response.status == 404
