"""The landing page: each user goes where their work is."""

from flask import redirect, url_for

from marshrut.engine.access import Actor
from marshrut.ui import bp
from marshrut.ui.auth import login_required


@bp.route("/")
@login_required()
def home(actor: Actor):
    """Головна"""
    if actor.has("manager"):
        return redirect(url_for("ui.dashboard"))
    if actor.has("analyst") and not actor.has("programs_dept", "dept_specialist"):
        return redirect(url_for("ui.definitions"))
    if actor.roles <= {"intake", "admin"} and actor.has("intake"):  # intake registers, it has no steps of its own
        return redirect(url_for("ui.intake_index"))
    return redirect(url_for("ui.my_tasks"))
