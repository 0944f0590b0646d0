"""Intake through the pages: the start form (ЗАЯВА) with server-side messages, the printable
receipt with the registration number and the expected completion date, the roadmap's form."""

from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.browser.test_staff_pages import fill_form, shot
from tests.conftest import kyiv, set_now
from tests.walks import APPLICATION


def test_an_application_is_checked_registered_and_its_receipt_printed(live_server, deployed, page):
    set_now(deployed, kyiv("2026-02-02 10:00"))
    login(page, live_server, "programs_dept")
    page.click("nav.main-nav >> text=Нове звернення")
    expect(page.locator("[data-process=social_services_roadmap]")).to_be_visible()

    # The roadmap's form: categories of difficult circumstances (seed 002), the 2025 catalogue (seed 001).
    page.click("[data-process=social_services_roadmap] a.button")
    expect(page.locator("[data-field=circumstances] input[type=checkbox]")).to_have_count(26)
    expect(page.locator("[data-field=circumstances]")).to_contain_text("Складне матеріальне становище")
    expect(page.locator("details.catalogue li")).to_have_count(24)
    expect(page.locator(".intake-info")).to_contain_text("050 022 69 67")

    page.goto(f"{live_server}/intake/address_aid")
    expect(page.locator("[data-field=surname] .label.required")).to_have_text("Прізвище")
    expect(page.locator("select[name=reason] option")).to_have_count(6)  # «оберіть» + the five grounds

    # Consent not given, income not a number: the messages stand next to those fields.
    fill_form(page, {k: v for k, v in APPLICATION.items() if k != "personal_data_consent"})
    page.fill("[name=total_income_3m]", "дванадцять тисяч")
    page.click("button:has-text('Зареєструвати звернення')")
    expect(page.locator("[data-field=personal_data_consent] .field-error")).to_contain_text("обов’язкове поле")
    expect(page.locator("[data-field=total_income_3m] .field-error")).to_have_text("Введіть число")
    expect(page.locator("[name=surname]")).to_have_value(APPLICATION["surname"])
    shot(page, "intake_validation_messages")

    page.fill("[name=total_income_3m]", "12 000,50")
    page.check("[name=personal_data_consent]")
    page.click("button:has-text('Зареєструвати звернення')")

    expect(page.locator(".flash.success")).to_contain_text("АД-2026-000001")
    expect(page.locator(".receipt-number")).to_have_text("АД-2026-000001")
    expect(page.locator(".receipt-applicant")).to_have_text("Шевченко Марія Іванівна")
    expect(page.locator(".receipt-received")).to_have_text("02.02.2026 10:00")
    expect(page.locator(".receipt-target")).to_have_text("23.02.2026")  # card item 1: the expected date
    expect(page.locator(".receipt-legal")).to_have_text("04.03.2026")
    expect(page.locator(".receipt-office")).to_contain_text("майдан С.П. Корольова, буд. 7")
    expect(page.locator(".receipt-hotline")).to_contain_text("050 022 69 67")
    expect(page.locator(".receipt-documents li")).to_have_count(len(APPLICATION["documents"]))
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator(".receipt-actions")).to_be_hidden()
    shot(page, "intake_receipt_print")
    page.emulate_media(media="screen")

    page.click("text=До справи")
    expect(page.locator(".case-data")).to_contain_text("12\u00a0000,50")  # a sum as people read it
