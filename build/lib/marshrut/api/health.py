"""Liveness (is the service up, can it reach its database) and readiness (is its schema current)."""

from flask_smorest import Blueprint
from sqlalchemy import text

from marshrut.api.deps import database
from marshrut.api.schemas import HealthSchema, ReadySchema
from marshrut.engine import migrate

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


@bp.route("/ready")
@bp.response(200, ReadySchema)
@bp.alt_response(503, schema=ReadySchema, description="База даних недоступна або схема не оновлена")
def ready():
    """Ready to serve: the database answers and its schema is at the migrations' head"""
    try:
        current = migrate.current(database().engine)
    except Exception:  # noqa: BLE001 - readiness reports, it does not raise
        return {"status": "not_ready", "database": "unavailable", "migrations": "unknown"}, 503
    head = migrate.head()
    if current != head:
        return {"status": "not_ready", "database": "ok", "migrations": f"{current or 'none'} != {head}"}, 503
    return {"status": "ready", "database": "ok", "migrations": current}
