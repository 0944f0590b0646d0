"""The commission's and the committee's papers, made from cases (SPEC §6.1 ``paperwork``)."""

import io

from flask import send_file
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marshrut.api.auth import require
from marshrut.api.deps import operation, settings
from marshrut.api.schemas import MAX_INT
from marshrut.engine import paperwork
from marshrut.engine.access import Actor

bp = Blueprint("paperwork", __name__, description="Документи засідань: протокол, проєкт рішення, реєстр, повідомлення")


class PaperworkSchema(Schema):
    instance_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=MAX_INT)), required=True,
                               validate=validate.Length(min=1, max=paperwork.MAX_CASES))
    number = fields.String(validate=validate.Length(max=50), metadata={"description": "номер протоколу / рішення"})
    date = fields.Date(metadata={"description": "дата протоколу / рішення"})


PAPER = "Файл (DOCX або XLSX), Content-Disposition: attachment"


@bp.route("/paperwork/<kind>", methods=["POST"])
@require()
@bp.arguments(PaperworkSchema)
@bp.response(200, description=PAPER)
@bp.doc(responses={"200": {"description": PAPER, "content": {kind: {"schema": {"type": "string", "format": "binary"}}
                                                             for kind in (paperwork.DOCX, paperwork.XLSX)}}})
def generate(body: dict, kind: str, actor: Actor):
    """Make a paper (commission_minutes, committee_draft_decision, payment_register, decision_notice) from cases"""
    options = {"number": body.get("number"), "date": body["date"].isoformat() if body.get("date") else None}
    with operation() as (uow, ctx):
        paper = paperwork.generate(uow, actor, ctx, kind, body["instance_ids"], options, settings().templates_dir)
        uow.commit()  # the generation is audited before the file leaves
    response = send_file(io.BytesIO(paper.content), mimetype=paper.content_type, as_attachment=True,
                         download_name=paper.filename)
    response.headers["Cache-Control"] = "no-store"
    return response
