"""Web pages for staff, managers and analysts (Ukrainian), over the same engine use cases as
the API. Each page module exposes routes on the one ``bp`` blueprint defined here.
"""

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFError

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static", static_url_path="/ui/static")


def register(app: Flask) -> None:
    """Attach the pages, the vendor assets from node_modules and the template helpers."""
    # Each page module adds its routes to bp when imported.
    from marshrut.ui import analyst, assets, auth, cases, casework, dashboard, incidents, intake, manage, meetings, pages, tasks  # noqa: F401
    from marshrut.ui import cards, decisions  # noqa: F401

    app.register_blueprint(bp)
    assets.register(app)
    app.context_processor(auth.template_globals)
    app.register_error_handler(CSRFError, auth.csrf_failed)
    app.context_processor(manage.unread_count)
