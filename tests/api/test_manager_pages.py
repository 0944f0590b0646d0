"""Managers act in the pages (cancel, reassign, notifications); error pages, landing pages, next-step link."""

import re
from datetime import datetime, timezone

from marshrut.engine import users
from marshrut.engine.models import Notification
from tests.api.conftest import Http
from tests.api.test_clerk_pages import signed_in, text_of
from tests.conftest import kyiv
from tests.walks import APPLICATION


def registered(api: Http) -> dict:
    api.set_clock("2026-02-02T10:00:00+02:00")
    return api.as_("programs_dept").start("address_aid", APPLICATION)


def test_a_manager_cancels_a_case_from_its_page_only_with_a_reason(api, app):
    case = registered(api)
    manager = signed_in(app.test_client(), "manager")
    assert 'action="/cases/%d/cancel"' % case["id"] in manager.get(f"/cases/{case['id']}").get_data(as_text=True)
    refused = manager.post(f"/cases/{case['id']}/cancel", data={"reason": "  "}, follow_redirects=True)
    assert "Вкажіть причину скасування" in text_of(refused)
    assert api.as_("manager").instance(case["id"])["status"] == "running"
    manager.post(f"/cases/{case['id']}/cancel", data={"reason": "Заявник відкликав заяву"})
    assert api.as_("manager").instance(case["id"])["status"] == "cancelled"
    clerk = signed_in(app.test_client(), "programs_dept")
    assert clerk.post(f"/cases/{case['id']}/cancel", data={"reason": "x"}).status_code == 403


def test_a_manager_gives_a_held_step_to_another_person_of_its_role(api, app, db):
    with db.unit_of_work() as uow:
        users.create_user(uow, "olena", ["programs_dept"], kyiv("2026-01-01 09:00"), name="Олена Петренко")
        uow.commit()
    case = registered(api)
    task_id = case["open_tasks"][0]["id"]
    api.as_("programs_dept").post(f"/tasks/{task_id}/claim")
    manager = signed_in(app.test_client(), "manager")
    page = manager.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert '<option value="olena">Олена Петренко</option>' in page
    manager.post(f"/tasks/{task_id}/reassign", data={"assignee": "olena"})
    assert api.as_("manager").get(f"/tasks/{task_id}").json["assignee"] == "olena"
    assert "Олена Петренко" in text_of(manager.get(f"/tasks/{task_id}"))  # a name, not a login
    manager.post(f"/tasks/{task_id}/reassign", data={"assignee": "director"})  # not of the step's role
    assert api.as_("manager").get(f"/tasks/{task_id}").json["assignee"] == "olena"
    manager.post(f"/tasks/{task_id}/reassign", data={"assignee": ""})
    assert api.as_("manager").get(f"/tasks/{task_id}").json["assignee"] is None


def test_the_header_counts_unread_notifications_and_the_inbox_marks_them_read(api, app, db):
    case = registered(api)
    with db.unit_of_work() as uow:
        uow.session.add(Notification(breach="task_target", instance_id=case["id"], task_id=0, recipient="manager",
                                     subject="Прострочено крок", body="Крок прострочено", created_at=datetime.now(timezone.utc)))
        uow.commit()
    manager = signed_in(app.test_client(), "manager")
    inbox = manager.get("/notifications").get_data(as_text=True)
    assert re.search(r'class="badge unread-count"[^>]*>1<', inbox) and "Прострочено крок" in inbox
    notification_id = re.search(r'data-notification-id="(\d+)"', inbox).group(1)
    manager.post(f"/notifications/{notification_id}/read")
    assert "unread-count" not in manager.get("/notifications").get_data(as_text=True)


def test_unknown_pages_answer_in_ukrainian_html_and_the_api_still_in_problem_json(api, app):
    client = signed_in(app.test_client(), "programs_dept")
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html" and "Сторінку не знайдено" in text_of(page)
    assert api.as_("programs_dept").get("/no-such-thing", 404).mimetype == "application/problem+json"


def test_intake_lands_on_new_application_and_a_clerk_on_the_task_list(api, app):
    assert signed_in(app.test_client(), "intake").get("/").headers["Location"].endswith("/intake")
    assert signed_in(app.test_client(), "programs_dept").get("/").headers["Location"].endswith("/tasks")


def test_completing_a_step_links_to_the_next_step_when_it_is_the_same_persons(api, app):
    case = registered(api)
    task_id = case["open_tasks"][0]["id"]
    clerk = signed_in(app.test_client(), "programs_dept")
    done = clerk.post(f"/tasks/{task_id}", data={"action": "complete", "package_complete": "true"}, follow_redirects=True)
    next_id = api.as_("programs_dept").task_in(case["id"], "form_personal_file")["id"]
    assert f'<a href="/tasks/{next_id}">Перейти до вашого наступного кроку' in done.get_data(as_text=True)
