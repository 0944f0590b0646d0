"""Liveness: is the service up and can it reach its database."""

from flask_smorest import Blueprint
from sqlalchemy import text

from api.deps import database
from api.schemas import HealthSchema

bp = Blueprint("health", __name__, description="Стан сервісу")


@bp.route("/health")
@bp.response(200, HealthSchema)
def get():
    """Service and database status"""
    try:
        with database().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}
    except Exception:  # noqa: BLE001 - health reports, it does not raise
        return {"status": "degraded", "database": "unavailable"}, 503
