"""The Flask application factory."""

import swagger_ui_bundle
from flask import Blueprint, Flask
from flask_smorest import Api
from werkzeug.routing import IntegerConverter, Map

from marshrut import ui
from marshrut.api.config import settings_from_env
from marshrut.api.deps import close_request_session
from marshrut.api.schemas import MAX_INT
from marshrut.api.security import configure as configure_security
from marshrut.engine import workflow_state
from marshrut.engine import sandbox_guards
from marshrut.engine.config import Settings
from marshrut.engine.store import Database


docs_assets = Blueprint(
    "docs_assets", __name__, static_folder=swagger_ui_bundle.swagger_ui_path, static_url_path="/api/v1/docs/assets"
)


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` bounded by the id columns' range (see :data:`api.schemas.MAX_INT`)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_INT,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class MarshrutApi(Api):
    """flask-smorest's Api serving a document true to the answers (see :mod:`api.openapi`)."""

    def _openapi_json(self):  # type: ignore[no-untyped-def]
        from flask import current_app, json

        from marshrut.api.openapi import finalize

        cache = current_app.extensions["marshrut"]
        if "openapi" not in cache:
            cache["openapi"] = json.dumps(finalize(self.spec.to_dict(), current_app), ensure_ascii=False, indent=1)
        return current_app.response_class(cache["openapi"], mimetype="application/json")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app for ``settings`` (from the environment when not given)."""
    settings = settings or settings_from_env()
    app = Flask(__name__)
    # Ids in paths (<int:…>) above what an id column holds match no route (404), for every blueprint.
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.update(
        API_TITLE="Marshrut API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        API_SPEC_OPTIONS={
            "security": [{"bearerAuth": []}],
            "info": {"description": "Маршрут: процеси Департаменту соціальної політики Житомирської міської ради. "
                                    "Помилки — application/problem+json (RFC 9457)."},
        },
        # Swagger UI's files come from the swagger-ui-bundle package, served locally (no CDN).
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
    )
    configure_security(app, settings)
    # Keys in the order the answer builds them (fields as documented), not sorted on every answer.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    workflow_state.RECENT.resize(settings.kept_workflows)
    sandbox_guards.configure(timeout_ms=settings.script_timeout_ms)
    app.extensions["marshrut"] = {"settings": settings, "db": Database(settings.database_url)}
    app.teardown_appcontext(close_request_session)
    api = MarshrutApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    from marshrut.api import (admin, comments, definitions, documents, errors, health, incidents, input_guard, instances, me,
                     notifications, observability, paperwork, reference, sla, tasks, tech_cards)

    observability.register(app)
    errors.register(app, api)
    input_guard.register(app)
    app.register_blueprint(docs_assets)
    ui.register(app)
    for module in (health, me, definitions, instances, tasks, sla, notifications, reference, admin, incidents, documents,
                   comments, paperwork, tech_cards):
        api.register_blueprint(module.bp, url_prefix="/api/v1")
    return app
