"""Decision tables in the browser: the card view shows the table in force; analysts edit it
with dmn-js, validate it with the deploy checks and deploy a new version of the process."""

from tests.browser.conftest import login

MINIMUM = "address_aid_subsistence_minimum.dmn"


def test_an_analyst_edits_the_subsistence_minimum_and_the_card_shows_the_new_table(live_server, page):
    login(page, live_server, "analyst")
    page.goto(f"{live_server}/definitions/address_aid")
    table = page.locator("table.decision-table[data-decision=subsistence_minimum_lookup]")
    assert table.locator("tr.rule").first.locator("td.output").first.inner_text() == "2595"
    page.click("text=Редагувати таблиці рішень")
    page.wait_for_selector("#dmn-editor[data-state=ready]")
    page.click(f"a:text('{MINIMUM}')")
    page.wait_for_selector(f"#dmn-editor[data-state=ready][data-file='{MINIMUM}']")
    cell = page.locator(".tjs-table td", has_text="2595").first
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("2650")
    page.locator("h1").click()  # leave the cell
    page.click("button[data-action=validate]")
    page.wait_for_selector("#dmn-editor[data-checked=valid]")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("button[data-action=deploy]")
    page.wait_for_selector("#dmn-editor[data-deployed='2']")
    page.goto(f"{live_server}/definitions/address_aid")
    assert page.locator(".shown-version").inner_text() == "2"
    assert table.locator("tr.rule").first.locator("td.output").first.inner_text() == "2650"
    assert table.locator("tr.rule").nth(1).locator("td.output").first.inner_text() == "2361"


def test_a_broken_table_is_refused_and_staff_cannot_open_the_editor(live_server, page):
    login(page, live_server, "analyst")
    page.goto(f"{live_server}/definitions/address_aid/decisions?file={MINIMUM}")
    page.wait_for_selector("#dmn-editor[data-state=ready]")
    page.evaluate("""() => {
        // the analyst renames the decision the diagram calls (decisionRef="subsistence_minimum_lookup")
        const viewer = window.marshrutDmn.getActiveViewer();
        const decision = viewer.get('sheet').getRoot().businessObject.$parent;
        viewer.get('modeling').updateProperties({ businessObject: decision }, { id: 'renamed_lookup' });
    }""")
    page.click("button[data-action=validate]")
    page.wait_for_selector("#dmn-editor[data-checked=invalid]")
    assert "subsistence_minimum_lookup" in page.locator("[data-role=status]").inner_text()
    assert page.goto(f"{live_server}/definitions/address_aid/decisions?file=nope.dmn").status == 404
    login(page, live_server, "programs_dept")
    assert page.goto(f"{live_server}/definitions/address_aid/decisions").status == 403
