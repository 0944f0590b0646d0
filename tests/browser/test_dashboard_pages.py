"""Managers through the pages: an overdue case on the dashboard once the clock passes its dates,
the chart of step durations against the card's limits, and the CSV export."""

import csv
import io

from playwright.sync_api import expect

from marshrut.engine import cases, queries, worker
from tests.browser.conftest import login
from tests.browser.test_staff_pages import logout, shot
from tests.conftest import context_at, kyiv, set_now
from tests.walks import ADDRESS_AID_STEPS, APPLICATION


def _case_with_one_step_done(db, settings, actor) -> str:
    with db.unit_of_work() as uow:
        instance = cases.start_case(uow, actor, context_at(settings, kyiv("2026-02-02 10:00")), "address_aid", APPLICATION)
        uow.commit()
        number, instance_id = instance.number, instance.id
    with db.unit_of_work() as uow:
        task = queries.open_tasks(uow, instance_id)[0]
        cases.complete_task(uow, actor, context_at(settings, kyiv("2026-02-02 15:00")), task.id,
                            ADDRESS_AID_STEPS["accept_documents"])
        uow.commit()
    return number


def test_a_manager_sees_an_overdue_case_on_the_dashboard_and_exports_it(live_server, deployed, settings, actors, page):
    number = _case_with_one_step_done(deployed, settings, actors["programs_dept"])
    set_now(deployed, kyiv("2026-02-24 10:00"))  # past the target date (23.02); the legal one (04.03) still ahead
    worker.run_pass(deployed, settings)

    login(page, live_server, "programs_dept")
    response = page.goto(f"{live_server}/dashboard")
    assert response is not None and response.status == 403
    logout(page)

    login(page, live_server, "manager")
    expect(page).to_have_url(f"{live_server}/dashboard")  # the manager's home
    late_case = page.locator("table.overdue-cases tr", has_text=number)
    expect(late_case).to_contain_text("нормативний")
    expect(late_case).to_contain_text("23.02.2026")
    expect(page.locator("table.overdue-tasks tr", has_text=number)).to_contain_text("Формування особової справи")
    process = page.locator("#by-process tr[data-process=address_aid] td")
    expect(process.nth(1)).to_have_text("1")  # running
    expect(process.nth(4)).to_have_text("1")  # target breached
    expect(process.nth(10)).to_have_text("1")  # tasks overdue
    expect(page.locator("#by-step tr[data-step=form_personal_file]")).to_contain_text("1")
    expect(page.locator("#durations")).to_have_attribute("data-chart", "ready")
    expect(page.locator("#durations table")).to_contain_text("Прийом і перевірка повноти пакету документів")
    shot(page, "dashboard_overdue")

    with page.expect_download() as download_info:
        page.click("a.csv-link")
    raw = download_info.value.path().read_bytes()
    assert raw.startswith("\ufeff".encode()), "UTF-8 with a BOM, so Excel reads the Cyrillic"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    late = next(r for r in rows if r and r[0] == number)
    assert late[3:6] == ["23.02.2026", "04.03.2026", "нормативний"]
    assert any(r[:3] == [number, "Надання адресної соціальної допомоги", "Формування особової справи, акт обстеження умов проживання"]
               for r in rows if len(r) > 3)
    durations = next(r for r in rows if len(r) == 7 and r[1].startswith("Прийом і перевірка"))
    assert durations[2] == "1" and durations[5] == "1"  # one completed, limit 1 day
