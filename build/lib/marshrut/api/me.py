"""The caller's own account."""

from flask_smorest import Blueprint

from marshrut.api.auth import require
from marshrut.api.schemas import MeSchema
from marshrut.engine.access import Actor

bp = Blueprint("me", __name__, description="Поточний користувач")


@bp.route("/me")
@require()
@bp.response(200, MeSchema)
def get(actor: Actor):
    """Who am I"""
    return {"login": actor.login, "name": actor.name, "roles": sorted(actor.roles)}
