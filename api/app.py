"""The Flask application factory."""

from flask import Flask
from flask_smorest import Api

from api.config import settings_from_env
from engine.config import Settings
from engine.store import Database


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app for ``settings`` (from the environment when not given)."""
    settings = settings or settings_from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        API_TITLE="Marshrut API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
    )
    app.extensions["marshrut"] = {"settings": settings, "db": Database(settings.database_url)}
    api = Api(app)
    from api import errors, health

    errors.register(app, api)
    api.register_blueprint(health.bp, url_prefix="/api/v1")
    return app
