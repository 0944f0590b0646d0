"""Technological cards: import a card's DOCX as a diagram with forms (analysts), SPEC §6.1."""

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from marshrut.api.auth import require
from marshrut.engine import card_to_bpmn
from marshrut.engine.access import Actor
from marshrut.engine.errors import FieldError, InvalidInput

bp = Blueprint("tech_cards", __name__, description="Технологічні картки")


class TechCardImportSchema(Schema):
    bpmn = fields.String(required=True, metadata={"description": "BPMN XML з DI (не розгорнуто)"})
    forms = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True,
                        metadata={"description": "JSON Schema форм за id завдання; start — стартова форма"})
    warnings = fields.List(fields.String(), required=True)
    new_roles = fields.Dict(keys=fields.String(), values=fields.String(),
                            metadata={"description": "нові ключі ролей → назва підрозділу з картки"})


@bp.route("/tech-cards/import", methods=["POST"])
@require("analyst")
@bp.response(200, TechCardImportSchema)
def import_card(actor: Actor):
    """A technological card (DOCX, multipart `file`, `process_key`, `name`) → a validated diagram and forms, not deployed"""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("Потрібен файл картки", [FieldError("file", "Додайте файл .docx у поле file")])
    generated = card_to_bpmn.import_card(upload.read(), request.form.get("process_key", "").strip(),
                                         request.form.get("name"))
    return {"bpmn": generated.bpmn, "forms": generated.forms, "warnings": generated.warnings,
            "new_roles": generated.new_roles}
