"""Scanned documents of a case over HTTP (SPEC §6.1): sniffed by content, limited in size, audited."""

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from marshrut.engine.config import Settings
from marshrut.engine.models import AuditEvent, Document
from tests.api.conftest import Http, count_rows, problem
from tests.walks import APPLICATION

MAX_MB = 9  # above the 8 MB every other request is held to
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def documents_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("documents")


@pytest.fixture
def settings(migrated: str, documents_dir: Path) -> Settings:
    return Settings(database_url=migrated, controlled_clock=True, documents_dir=documents_dir, max_document_mb=MAX_MB)


def case(api: Http) -> dict[str, Any]:
    api.set_clock("2026-02-02T10:00:00+02:00")
    return api.as_("programs_dept").start("address_aid", APPLICATION)


def send(api: Http, role: str, case_id: int, content: bytes, name: str = "скан.pdf", expect: int = 201,
         **fields: Any):
    return api.as_(role).post(f"/process-instances/{case_id}/documents", expect,
                              data={"file": (io.BytesIO(content), name), **fields}, content_type="multipart/form-data")


def test_an_uploaded_scan_is_listed_downloaded_with_its_bytes_and_every_download_is_audited(api, db):
    case_id = case(api)["id"]
    sent = send(api, "programs_dept", case_id, PDF, kind="Довідка про склад сім’ї").json
    assert sent["content_type"] == "application/pdf" and sent["size"] == len(PDF)
    assert sent["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert sent["kind"] == "Довідка про склад сім’ї" and sent["uploaded_by"] == "programs_dept"

    listed = api.as_("manager").get(f"/process-instances/{case_id}/documents").json
    assert [d["name"] for d in listed["items"]] == ["скан.pdf"] and listed["total"] == 1
    response = api.as_("manager").get(f"/documents/{sent['id']}")
    assert response.data == PDF and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    api.as_("programs_dept").get(f"/documents/{sent['id']}")
    assert count_rows(db, AuditEvent, event="document_downloaded") == 2


@pytest.mark.parametrize("content, content_type", [
    (PNG, "image/png"), (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "image/jpeg"), (b"II*\x00" + b"\x00" * 8, "image/tiff"),
    (docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (odt(), "application/vnd.oasis.opendocument.text"),
])
def test_each_accepted_kind_is_known_by_its_content_not_its_name(api, content, content_type):
    case_id = case(api)["id"]
    assert send(api, "programs_dept", case_id, content, name="без-розширення").json["content_type"] == content_type


@pytest.mark.parametrize("content", [b"MZ\x90\x00 an executable", b"<html>hi</html>", zipfile.ZipFile.__doc__.encode()[:50],
                                     b"PK\x03\x04 not really a zip"])
def test_other_content_is_refused_with_415_whatever_its_name(api, db, content):
    case_id = case(api)["id"]
    problem(send(api, "programs_dept", case_id, content, name="scan.pdf", expect=415), 415)
    assert count_rows(db, Document) == 0


def multipart(content: bytes, name: str) -> bytes:
    """A multipart body built here (the test client would spool a large one to a file it never closes)."""
    head = f'--b\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'.encode()
    return head + content + b"\r\n--b--\r\n"


def test_a_file_at_the_limit_is_taken_though_larger_than_other_requests_may_be(api):
    case_id = case(api)["id"]
    body = multipart(PDF + b"0" * (MAX_MB * 1024 * 1024 - len(PDF)), "big.pdf")
    sent = api.as_("programs_dept").post(f"/process-instances/{case_id}/documents", 201, data=body,
                                         content_type="multipart/form-data; boundary=b").json
    assert sent["size"] == MAX_MB * 1024 * 1024


@pytest.mark.parametrize("extra", [1, 100 * 1024])
def test_a_file_over_the_limit_is_refused_with_413(api, db, extra):
    case_id = case(api)["id"]
    body = multipart(PDF + b"0" * (MAX_MB * 1024 * 1024 - len(PDF) + extra), "big.pdf")
    problem(api.as_("programs_dept").post(f"/process-instances/{case_id}/documents", 413, data=body,
                                          content_type="multipart/form-data; boundary=b"), 413)
    assert count_rows(db, Document) == 0


def test_managers_and_uninvolved_roles_may_not_upload_and_outsiders_may_not_read(api):
    case_id = case(api)["id"]
    send(api, "manager", case_id, PDF, expect=403)
    send(api, "director", case_id, PDF, expect=403)
    document = send(api, "programs_dept", case_id, PDF).json
    api.as_("director").get(f"/process-instances/{case_id}/documents", 403)
    api.as_("director").get(f"/documents/{document['id']}", 403)
    api.as_("programs_dept").get("/documents/999999", 404)


def test_the_uploader_removes_a_document_from_the_list_and_it_stays_for_the_audit(api, db):
    case_id = case(api)["id"]
    document = send(api, "programs_dept", case_id, PDF).json
    api.as_("manager").request("DELETE", f"/documents/{document['id']}", 403)
    api.as_("programs_dept").request("DELETE", f"/documents/{document['id']}", 204)
    assert api.as_("programs_dept").get(f"/process-instances/{case_id}/documents").json["items"] == []
    api.as_("programs_dept").get(f"/documents/{document['id']}", 404)
    assert count_rows(db, Document) == 1
    assert count_rows(db, AuditEvent, event="document_removed") == 1


def test_a_document_of_a_closed_case_cannot_be_removed(api):
    case_id = case(api)["id"]
    document = send(api, "programs_dept", case_id, PDF).json
    api.as_("manager").post(f"/process-instances/{case_id}/cancel", json={"reason": "Заявник відкликав заяву"})
    problem(api.as_("programs_dept").request("DELETE", f"/documents/{document['id']}", 409), 409)


def test_an_upload_without_a_file_or_with_a_control_character_in_its_name_is_422(api):
    case_id = case(api)["id"]
    problem(api.as_("programs_dept").post(f"/process-instances/{case_id}/documents", 422, data={"kind": "x"},
                                          content_type="multipart/form-data"), 422)
    problem(send(api, "programs_dept", case_id, PDF, name="a\x00b.pdf", expect=422), 422)
