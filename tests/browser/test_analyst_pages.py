"""Analysts' pages in a real Chromium: the process list, the card view generated from the
BPMN, the read-only diagram, and the bpmn-js modeler that validates and deploys.
"""

import json

import pytest
from flask import render_template

from marshrut.api.app import create_app
from tests.browser.conftest import SCREENSHOTS, login

#: The technological card of seed 004: one row per user task, in the card's order.
ADDRESS_AID_STEPS = [
    "accept_documents", "form_personal_file", "register_application", "send_to_director", "director_resolution",
    "send_to_executor", "prepare_commission_materials", "prepare_commission_minutes", "draft_committee_decision",
    "endorse_draft_decision", "record_committee_decision", "prepare_payment_registers", "notify_applicant",
]
ADDRESS_AID_ACTIONS = ["В", "В", "В", "В", "П", "В", "В", "В", "В", "В", "У", "В, У", "В"]
#: The REST API takes bearer tokens only (the page session is not one); the fixture users' tokens are token-<role>.
ANALYST_TOKEN = {"Authorization": "Bearer token-analyst"}


def open_modeler(page, base_url: str, key: str = "address_aid") -> None:
    page.goto(f"{base_url}/definitions/{key}/modeler")
    page.wait_for_selector("#modeler[data-state=ready]")


def set_step_property(page, element_id: str, name: str, value: str) -> None:
    """Change one ``camunda:property`` of a task through the modeler's modeling API (undoable, as an edit)."""
    page.evaluate(
        """([elementId, name, value]) => {
            const modeler = window.marshrutModeler;
            const element = modeler.get('elementRegistry').get(elementId);
            const properties = element.businessObject.extensionElements.values
                .find((extension) => extension.$type === 'camunda:Properties');
            const property = properties.values.find((p) => p.name === name);
            modeler.get('modeling').updateModdleProperties(element, property, { value });
        }""",
        [element_id, name, value],
    )


def test_the_process_list_shows_the_latest_version_of_each_process(live_server, page):
    login(page, live_server, "programs_dept")
    page.goto(f"{live_server}/definitions")
    keys = page.locator("tr.definition").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert keys == ["address_aid", "needs_assessment_plan", "social_services_roadmap"]
    aid = page.locator("tr.definition[data-key=address_aid]")
    assert aid.locator("td.version").inner_text() == "1"
    assert aid.locator("td.count").inner_text() == "1"
    assert "Надання адресної соціальної допомоги" in aid.inner_text()
    assert "20 / 30 дн." in aid.inner_text()
    # Staff read the card; the modeler is for analysts.
    assert page.locator("a", has_text="Модельєр").count() == 0


def test_the_card_view_of_address_aid_is_the_table_of_seed_004(live_server, page):
    login(page, live_server, "programs_dept")
    page.goto(f"{live_server}/definitions/address_aid")
    rows = page.locator("table.steps tbody tr.step")
    assert rows.count() == 13
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.element)") == ADDRESS_AID_STEPS
    assert page.locator("table.steps td.number").all_inner_texts() == [str(n) for n in range(1, 14)]
    assert page.locator("table.steps td.action").all_inner_texts() == ADDRESS_AID_ACTIONS

    def cell(element_id: str, column: str) -> str:
        return page.locator(f"tr.step[data-element={element_id}] td.{column}").inner_text()

    assert cell("accept_documents", "lane") == "Відділ реалізації міських соціальних програм"
    assert cell("accept_documents", "term") == "1 робочий день"
    assert cell("register_application", "term") == "3–4 робочі дні"
    assert cell("register_application", "lane") == "Управління звернень та діловодства Житомирської міської ради"
    assert cell("director_resolution", "term") == "1–2 робочі дні"
    assert cell("send_to_director", "term") == "2 робочі дні"
    assert cell("prepare_payment_registers", "term") == "до нормативної дати справи (20 дн. від надходження)"
    assert cell("prepare_payment_registers", "participants") == "Начальник відділу реалізації міських соціальних програм (У)"
    assert cell("notify_applicant", "participants") == "—"
    assert page.locator("tr.step[data-element=director_resolution] abbr").get_attribute("title") == "погоджує"
    # The versions, the XML and the diagram of the version shown; no modeler link for staff.
    assert page.locator("table.versions tr.version").count() == 1
    assert page.locator("a", has_text="BPMN XML").get_attribute("href") == "/definitions/address_aid/xml?version=1"
    assert page.locator("a", has_text="Відкрити в модельєрі").count() == 0
    page.wait_for_selector("#bpmn-diagram[data-state=ready]")
    assert page.locator("#bpmn-diagram .djs-element[data-element-id=accept_documents]").count() == 1
    assert page.locator("#bpmn-diagram .marshrut-completed, #bpmn-diagram .marshrut-active").count() == 0


def test_the_modeler_opens_the_latest_diagram_with_the_camunda_properties_panel(live_server, page):
    login(page, live_server, "analyst")
    assert page.goto(f"{live_server}/definitions/no_such_process/modeler").status == 404
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server}/definitions/address_aid")
    page.click("text=Відкрити в модельєрі")
    page.wait_for_selector("#modeler[data-state=ready]")
    assert page.locator(".modeler-status").inner_text() == "Діаграму відкрито. Змініть її, перевірте й розгорніть нову версію."
    tasks = page.locator(".modeler-canvas .djs-element.djs-shape[data-element-id]")
    ids = tasks.evaluate_all("shapes => shapes.map(s => s.dataset.elementId)")
    assert set(ADDRESS_AID_STEPS) <= set(ids)
    assert page.locator(".djs-palette").count() == 1
    # Selecting a task shows its camunda:properties in the panel, editable.
    page.evaluate("""() => {
        const modeler = window.marshrutModeler;
        modeler.get('selection').select(modeler.get('elementRegistry').get('register_application'));
    }""")
    group = page.locator(".bio-properties-panel-group", has_text="Властивості кроку")
    group.locator(".bio-properties-panel-group-header").click()
    names = group.locator("input[name$='-name']")
    values = group.locator("input[name$='-value']")
    found = dict(zip(names.evaluate_all("inputs => inputs.map(i => i.value)"),
                     values.evaluate_all("inputs => inputs.map(i => i.value)")))
    assert found["action"] == "В" and found["days_min"] == "3" and found["days"] == "4"
    assert [p for p in problems if "favicon" not in p and "Failed to load resource" not in p] == []


def test_an_analyst_edits_a_property_in_the_panel(live_server, page):
    """Typing in the properties panel changes the diagram's camunda:property."""
    login(page, live_server, "analyst")
    open_modeler(page, live_server)
    page.evaluate("""() => {
        const modeler = window.marshrutModeler;
        modeler.get('selection').select(modeler.get('elementRegistry').get('send_to_director'));
    }""")
    group = page.locator(".bio-properties-panel-group", has_text="Властивості кроку")
    group.locator(".bio-properties-panel-group-header").click()
    group.locator(".bio-properties-panel-collapsible-entry-header").get_by_text("days", exact=True).click()
    days_input = group.locator("input[name=send_to_director-extensionProperty-1-value]")
    assert days_input.input_value() == "2"
    days_input.fill("3")
    days_input.press("Tab")
    xml = page.evaluate("async () => (await window.marshrutModeler.saveXML()).xml")
    start = xml.index('id="send_to_director"')
    assert '<camunda:property name="days" value="3" />' in xml[start:xml.index("</bpmn:userTask>", start)]


def test_an_analyst_deploys_a_changed_diagram(live_server, page):
    login(page, live_server, "analyst")
    open_modeler(page, live_server)
    set_step_property(page, "register_application", "days", "5")
    page.evaluate("""() => {
        const modeler = window.marshrutModeler;
        const task = modeler.get('elementRegistry').get('notify_applicant');
        modeler.get('modeling').updateLabel(task, 'Повідомлення заявника про рішення');
    }""")
    page.click("button[data-action=deploy]")
    page.fill("[data-role=change-note]", "Строк реєстрації до 5 днів")  # the confirmation asks what changed
    page.click("button[data-action=confirm-deploy]")
    status = page.locator("[data-role=status]")
    status.filter(has_text="Розгорнуто версію 2").wait_for()
    assert page.locator("[data-role=version]").inner_text() == "Розгорнуто версію 2 (Строк реєстрації до 5 днів)."
    assert status.locator("a").get_attribute("href") == "/definitions/address_aid?version=2"

    response = page.request.get(f"{live_server}/api/v1/process-definitions/address_aid", headers=ANALYST_TOKEN)
    assert response.status == 200
    body = response.json()
    assert body["version"] == 2 and body["versions"] == [2, 1]
    steps = {s["element_id"]: s for s in body["steps"]}
    assert steps["register_application"]["days"] == 5
    assert steps["notify_applicant"]["name"] == "Повідомлення заявника про рішення"
    assert page.request.get(f"{live_server}/definitions/address_aid/xml").text().count(
        '<camunda:property name="change_note" value="Строк реєстрації до 5 днів" />') == 1

    status.locator("a").click()
    page.wait_for_selector("table.steps")
    assert page.locator("tr.step[data-element=register_application] td.term").inner_text() == "3–5 робочих днів"
    assert page.locator("table.versions tr.version").count() == 2
    assert page.locator(".shown-version").inner_text() == "2"


def test_an_invalid_change_is_shown_on_the_element(live_server, page):
    login(page, live_server, "analyst")
    open_modeler(page, live_server)
    set_step_property(page, "form_personal_file", "action", "B")  # a Latin B
    page.click("button[data-action=validate]")
    page.wait_for_selector("#modeler[data-checked=invalid]")
    errors = page.locator(".modeler-errors li")
    assert errors.count() == 1
    text = errors.first.inner_text()
    assert "form_personal_file" in text and "«В»" in text and "латиницею" in text
    assert page.locator(".modeler-status").inner_text().startswith("Діаграма не пройшла перевірку")
    shape = page.locator(".djs-element[data-element-id=form_personal_file]")
    assert "marshrut-error" in shape.get_attribute("class")
    note = page.locator(".marshrut-error-note[data-element=form_personal_file]")
    assert note.is_visible() and "«В»" in note.inner_text()
    errors.first.locator("a").click()  # shows the element: scrolled to and selected
    assert page.locator(".djs-element.selected").get_attribute("data-element-id") == "form_personal_file"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "test_an_invalid_change_is_shown_on_the_element-errors.png"))
    # Nothing was deployed.
    assert page.request.get(f"{live_server}/api/v1/process-definitions/address_aid", headers=ANALYST_TOKEN).json()["version"] == 1

    # Deploying the broken diagram is refused the same way; fixing it clears the marks.
    page.click("button[data-action=deploy]")
    page.fill("[data-role=change-note]", "Спроба")
    with page.expect_response(lambda response: "deploy" in response.url and response.request.method == "POST"):
        page.click("button[data-action=confirm-deploy]")
    page.locator(".modeler-errors li", has_text="form_personal_file").wait_for()
    set_step_property(page, "form_personal_file", "action", "В")
    page.click("button[data-action=validate]")
    page.wait_for_selector("#modeler[data-checked=valid]")
    assert page.locator(".djs-element.marshrut-error").count() == 0
    assert page.locator(".marshrut-error-note").count() == 0
    assert page.locator(".modeler-status").inner_text() == "Діаграма коректна: кроків (задач користувача) — 13."


def test_staff_get_the_403_page_for_the_modeler_and_404_for_unknown_processes(live_server, page):
    login(page, live_server, "programs_dept")
    assert page.goto(f"{live_server}/definitions/no_such_process").status == 404
    assert page.goto(f"{live_server}/definitions/address_aid?version=9").status == 404
    response = page.goto(f"{live_server}/definitions/address_aid/modeler")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Доступ заборонено"
    assert "Аналітик процесів" in page.locator("main").inner_text()


@pytest.fixture
def viewer_page_html(settings):
    """The diagram partial rendered as another page would include it, with highlights."""
    app = create_app(settings)
    try:
        with app.test_request_context("/viewer"):
            return render_template(
                "_diagram.html", diagram_xml_url="/definitions/address_aid/xml",
                completed_ids=["accept_documents", "form_personal_file"], active_ids=["register_application"],
                diagram_id="case-diagram",
            )
    finally:
        app.extensions["marshrut"]["db"].dispose()


def test_the_diagram_partial_marks_completed_and_active_steps(live_server, page, viewer_page_html):
    login(page, live_server, "programs_dept")
    html = (f"<!doctype html><html lang=uk><head><meta charset=utf-8>"
            f"<link rel=stylesheet href=/ui/static/marshrut.css></head><body>{viewer_page_html}</body></html>")
    page.route(f"{live_server}/viewer-test", lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    page.goto(f"{live_server}/viewer-test")
    page.wait_for_selector("#case-diagram[data-state=ready]")

    def marked(marker: str) -> list[str]:
        return page.locator(f"#case-diagram .djs-element.{marker}").evaluate_all("els => els.map(e => e.dataset.elementId)")

    assert sorted(marked("marshrut-completed")) == ["accept_documents", "form_personal_file"]
    assert marked("marshrut-active") == ["register_application"]
    assert json.loads(page.locator("#case-diagram").get_attribute("data-active")) == ["register_application"]
    assert page.locator("#case-diagram .bpmn-legend").inner_text().strip().startswith("виконано")
    fill = page.locator("#case-diagram .djs-element.marshrut-active .djs-visual > :first-child").evaluate(
        "el => getComputedStyle(el).fill")
    assert fill == "rgb(255, 241, 220)"
    zoom = "() => document.getElementById('case-diagram').bpmnViewer.get('canvas').zoom()"
    before = page.evaluate(zoom)
    page.click("#case-diagram [data-zoom=in]")
    assert page.evaluate(zoom) == pytest.approx(before * 1.25, rel=0.01)
