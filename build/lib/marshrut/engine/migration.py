"""Moving running cases to another version of their process (usually a fixed one).

Built on SpiffWorkflow's workflow diff (:func:`engine.runtime.missing_in`,
:func:`engine.runtime.migrate`): a case moves when every step it stands at (ready steps,
waiting timers, failed elements) exists in the target version; otherwise it is refused with
those steps named. A moved case keeps its open steps (same rows, same ids), its timers'
moments and its data; its future follows the new version. Every move is audited.
"""

from dataclasses import dataclass

from sqlalchemy import select

from marshrut.engine import audit, case_sync, definitions, incidents, queries, runtime
from marshrut.engine.access import Actor
from marshrut.engine.config import Settings
from marshrut.engine.context import Context
from marshrut.engine.errors import Conflict, EngineError, FieldError, Forbidden, InvalidInput, NotFound
from marshrut.engine.models import Definition, Instance
from marshrut.engine.operation import attempts, operation
from marshrut.engine.store import Database, UnitOfWork


class MissingSteps(InvalidInput):
    """The target version lacks steps the case stands at (their element ids in ``errors``)."""

    code = "missing_steps"


def version_row(uow: UnitOfWork, key: str, version: int) -> Definition:
    """:raise NotFound: process ``key`` has no such version."""
    row = uow.session.scalars(select(Definition).where(Definition.key == key, Definition.version == version)).first()
    if row is None:
        raise NotFound(f"Процес «{key}» не має версії {version}")
    return row


def _check_actor(actor: Actor) -> None:
    if not actor.has(*incidents.RETRY_ROLES):
        raise Forbidden("Переносити справи на іншу версію може адміністратор або аналітик")


def migrate_case(uow: UnitOfWork, actor: Actor, ctx: Context, instance_id: int, version: int) -> Instance:
    """Move a running case to ``version`` of its process; the same version changes nothing.

    :raise Forbidden: the actor is not an admin or analyst. :raise NotFound: no such case or version.
    :raise Conflict: the case no longer runs. :raise MissingSteps: the version lacks open steps of the case.
    """
    _check_actor(actor)
    instance = incidents.locked_instance(uow, instance_id)
    if instance.status != case_sync.RUNNING:
        raise Conflict(f"Справа вже має статус {instance.status}; переносити можна лише справи, що виконуються")
    current = queries.definition_of(uow, instance)
    target = version_row(uow, instance.process_key, version)
    if target.id == current.id:
        return instance
    old, new = definitions.compiled(current), definitions.compiled(target)
    before = case_sync.read(uow, instance)
    workflow = runtime.load(instance.state, old, ctx)
    missing = runtime.missing_in(workflow, new)
    if missing:
        message = f"У версії {version} немає кроків, на яких стоїть справа {instance.number}: {', '.join(missing)}"
        raise MissingSteps(message, [FieldError(m, f"Кроку «{m}» немає у версії {version}") for m in missing])
    runtime.migrate(workflow, new)
    instance.definition_id = target.id
    queries.hold_definition(uow, target)
    for task in before.open_tasks.values():  # the same steps, as the new version names them
        step = new.step(task.element_id) or {}
        task.name = step.get("name") or task.name
    case_sync.sync(uow, instance, workflow, new, ctx, actor.login, before)
    audit.record(uow, "case_migrated", actor.login, ctx.now(), instance.id,
                 data={"from_version": current.version, "to_version": target.version})
    return instance


@dataclass(frozen=True)
class Outcome:
    """What happened to one case of a version moved as a whole."""

    instance_id: int
    number: str
    status: int  # as the single move would answer: 200, 409, 422
    problem: str | None = None
    missing: tuple[str, ...] = ()


def running_of(uow: UnitOfWork, key: str, version: int) -> list[tuple[int, str]]:
    """(id, number) of the running cases of a version."""
    row = version_row(uow, key, version)
    query = select(Instance.id, Instance.number).where(Instance.definition_id == row.id,
                                                       Instance.status == case_sync.RUNNING)
    return [(r.id, r.number) for r in uow.session.execute(query.order_by(Instance.id))]


def outcome_of(instance_id: int, number: str, error: EngineError | None) -> Outcome:
    """The per-case result of a move: 200, or the status its failure would answer alone."""
    if error is None:
        return Outcome(instance_id, number, 200)
    if isinstance(error, MissingSteps):
        return Outcome(instance_id, number, 422, error.message, tuple(e.path for e in error.errors))
    status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, Conflict) else 422
    return Outcome(instance_id, number, status, error.message)


def check_version_move(uow: UnitOfWork, actor: Actor, key: str, version: int, to_version: int) -> None:
    """:raise Forbidden: / :raise NotFound: before any case of a version is moved."""
    _check_actor(actor)
    version_row(uow, key, version)
    version_row(uow, key, to_version)


def migrate_version(db: Database, settings: Settings, actor: Actor, key: str, version: int,
                    to_version: int) -> list[Outcome]:
    """Move every running case of ``version`` to ``to_version``, each in its own transaction:
    a case that cannot move is reported and the others go on.

    :raise Forbidden: / :raise NotFound: as :func:`check_version_move` (nothing moved).
    """
    with operation(db, settings) as (uow, _ctx):
        check_version_move(uow, actor, key, version, to_version)
        cases = running_of(uow, key, version)
    outcomes = []
    for instance_id, number in cases:
        error: EngineError | None = None
        try:
            for attempt in attempts(db, settings):
                with attempt as (uow, ctx):
                    migrate_case(uow, actor, ctx, instance_id, to_version)
                    uow.commit()
        except EngineError as err:
            error = err
        outcomes.append(outcome_of(instance_id, number, error))
    return outcomes
