"""Scanned documents of a case: upload (content sniffed, not named), list, download (audited), remove.

The bytes are kept by a :class:`Storage` (a filesystem folder by default, ``var/documents/``);
the database keeps who uploaded what and when, its size and sha256. A removed document leaves
the case's list but keeps its row and bytes for the audit.
"""

import hashlib
import io
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select

from marshrut.engine import audit, queries
from marshrut.engine.access import Actor
from marshrut.engine.context import Context
from marshrut.engine.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, TooLarge, UnsupportedContent
from marshrut.engine.models import Document, Instance, Task
from marshrut.engine.store import UnitOfWork

PDF, JPEG, PNG, TIFF = "application/pdf", "image/jpeg", "image/png", "image/tiff"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
ACCEPTED = "PDF, JPEG, PNG, TIFF, DOCX, ODT"
NAME_LENGTH, KIND_LENGTH = 255, 200


class Storage(Protocol):
    """Where a document's bytes live, by a key the engine makes up."""

    def put(self, key: str, content: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...


class FilesystemStorage:
    """Documents as files under one folder (``<root>/<case id>/<random>``), written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"document key outside the storage: {key!r}")
        return path

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".part")
        with open(temporary, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()


def sniff(content: bytes) -> str | None:
    """The content type of an accepted document by its first bytes (and a ZIP's entries), else None."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if content.startswith(b"PK\x03\x04"):
        # ODF: the first entry is "mimetype", stored, holding the type (ODF 1.2 §3.3).
        if content[30:38] == b"mimetype" and content[38:38 + len(ODT)] == ODT.encode():
            return ODT
        try:
            names = set(zipfile.ZipFile(io.BytesIO(content)).namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return DOCX
    return None


@dataclass(frozen=True)
class Upload:
    name: str
    kind: str | None
    content: bytes
    task_id: int | None = None


def may_upload(uow: UnitOfWork, actor: Actor, instance: Instance) -> bool:
    """Those who work on the case: the roles completing its steps, and its registrar (not
    overseers by oversight alone, not roles that only take part)."""
    if actor.login == instance.created_by:
        return True
    roles = set(uow.session.scalars(select(Task.role).where(Task.instance_id == instance.id).distinct()))
    return bool(actor.roles & roles)


def _visible_case(uow: UnitOfWork, actor: Actor, instance_id: int) -> Instance:
    instance = queries.get_instance(uow, actor, instance_id)
    if not queries.can_see(uow, actor, instance):
        raise Forbidden("Документи справи доступні лише ролям, залученим до неї, та керівництву")
    return instance


def _check(upload: Upload, limit_bytes: int) -> str:
    if len(upload.content) > limit_bytes:
        raise TooLarge(f"Файл більший за {limit_bytes // (1024 * 1024)} МБ")
    errors = []
    if not upload.name or len(upload.name) > NAME_LENGTH or any(ord(c) < 32 or c == "\x7f" for c in upload.name):
        errors.append(FieldError("file", f"Потрібна назва файлу до {NAME_LENGTH} знаків без керівних символів"))
    if upload.kind is not None and (len(upload.kind) > KIND_LENGTH or any(ord(c) < 32 for c in upload.kind)):
        errors.append(FieldError("kind", f"Вид документа — до {KIND_LENGTH} знаків"))
    if errors:
        raise InvalidInput("Неправильний документ", errors)
    content_type = sniff(upload.content)
    if content_type is None:
        raise UnsupportedContent(f"Приймаються лише {ACCEPTED} (за вмістом файлу, не за назвою)")
    return content_type


def upload(uow: UnitOfWork, actor: Actor, ctx: Context, storage: Storage, instance_id: int, sent: Upload,
           limit_bytes: int) -> Document:
    """Attach a document to a case.

    :raise NotFound: no such case. :raise Forbidden: the actor does not work on the case.
    :raise TooLarge: over the limit. :raise UnsupportedContent: not an accepted kind of file.
    :raise InvalidInput: a bad name or kind, or a step of another case.
    """
    instance = _visible_case(uow, actor, instance_id)
    if not may_upload(uow, actor, instance):
        raise Forbidden("Додавати документи можуть ролі, що виконують кроки справи, та її реєстратор")
    if sent.task_id is not None:
        task = uow.session.get(Task, sent.task_id)
        if task is None or task.instance_id != instance.id:
            raise InvalidInput("Неправильний крок", [FieldError("task_id", "Такого кроку в цій справі немає")])
    content_type = _check(sent, limit_bytes)
    key = f"{instance.id}/{uuid.uuid4().hex}"
    storage.put(key, sent.content)
    document = Document(
        instance_id=instance.id, task_id=sent.task_id, name=sent.name, kind=sent.kind or None,
        content_type=content_type, size=len(sent.content), sha256=hashlib.sha256(sent.content).hexdigest(),
        storage_key=key, uploaded_by=actor.login, uploaded_at=ctx.now(),
    )
    uow.session.add(document)
    uow.flush()
    audit.record(uow, "document_uploaded", actor.login, document.uploaded_at, instance.id, sent.task_id,
                 {"document_id": document.id, "name": document.name, "kind": document.kind, "sha256": document.sha256,
                  "size": document.size})
    return document


def listed(uow: UnitOfWork, actor: Actor, instance_id: int) -> list[Document]:
    """The case's documents (not removed), oldest first."""
    _visible_case(uow, actor, instance_id)
    query = select(Document).where(Document.instance_id == instance_id, Document.deleted_at.is_(None)).order_by(Document.id)
    return list(uow.session.scalars(query))


def _document(uow: UnitOfWork, document_id: int) -> Document:
    document = uow.session.get(Document, document_id)
    if document is None or document.deleted_at is not None:
        raise NotFound(f"Документ {document_id} не знайдено")
    return document


def download(uow: UnitOfWork, actor: Actor, ctx: Context, storage: Storage, document_id: int) -> tuple[Document, bytes]:
    """A document's bytes; every download is in the audit log."""
    document = _document(uow, document_id)
    _visible_case(uow, actor, document.instance_id)
    content = storage.get(document.storage_key)
    audit.record(uow, "document_downloaded", actor.login, ctx.now(), document.instance_id, document.task_id,
                 {"document_id": document.id, "name": document.name})
    return document, content


def remove(uow: UnitOfWork, actor: Actor, ctx: Context, document_id: int) -> int:
    """Take a document off the case's list (its uploader, while the case runs); kept for the audit.

    :return: the case's id.
    """
    document = _document(uow, document_id)
    instance = _visible_case(uow, actor, document.instance_id)
    if document.uploaded_by != actor.login:
        raise Forbidden("Вилучити документ може лише той, хто його додав")
    if instance.status != "running":
        raise Conflict("Справу завершено: її документи вже не змінюються")
    document.deleted_at, document.deleted_by = ctx.now(), actor.login
    audit.record(uow, "document_removed", actor.login, document.deleted_at, instance.id, document.task_id,
                 {"document_id": document.id, "name": document.name})
    return instance.id


def scans_per_case(uow: UnitOfWork, instance_ids: list[int]) -> dict[int, int]:
    """How many scanned documents each case has (removed ones not counted), in one query."""
    if not instance_ids:
        return {}
    query = (select(Document.instance_id, func.count()).where(Document.instance_id.in_(instance_ids),
                                                              Document.deleted_at.is_(None))
             .group_by(Document.instance_id))
    return {instance_id: count for instance_id, count in uow.session.execute(query)}


def view(document: Document, ctx: Context, names: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": document.id, "instance_id": document.instance_id, "task_id": document.task_id, "name": document.name,
        "kind": document.kind, "content_type": document.content_type, "size": document.size, "sha256": document.sha256,
        "uploaded_by": document.uploaded_by, "uploaded_by_name": (names or {}).get(document.uploaded_by),
        "uploaded_at": document.uploaded_at.astimezone(ctx.calendar.tz).isoformat(),
    }


def checklist(declared: Any, documents: list[Document]) -> list[dict[str, Any]]:
    """The documents the application lists, each with whether one of that kind was uploaded."""
    kinds = {d.kind for d in documents if d.kind}
    items = declared if isinstance(declared, list) else []
    return [{"kind": k, "uploaded": k in kinds} for k in items if isinstance(k, str)]
