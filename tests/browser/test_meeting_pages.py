"""«Засідання комісії» / «Засідання виконкому» in the browser: the cases ready at a step with the
facts the commission decides on, per-row fields, one submit, the result per case, the papers."""

import io

from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker
from tests.meeting_cases import APPLICANTS, REFUSED_SURNAME, cases_at


def test_the_deputy_head_records_the_commission_s_minutes_for_all_cases_at_once_and_downloads_the_minutes(
        page: Page, live_server, deployed, settings, actors):
    walker = Walker(deployed, settings, actors)
    cases_at(walker, "prepare_commission_minutes")
    walker.at(kyiv("2026-02-10 14:00"))
    login(page, live_server, "programs_deputy")
    page.click("nav.main-nav >> text=Засідання комісії")
    page.click("nav.meeting-steps a[data-step=prepare_commission_minutes]")

    rows = page.locator("tr.case-row")
    expect(rows).to_have_count(4)
    refused = rows.filter(has_text=REFUSED_SURNAME)
    expect(refused.locator("td.family")).to_have_text("1")
    expect(refused.locator("td.income")).to_contain_text("5 000,00")
    expect(refused.locator("td.line")).to_have_text("3 373,50")
    expect(refused.locator("td.recommendation")).to_contain_text("відмовити")
    expect(refused).to_have_class("case-row above-line")
    expect(refused.locator("select[data-field=commission_recommendation]")).to_have_value("refuse")
    shevchenko = rows.filter(has_text="Шевченко")
    expect(shevchenko.locator("td.income")).to_contain_text("2 000,00")
    expect(shevchenko.locator("select[data-field=commission_recommendation]")).to_have_value("grant")

    for surname, amount in (("Шевченко", "3000"), ("Коваленко", "2000"), ("Ткаченко", "abc")):
        rows.filter(has_text=surname).locator("input[data-field=recommended_amount]").fill(amount)
    page.fill("input[name=minutes_number]", "5")
    page.fill("input[name=minutes_date]", "2026-02-10")
    page.click("button:has-text('Виконати для позначених справ')")

    results = page.locator("tr.result-row")
    expect(results).to_have_count(4)
    expect(page.locator("tr.result-row.ok")).to_have_count(3)
    failed = page.locator("tr.result-row.failed")
    expect(failed).to_contain_text("Ткаченко")
    expect(failed.locator(".result-message")).to_contain_text("recommended_amount")
    expect(page.locator("tr.case-row")).to_have_count(1)  # Ткаченко waits, with nothing lost elsewhere

    page.click("nav.meeting-steps a[data-step=draft_committee_decision]")
    expect(page.locator("tr.case-row")).to_have_count(3)
    with page.expect_download() as download:
        page.click("form[data-paper=commission_minutes] button")
    document = Document(io.BytesIO(download.value.path().read_bytes()))
    names = {row.cells[2].text for row in document.tables[0].rows[1:]}
    assert names == {"Шевченко Марія Іванівна", "Коваленко Петро Миколайович", "Бондар Олена Василівна"}
    assert APPLICANTS[0]["address"] in {row.cells[3].text for row in document.tables[0].rows}


def test_the_head_records_the_committee_s_decisions_together_and_gets_the_register_without_the_refused_applicant(
        page: Page, live_server, deployed, settings, actors):
    walker = Walker(deployed, settings, actors)
    cases_at(walker, "record_committee_decision")
    login(page, live_server, "programs_head")
    page.click("nav.main-nav >> text=Засідання виконкому")

    rows = page.locator("tr.case-row")
    expect(rows).to_have_count(4)
    refused = rows.filter(has_text=REFUSED_SURNAME)
    expect(rows.filter(has_text="Шевченко").locator("select[data-field=decision]")).to_have_value("granted")
    expect(rows.filter(has_text="Шевченко").locator("input[data-field=aid_amount]")).to_have_value("3000")
    refused.locator("select[data-field=decision]").select_option("refused")
    grounds = refused.locator("select[data-field=refusal_ground] option").evaluate_all("options => options.map(o => o.value)")
    refused.locator("select[data-field=refusal_ground]").select_option(next(g for g in grounds if "income" in g))
    page.fill("input[name=decision_number]", "123")
    page.fill("input[name=decision_date]", "2026-02-18")
    page.click("button:has-text('Виконати для позначених справ')")

    expect(page.locator("tr.result-row.ok")).to_have_count(4)
    expect(page.locator("tr.case-row")).to_have_count(0)
    with page.expect_download() as download:
        page.click(".batch-results form[data-paper=payment_register] button")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).worksheets[0]
    surnames = [row[1] for row in sheet.iter_rows(min_row=7, max_row=9, values_only=True)]
    assert surnames == ["Шевченко", "Коваленко", "Ткаченко"]
    assert not any(REFUSED_SURNAME in str(c) for row in sheet.iter_rows(values_only=True) for c in row)

    with page.expect_download() as download:
        page.locator("tr.result-row", has_text=REFUSED_SURNAME).locator("form[data-paper=decision_notice] button").click()
    text = "\n".join(p.text for p in Document(io.BytesIO(download.value.path().read_bytes())).paragraphs)
    assert "Бондар Олена Василівна" in text and "Вам відмовлено" in text and "130 %" in text

    page.locator("tr.result-row", has_text="Шевченко").locator("a").click()
    with page.expect_download() as download:
        page.click("#case-papers form[data-paper=decision_notice] button")
    text = "\n".join(p.text for p in Document(io.BytesIO(download.value.path().read_bytes())).paragraphs)
    assert "Вам призначено адресну соціальну допомогу в розмірі 3 000,00 грн" in text


def test_ids_beyond_the_database_s_range_from_a_page_are_refused_as_bad_input_with_the_reason(page: Page, live_server):
    login(page, live_server, "programs_deputy")
    token = page.locator("meta[name=csrf-token]").get_attribute("content") or ""
    huge = str(2**40)
    meeting = page.request.post(f"{live_server}/meetings/commission", form={"task": huge, "step": "prepare_commission_minutes",
                                                                           "csrf_token": token})
    assert meeting.status == 200 and "2147483647" in meeting.text()
    paper = page.request.post(f"{live_server}/papers/commission_minutes", form={"instance_id": huge, "csrf_token": token})
    assert paper.status == 422
