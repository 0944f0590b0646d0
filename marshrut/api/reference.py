"""Reference data: the 2025 service catalogue, providers, circumstances, contacts."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from marshrut.api.auth import require
from marshrut.api.deps import settings
from marshrut.engine import reference
from marshrut.engine.access import Actor
from marshrut.engine.errors import NotFound

bp = Blueprint("reference", __name__, description="Довідники")


class ProviderRefSchema(Schema):
    id = fields.String()
    name = fields.String()
    short_name = fields.String(allow_none=True)


class ServiceSchema(Schema):
    code = fields.Integer()
    name = fields.String()
    content = fields.String()
    providers = fields.List(fields.Nested(ProviderRefSchema))
    all_registered_providers = fields.Boolean()
    providers_note = fields.String(allow_none=True)


class ProviderSchema(Schema):
    class Meta:
        unknown = "include"

    id = fields.String()
    name = fields.String()
    short_name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    phones = fields.List(fields.String())
    email = fields.String(allow_none=True)
    sector = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    hours = fields.Raw(allow_none=True)
    web = fields.Raw(allow_none=True)
    services = fields.List(fields.Integer())


class CircumstanceSchema(Schema):
    code = fields.String()
    name = fields.String()


def _service(item: dict, directory: object) -> dict:
    by_id = {p["id"]: p for p in reference.providers(directory)}
    ids = reference.service_provider_ids(item["code"], directory)
    return {**item, "providers": [{"id": i, "name": by_id[i]["name"], "short_name": by_id[i].get("short_name")} for i in ids]}


@bp.route("/services")
@require()
@bp.response(200, ServiceSchema(many=True))
def services(actor: Actor):
    """The 24 social services of the 2025 catalogue with their providers"""
    directory = settings().reference_dir
    return [_service(item, directory) for item in reference.services(directory)]


@bp.route("/services/<int:code>")
@require()
@bp.response(200, ServiceSchema)
def service(code: int, actor: Actor):
    """One service by its catalogue number"""
    directory = settings().reference_dir
    item = reference.service(code, directory)
    if item is None:
        raise NotFound(f"Послуги № {code} немає в переліку 2025 року")
    return _service(item, directory)


@bp.route("/providers")
@require()
@bp.response(200, ProviderSchema(many=True))
def providers(actor: Actor):
    """Providers of social services (and the department) with their contacts"""
    directory = settings().reference_dir
    result = []
    for item in reference.providers(directory):
        codes = [s["code"] for s in reference.services(directory) if item["id"] in reference.service_provider_ids(s["code"], directory)]
        result.append({**item, "services": codes})
    return result


@bp.route("/circumstances")
@require()
@bp.response(200, CircumstanceSchema(many=True))
def circumstances(actor: Actor):
    """Categories of difficult life circumstances"""
    return reference.circumstances(settings().reference_dir)


class ContactsSchema(Schema):
    """reference/contacts.json as it is."""

    hotline = fields.Dict(metadata={"description": "«гаряча лінія»: title, number, display, tel"})
    portal = fields.Dict(metadata={"description": "веб-портал: title, url, note"})
    offices = fields.List(fields.Dict())
    emergency = fields.List(fields.Dict())
    links = fields.List(fields.Dict())


@bp.route("/contacts")
@bp.response(200, ContactsSchema)
def contacts():
    """What an applicant is shown: hotline, offices, portal (public)"""
    return reference.contacts(settings().reference_dir)
