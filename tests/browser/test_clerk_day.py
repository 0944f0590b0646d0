"""The clerk's day in Chromium (issue 13): find a case by surname in one step, attach a scan, comment,
complete the step and follow the link to the next one, all on a 375 px screen; axe-core finds no
serious or critical violations on the main pages."""

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from marshrut.engine.config import PROJECT_ROOT, Settings
from tests.browser.conftest import login
from tests.browser.test_staff_pages import shot
from tests.conftest import kyiv, set_now
from tests.walks import APPLICATION

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="session")
def documents_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-documents")


@pytest.fixture
def settings(migrated: str, documents_dir: Path) -> Settings:
    return Settings(database_url=migrated, controlled_clock=True, documents_dir=documents_dir)


def register(page: Page, base: str, **person: Any) -> dict[str, Any]:
    """Register a case through the API as the department (the intake pages have tests of their own)."""
    response = page.request.post(f"{base}/api/v1/process-instances", headers={"Authorization": "Bearer token-programs_dept"},
                                 data={"process_key": "address_aid", "data": {**APPLICATION, **person}},
                                 fail_on_status_code=True)
    return response.json()


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical WCAG 2 A/AA violations of the page as it stands."""
    # Evaluated through the DevTools protocol, which the pages' CSP (no inline script) does not govern.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate("async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert width[0] <= width[1], f"the page is {width[0]} px wide on a {width[1]} px screen: {wide}"


def test_a_clerk_finds_a_case_by_surname_attaches_a_scan_comments_and_goes_on_on_a_phone(live_server, deployed, browser):
    set_now(deployed, kyiv("2026-02-02 10:00"))
    context = browser.new_context(locale="uk-UA", viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        case = register(page, live_server, surname="Бондаренко", first_name="Олена", patronymic="Петрівна")
        register(page, live_server, surname="Коваль")
        login(page, live_server, "programs_dept")
        expect(page.locator("header .who button")).to_be_in_viewport()  # «Вийти» on screen
        no_horizontal_overflow(page)

        page.fill("input[name=q]", "бондар")
        page.keyboard.press("Enter")
        row = page.locator("tr.task-row")
        expect(row).to_have_count(1)
        expect(row.locator(".applicant")).to_have_text("Бондаренко О. П.")
        no_horizontal_overflow(page)
        shot(page, "clerk_search_375")
        row.locator("a.task-link").click()

        kind = APPLICATION["documents"][0]
        page.set_input_files("#document-file", files=[{"name": "довідка.pdf", "mimeType": "application/pdf",
                                                       "buffer": b"%PDF-1.4\n%%EOF\n"}])
        page.fill("#document-kind", kind)
        page.click("button:has-text('Додати документ')")
        expect(page.locator(".flash.success")).to_contain_text("довідка.pdf")
        expect(page.locator(".document-row")).to_contain_text("довідка.pdf")
        expect(page.locator(".checklist li.uploaded")).to_contain_text(kind + " — додано")
        expect(page.locator(".checklist li.uploaded")).to_have_count(1)

        page.fill("#comment-text", "Оригінали бачила, копії звірила")
        page.click("button:has-text('Додати коментар')")
        expect(page.locator(".comment-list")).to_contain_text("Оригінали бачила, копії звірила")
        no_horizontal_overflow(page)
        assert serious_violations(page) == []
        shot(page, "clerk_task_375")

        page.select_option("select[name=package_complete]", "true")
        page.click("button[value=complete]")
        page.click(".next-task a")
        expect(page.locator("h1.task-title")).to_contain_text("Формування особової справи")
        expect(page.locator("#story .story-step[data-element=accept_documents]")).to_contain_text("Пакет документів повнийТак")
        expect(page.locator(".comment-list")).to_contain_text("Оригінали бачила")  # the case's comments on every step
        no_horizontal_overflow(page)

        page.goto(f"{live_server}/cases/{case['id']}")
        expect(page.locator(".documents-list")).to_contain_text("довідка.pdf")
        no_horizontal_overflow(page)
        shot(page, "clerk_case_375")
    finally:
        context.close()


@pytest.mark.parametrize("role, paths", [
    ("programs_dept", ["/tasks", "/cases", "/cases/{id}", "/tasks/{task}", "/intake", "/notifications"]),
    ("manager", ["/cases/{id}", "/tasks/{task}"]),
])
def test_the_main_pages_have_no_serious_accessibility_violations_and_fit_375_px(live_server, deployed, page, role, paths):
    set_now(deployed, kyiv("2026-02-02 10:00"))
    case = register(page, live_server, surname="Бондаренко")
    login(page, live_server, role)
    found = {}
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 800})
        for path in paths:
            page.goto(live_server + path.format(id=case["id"], task=case["open_tasks"][0]["id"]))
            found[(width, path)] = serious_violations(page)
            if width == 375:
                no_horizontal_overflow(page)
    assert {k: v for k, v in found.items() if v} == {}


def test_a_refused_form_moves_the_focus_to_a_summary_that_links_to_the_fields(live_server, deployed, page):
    set_now(deployed, kyiv("2026-02-02 10:00"))
    case = register(page, live_server)
    login(page, live_server, "programs_dept")
    page.goto(f"{live_server}/tasks/{case['open_tasks'][0]['id']}")
    page.click("button[value=complete]")
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    link = summary.locator("a[href='#f-package_complete']")
    expect(link).to_have_text("«Пакет документів повний»: обов’язкове поле")
    link.click()
    expect(page.locator("#f-package_complete")).to_be_focused()
    assert serious_violations(page) == []


@pytest.mark.parametrize("role, paths", [
    ("manager", ["/dashboard", "/cases"]),
    ("analyst", ["/definitions", "/definitions/address_aid", "/incidents"]),
    ("programs_deputy", ["/meetings/commission"]),
])
def test_the_managers_analysts_and_meetings_pages_have_no_serious_accessibility_violations(live_server, deployed, page,
                                                                                           role, paths):
    set_now(deployed, kyiv("2026-02-02 10:00"))
    register(page, live_server, surname="Бондаренко")
    login(page, live_server, role)
    found = {}
    for path in paths:
        page.goto(live_server + path)
        found[path] = serious_violations(page)
    assert {k: v for k, v in found.items() if v} == {}
