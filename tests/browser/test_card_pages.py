"""Analysts with technological cards in a real Chromium: the import page, the modeler's typed
«Картка» properties and its live lint marks, deploying an imported diagram with its forms."""

import io
import json
import re

import docx

from tests import card_docs
from tests.browser.conftest import login
from tests.browser.test_analyst_pages import open_modeler, set_step_property
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker
from tests.walks import APPLICATION


def select(page, element_id: str) -> None:
    page.evaluate("""(id) => {
        const modeler = window.marshrutModeler;
        modeler.get('selection').select(modeler.get('elementRegistry').get(id));
    }""", element_id)


def task_xml(page, element_id: str) -> str:
    xml = page.evaluate("async () => (await window.marshrutModeler.saveXML()).xml")
    start = xml.index(f'id="{element_id}"')
    return xml[start:xml.index("</bpmn:userTask>", start)]


def wait_for_xml(page, element_id: str, fragment: str) -> str:
    """The task's XML once it holds ``fragment`` (the panel writes number fields after a short debounce)."""
    for _attempt in range(50):
        xml = task_xml(page, element_id)
        if fragment in xml:
            return xml
        page.wait_for_timeout(100)
    raise AssertionError(f"{fragment} never appeared in {element_id}: {xml}")


def card_group(page):
    group = page.locator(".bio-properties-panel-group", has=page.locator(".bio-properties-panel-group-header-title",
                                                                         has_text="Картка"))
    if not group.locator(".bio-properties-panel-group-entries.open").count():
        group.locator(".bio-properties-panel-group-header").click()
    return group


def test_the_card_group_shows_typed_fields_and_writes_camunda_properties(live_server, page):
    login(page, live_server, "analyst")
    open_modeler(page, live_server)
    select(page, "register_application")
    group = card_group(page)
    action = group.locator("select[name=marshrut-action]")
    assert action.input_value() == "В"
    assert action.locator("option").all_inner_texts() == ["—", "В — виконує", "У — бере участь", "П — погоджує", "З — затверджує"]
    assert group.locator("input[name=marshrut-days]").input_value() == "4"
    assert group.locator("input[name=marshrut-days_min]").input_value() == "3"
    assert group.locator("input[name=marshrut-days]").get_attribute("type") == "number"
    action.select_option("П")
    group.locator("input[name=marshrut-days]").fill("6")
    group.locator("input[name=marshrut-days]").press("Tab")
    wait_for_xml(page, "register_application", '<camunda:property name="days" value="6" />')
    group.locator("select[name=marshrut-calendar]").select_option("calendar")
    xml = wait_for_xml(page, "register_application", '<camunda:property name="calendar" value="calendar" />')
    xml = task_xml(page, "register_application")
    assert '<camunda:property name="action" value="П" />' in xml
    assert '<camunda:property name="days" value="6" />' in xml, xml
    assert '<camunda:property name="calendar" value="calendar" />' in xml
    # Camunda 7 settings Marshrut does not read are not offered.
    titles = page.locator(".bio-properties-panel-group-header-title").all_inner_texts()
    assert "Картка" in titles and "Властивості кроку" in titles
    for hidden in ("Асинхронне продовження", "Виконання завдань", "Слухачі виконання", "Призначення виконавця", "Форми"):
        assert hidden not in titles


def test_participants_are_role_and_action_rows(live_server, page):
    login(page, live_server, "analyst")
    open_modeler(page, live_server)
    select(page, "prepare_payment_registers")
    group = page.locator(".bio-properties-panel-group", has=page.locator(".bio-properties-panel-group-header-title",
                                                                         has_text="Учасники"))
    group.locator(".bio-properties-panel-group-header").click()
    items = group.locator(".bio-properties-panel-collapsible-entry")
    assert items.count() == 1
    assert "Начальник відділу реалізації міських соціальних програм — У" in items.first.inner_text()
    group.locator("button.bio-properties-panel-add-entry").click()
    xml = wait_for_xml(page, "prepare_payment_registers", 'name="participants" value="programs_head:У,')
    added = re.search(r'name="participants" value="programs_head:У,([a-z_]+):У"', xml).group(1)
    assert added not in ("programs_head", "accounting_head")  # a role not on the step yet
    assert group.locator(".bio-properties-panel-collapsible-entry").count() == 2


def test_lint_marks_a_latin_action_and_a_missing_limit_live(live_server, page):
    login(page, live_server, "analyst")
    open_modeler(page, live_server)
    page.wait_for_timeout(300)
    assert page.locator(".bjsl-overlay").count() == 0  # the shipped diagram is clean
    set_step_property(page, "form_personal_file", "action", "B")
    overlay = page.locator(".djs-overlay-container .djs-overlays[data-container-id=form_personal_file] .bjsl-overlay")
    overlay.wait_for()
    overlay.hover()
    page.locator(".bjsl-dropdown", has_text="латиницею").first.wait_for(state="attached")
    set_step_property(page, "form_personal_file", "action", "В")
    overlay.wait_for(state="detached")
    set_step_property(page, "send_to_director", "days", "")
    page.locator(".djs-overlays[data-container-id=send_to_director] .bjsl-overlay").wait_for()


def test_an_analyst_imports_a_card_reviews_it_and_deploys_the_first_version(live_server, page, tmp_path):
    login(page, live_server, "analyst")
    page.goto(f"{live_server}/definitions")
    page.click("text=Імпорт картки")
    card = tmp_path / "subsidy.docx"
    card.write_bytes(card_docs.housing_card())
    page.set_input_files("input[name=file]", str(card))
    page.fill("input[name=process_key]", "housing_subsidy")
    page.fill("input[name=name]", "Призначення житлової субсидії")
    page.click("button[type=submit]")
    page.wait_for_selector("#modeler[data-state=ready]")
    assert "sektor_zhytlovykh_subsydii" in page.locator("[data-role=warnings]").inner_text()
    ids = page.locator(".modeler-canvas .djs-element.djs-shape[data-element-id]").evaluate_all(
        "shapes => shapes.map(s => s.dataset.elementId)")
    assert "s02_perevirka_dokhodiv_danymy" in ids and "lane_sektor_zhytlovykh_subsydii" in ids
    assert page.locator(".bjsl-overlay").count() == 0
    select(page, "s03_pohodzhennia_rozrakhunku_subsydii")
    assert card_group(page).locator("select[name=marshrut-action]").input_value() == "П"
    page.click("button[data-action=validate]")
    page.wait_for_selector("#modeler[data-checked=valid]")
    page.click("button[data-action=deploy]")
    page.fill("[data-role=change-note]", "Перша версія з картки")
    page.click("button[data-action=confirm-deploy]")
    status = page.locator("[data-role=status]")
    status.filter(has_text="Розгорнуто версію 1").wait_for()
    status.locator("a").click()
    page.wait_for_selector("table.steps")
    assert page.locator("table.steps tbody tr.step").count() == 4
    assert page.locator("tr.step[data-element=s02_perevirka_dokhodiv_danymy] td.term").inner_text() == "2–3 робочі дні"


def test_an_unreadable_card_shows_what_is_wrong(live_server, page, tmp_path):
    login(page, live_server, "analyst")
    page.goto(f"{live_server}/definitions/import")
    card = tmp_path / "list.docx"
    card.write_bytes(card_docs.unreadable_card())
    page.set_input_files("input[name=file]", str(card))
    page.fill("input[name=process_key]", "some_service")
    page.click("button[type=submit]")
    page.wait_for_selector("#card-import[data-state=error]")
    assert "Етапи послуги" in page.locator(".modeler-errors").inner_text()
    assert page.locator("[data-role=status]").inner_text() == "У файлі немає таблиці технологічної картки"


def test_the_versions_table_counts_running_cases_and_the_card_downloads_as_docx(live_server, page, deployed, settings,
                                                                                 actors):
    walker = Walker(deployed, settings, actors).at(kyiv("2026-02-02 10:00"))
    for _ in range(2):
        walker.start("address_aid", APPLICATION)
    login(page, live_server, "analyst")
    page.goto(f"{live_server}/definitions/address_aid")
    assert page.locator("tr.version[data-version='1'] td.running").inner_text() == "2"
    assert page.locator("tr.version[data-version='1'] td.change-note").inner_text() == "—"
    response = page.request.get(live_server + page.locator("[data-role=card-docx]").get_attribute("href"))
    assert response.status == 200
    rows = docx.Document(io.BytesIO(response.body())).tables[0].rows
    assert len(rows) == 2 + 13 + 2


def test_a_steps_form_is_previewed_edited_with_validation_and_deployed_with_the_diagram(live_server, page):
    login(page, live_server, "analyst")
    open_modeler(page, live_server)
    select(page, "send_to_executor")
    editor = page.locator("[data-role=form-editor]")
    preview = editor.locator("[data-role=form-preview-content]")
    preview.wait_for()
    assert editor.get_attribute("data-form") == "send_to_executor"
    assert preview.locator("[data-field=executor_name] .label.required").inner_text() == "Виконавець"
    schema = json.loads(editor.locator("[data-role=form-json]").input_value())
    assert schema["required"] == ["executor_name", "executor_transferred_on"]

    editor.locator("[data-role=form-json]").fill("{ not json")
    editor.locator("[data-action=apply-form]").click()
    assert editor.locator("[data-role=form-message]").inner_text().startswith("Не JSON")
    editor.locator("[data-role=form-json]").fill(json.dumps({"type": "nonsense"}))
    editor.locator("[data-action=apply-form]").click()
    editor.locator(".form-message.error", has_text="JSON Schema").wait_for()
    assert editor.get_attribute("data-valid") == "false"

    schema["properties"]["executor_name"]["title"] = "ПІБ виконавця"
    schema["required"] = ["executor_transferred_on"]
    editor.locator("[data-role=form-json]").fill(json.dumps(schema, ensure_ascii=False))
    editor.locator("[data-action=apply-form]").click()
    page.wait_for_selector("[data-role=form-editor][data-valid=true]")
    assert preview.locator("[data-field=executor_name] .label").inner_text() == "ПІБ виконавця"
    assert preview.locator("[data-field=executor_name] .label.required").count() == 0

    select(page, "application_received")
    assert editor.get_attribute("data-form") == "start"
    page.click("button[data-action=deploy]")
    page.fill("[data-role=change-note]", "Підпис поля виконавця")
    page.click("button[data-action=confirm-deploy]")
    page.locator("[data-role=status]", has_text="Розгорнуто версію 2").wait_for()
    forms = page.request.get(f"{live_server}/definitions/address_aid/forms.json").json()
    assert forms["send_to_executor"]["properties"]["executor_name"]["title"] == "ПІБ виконавця"
    assert forms["send_to_executor"]["required"] == ["executor_transferred_on"]
