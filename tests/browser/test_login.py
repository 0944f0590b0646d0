"""Logging in to the pages with the same accounts as the API."""

from tests.browser.conftest import login


def test_a_wrong_password_is_refused_with_a_message(live_server, page):
    page.goto(f"{live_server}/login")
    page.fill("input[name=login]", "programs_dept")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Неправильний логін або пароль"


def test_staff_log_in_and_see_their_unit_in_the_header(live_server, page):
    login(page, live_server, "programs_dept")
    assert page.locator(".user-unit").inner_text() == "Відділ реалізації міських соціальних програм"
