"""The clerk's pages over the test client: search, the applicant column, documents and comments on the case and task pages."""

import io
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from marshrut.engine.config import Settings
from marshrut.engine.models import AuditEvent
from tests.api.conftest import Browser, Http, count_rows, sign_in
from tests.walks import APPLICATION

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(scope="session")
def documents_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("page-documents")


@pytest.fixture
def settings(migrated: str, documents_dir: Path) -> Settings:
    return Settings(database_url=migrated, controlled_clock=True, documents_dir=documents_dir)


def signed_in(client: FlaskClient, role: str) -> Browser:
    return sign_in(client, role)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_cases_page_finds_a_case_by_surname_and_shows_the_applicant(api: Http, app):
    api.set_clock("2026-02-02T10:00:00+02:00")
    api.as_("programs_dept").start("address_aid", {**APPLICATION, "surname": "Бондаренко", "first_name": "Олена"})
    api.as_("programs_dept").start("address_aid", {**APPLICATION, "surname": "Коваль", "first_name": "Іван"})
    client = signed_in(app.test_client(), "programs_dept")
    page = text_of(client.get("/cases", query_string={"q": "бондар"}))
    assert "Бондаренко О." in page and "Коваль" not in page and "Знайдено: 1" in page
    tasks = text_of(client.get("/tasks", query_string={"q": "коваль"}))
    assert "Коваль І." in tasks and "Бондаренко" not in tasks


def test_a_clerk_uploads_a_scan_and_comments_from_the_task_page_and_the_checklist_is_ticked(api: Http, app, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("programs_dept").start("address_aid", APPLICATION)
    task_id = case["open_tasks"][0]["id"]
    kind = APPLICATION["documents"][0]
    client = signed_in(app.test_client(), "programs_dept")
    sent = client.post(f"/cases/{case['id']}/documents", data={"file": (io.BytesIO(PDF), "довідка.pdf"), "kind": kind,
                                                               "task_id": str(task_id)}, content_type="multipart/form-data")
    assert sent.status_code in (302, 303) and f"/tasks/{task_id}" in sent.headers["Location"]
    client.post(f"/cases/{case['id']}/comments", data={"text": "Оригінал довідки бачила", "task_id": str(task_id)})

    page = text_of(client.get(f"/tasks/{task_id}"))
    assert "довідка.pdf" in page and "Оригінал довідки бачила" in page
    assert re.search(r'<li class="uploaded">.{0,80}' + re.escape(kind), page)
    document_link = re.search(r'href="(/documents/\d+)"', page).group(1)
    assert client.get(document_link).data == PDF
    assert count_rows(db, AuditEvent, event="document_downloaded") == 1
    case_page = text_of(client.get(f"/cases/{case['id']}"))
    assert "довідка.pdf" in case_page and "Оригінал довідки бачила" in case_page


def test_a_page_upload_of_other_content_says_why_and_keeps_nothing(api: Http, app):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("programs_dept").start("address_aid", APPLICATION)
    client = signed_in(app.test_client(), "programs_dept")
    response = client.post(f"/cases/{case['id']}/documents", data={"file": (io.BytesIO(b"MZ..."), "scan.pdf")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "Приймаються лише PDF" in text_of(response)
    assert api.as_("programs_dept").get(f"/process-instances/{case['id']}/documents").json["items"] == []


def test_the_uploader_removes_a_document_from_the_page_and_others_see_no_remove_button(api: Http, app):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("programs_dept").start("address_aid", APPLICATION)
    client = signed_in(app.test_client(), "programs_dept")
    client.post(f"/cases/{case['id']}/documents", data={"file": (io.BytesIO(PDF), "скан.pdf")}, content_type="multipart/form-data")
    document_id = api.as_("programs_dept").get(f"/process-instances/{case['id']}/documents").json["items"][0]["id"]
    assert f"/documents/{document_id}/remove" not in signed_in(app.test_client(), "manager").get(f"/cases/{case['id']}").get_data(as_text=True)
    assert signed_in(app.test_client(), "manager").post(f"/documents/{document_id}/remove").status_code == 403
    client.post(f"/documents/{document_id}/remove")
    documents = re.search(r'id="documents".*?</section>', text_of(client.get(f"/cases/{case['id']}"))).group(0)
    assert "скан.pdf" not in documents and "Документів ще немає" in documents


def test_the_due_date_filter_takes_a_date_the_ukrainian_way(api: Http, app):
    api.set_clock("2026-02-02T10:00:00+02:00")
    api.as_("programs_dept").start("address_aid", APPLICATION)  # accept_documents due 03.02.2026
    client = signed_in(app.test_client(), "programs_dept")
    assert "Знайдено: 1" in text_of(client.get("/tasks", query_string={"due_before": "03.02.2026"}))
    assert "Знайдено: 0" in text_of(client.get("/tasks", query_string={"due_before": "02.02.2026"}))
    assert "дд.мм.рррр" in text_of(client.get("/tasks", query_string={"due_before": "завтра"}, follow_redirects=True))


def test_the_commission_page_counts_each_case_s_scanned_documents(api: Http, app, db, settings, actors):
    from tests.integration.engine_walk import Walker
    from tests.meeting_cases import APPLICANTS, cases_at

    with_scan, without = cases_at(Walker(db, settings, actors), "prepare_commission_materials", APPLICANTS[:2])
    api.as_("programs_dept").post(f"/process-instances/{with_scan}/documents", 201, content_type="multipart/form-data",
                                  data={"file": (io.BytesIO(PDF), "довідка.pdf"), "kind": "Довідка про склад сім’ї"})
    page = signed_in(app.test_client(), "programs_deputy").get("/meetings/commission").get_data(as_text=True)
    rows = {number: row for number, row in re.findall(r'data-number="([^"]+)">(.*?)</tr>', page, flags=re.S)}
    numbers = {api.as_("manager").instance(i)["number"]: i for i in (with_scan, without)}
    scans = {numbers[n]: re.search(r'class="scans"[^>]*>(\d+) скан', row).group(1) for n, row in rows.items()}
    assert scans == {with_scan: "1", without: "0"}
