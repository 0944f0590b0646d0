"""Scanned documents of a case (SPEC §6.1): upload, list, download (audited), remove."""

from urllib.parse import quote

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from marshrut.api.auth import require
from marshrut.api.deps import operation, settings
from marshrut.engine import documents, users
from marshrut.engine.access import Actor
from marshrut.engine.errors import FieldError, InvalidInput, TooLarge
from marshrut.engine.models import Document

bp = Blueprint("documents", __name__, description="Документи справи")
#: Room for the multipart envelope and the other fields around the file itself.
ENVELOPE = 64 * 1024


class DocumentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    task_id = fields.Integer(allow_none=True)
    name = fields.String()
    kind = fields.String(allow_none=True)
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    uploaded_by_name = fields.String(allow_none=True)
    uploaded_at = fields.String()


class DocumentListSchema(Schema):
    items = fields.List(fields.Nested(DocumentSchema))
    total = fields.Integer()


def storage() -> documents.FilesystemStorage:
    return documents.FilesystemStorage(settings().documents_dir)


def limit_bytes() -> int:
    return settings().max_document_mb * 1024 * 1024


def read_upload() -> documents.Upload:
    """The multipart ``file`` (+ ``kind``, ``task_id``) of this request, within the size limit (413 over it)."""
    if request.content_length is not None and request.content_length > limit_bytes() + ENVELOPE:
        raise TooLarge(f"Файл більший за {settings().max_document_mb} МБ")  # before a byte of it is read
    request.max_content_length = limit_bytes() + ENVELOPE
    sent = request.files.get("file")
    if sent is None:
        raise InvalidInput("Немає файлу", [FieldError("file", "Додайте файл у частині multipart «file»")])
    task_id = request.form.get("task_id") or None
    if task_id is not None and not (task_id.isdigit() and int(task_id) < 2**31):
        raise InvalidInput("Неправильний крок", [FieldError("task_id", "Номер кроку — ціле число")])
    content = sent.stream.read(limit_bytes() + 1)
    return documents.Upload(sent.filename or "", request.form.get("kind") or None, content,
                            int(task_id) if task_id else None)


@bp.route("/process-instances/<int:instance_id>/documents", methods=["POST"])
@require()
@bp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
    "file": {"type": "string", "format": "binary"}, "kind": {"type": "string", "maxLength": 200},
    "task_id": {"type": "integer"}}, "required": ["file"]}}}})
@bp.response(201, DocumentSchema)
def upload(instance_id: int, actor: Actor):
    """Attach a scanned document (PDF, JPEG, PNG, TIFF, DOCX, ODT by content; 415 otherwise, 413 over the limit)"""
    sent = read_upload()
    with operation() as (uow, ctx):
        document = documents.upload(uow, actor, ctx, storage(), instance_id, sent, limit_bytes())
        uow.commit()
        return documents.view(document, ctx, users.names_of(uow, {actor.login}))


@bp.route("/process-instances/<int:instance_id>/documents")
@require()
@bp.response(200, DocumentListSchema)
def index(instance_id: int, actor: Actor):
    """The case's documents, oldest first"""
    with operation() as (uow, ctx):
        found = documents.listed(uow, actor, instance_id)
        who = users.names_of(uow, {d.uploaded_by for d in found})
        items = [documents.view(d, ctx, who) for d in found]
    return {"items": items, "total": len(items)}


@bp.route("/documents/<int:document_id>")
@require()
@bp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
def download(document_id: int, actor: Actor):
    """The document's file (every download is audited)"""
    with operation() as (uow, ctx):
        document, content = documents.download(uow, actor, ctx, storage(), document_id)
        uow.commit()
        return attachment(document, content)


def attachment(document: Document, content: bytes) -> Response:
    response = Response(content, mimetype=document.content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(document.name)}"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/documents/<int:document_id>", methods=["DELETE"])
@require()
@bp.response(204)
def remove(document_id: int, actor: Actor):
    """Take the document off the case's list (its uploader, while the case runs); kept for the audit"""
    with operation() as (uow, ctx):
        documents.remove(uow, actor, ctx, document_id)
        uow.commit()
    return Response(status=204)
