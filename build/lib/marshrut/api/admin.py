"""Administration: the controlled clock and a worker pass on demand."""

from datetime import datetime, timezone

from flask_smorest import Blueprint

from marshrut.api.auth import require
from marshrut.api.deps import database, operation, settings
from marshrut.api.schemas import ClockSchema, TickSchema
from marshrut.engine import audit, worker
from marshrut.engine.access import Actor
from marshrut.engine.context import set_controlled_clock
from marshrut.engine.errors import NotFound

bp = Blueprint("admin", __name__, description="Адміністрування")


def _controlled_clock_enabled() -> None:
    if not settings().controlled_clock:
        raise NotFound("Керований годинник вимкнено (MARSHRUT_CONTROLLED_CLOCK)")


@bp.route("/admin/clock", methods=["PUT"])
@require("admin")
@bp.arguments(ClockSchema)
@bp.response(200, ClockSchema)
def set_clock(body: dict, actor: Actor):
    """Set the controlled clock's "now" (only with MARSHRUT_CONTROLLED_CLOCK=1)"""
    _controlled_clock_enabled()
    with operation() as (uow, ctx):
        previous = ctx.now()
        set_controlled_clock(uow, body["now"])
        audit.record(uow, "clock_set", actor.login, datetime.now(timezone.utc),
                     data={"previous": previous.isoformat(), "now": body["now"].isoformat()})
        uow.commit()
    with operation() as (_uow, ctx):
        return {"now": ctx.now()}


@bp.route("/admin/clock")
@require("admin")
@bp.response(200, ClockSchema)
def get_clock(actor: Actor):
    """The controlled clock's "now\""""
    _controlled_clock_enabled()
    with operation() as (_uow, ctx):
        return {"now": ctx.now()}


@bp.route("/admin/tick", methods=["POST"])
@require("admin")
@bp.response(200, TickSchema)
def tick(actor: Actor):
    """Run one worker pass now: fire due timers"""
    result = worker.run_pass(database(), settings())
    with operation() as (_uow, ctx):
        now = ctx.now().isoformat()
    return {"cases": result.cases, "timers_fired": result.timers_fired, "now": now}
