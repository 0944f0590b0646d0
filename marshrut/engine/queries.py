"""Read side: task and case lists with filters, straight from the rows (no workflow loaded)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, exists, func, literal_column, or_, select

from marshrut.engine import search, sla_counts
from marshrut.engine.access import Actor, may_view_case, may_view_task
from marshrut.engine.errors import FieldError, Forbidden, InvalidInput, NotFound
from marshrut.engine.models import Definition, Instance, Task, Timer
from marshrut.engine.store import UnitOfWork

T = TypeVar("T")
TASK_STATES = ("ready", "completed", "cancelled", "all")
TASK_SLA = ("on_track", "at_risk", "overdue")
CASE_STATUSES = ("running", "completed", "returned", "cancelled")
CASE_SLA = ("on_track", "at_risk", "breached")
HIDDEN_TASK = "Завдання {task_id} доступне лише його ролі, учасникам і керівництву"


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int
    #: Registration number and applicant of the items' cases, when read with them (:func:`list_tasks`).
    labels: dict[int, tuple[str, str | None]] | None = None


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        message = f"Допустимі значення: {', '.join(allowed)}"
        raise InvalidInput(f"Неправильний фільтр {name}", [FieldError(name, message)])


def _check_page(page: int, per_page: int) -> None:
    if page < 1 or not 1 <= per_page <= 500:
        raise InvalidInput("Неправильна сторінка", [FieldError("page", "page ≥ 1, 1 ≤ per_page ≤ 500")])


def count(uow: UnitOfWork, query: Select[Any]) -> int:
    """How many rows ``query`` finds, in all."""
    return uow.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def paginate(uow: UnitOfWork, query: Select[Any], page: int, per_page: int, total: int | None = None) -> Page[Any]:
    """One page of ``query``; ``total``: how many rows it has, when the caller knows without counting them."""
    _check_page(page, per_page)
    total = count(uow, query) if total is None else total
    if (page - 1) * per_page >= total:  # nothing there: no walk of the index looking for it
        return Page([], total, page, per_page)
    items = list(uow.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total, page, per_page)


def page_ids(uow: UnitOfWork, conditions: tuple[Any, ...] | list[Any], order: tuple[Any, ...], skip: int,
             limit: int | None) -> list[int]:
    """Ids of one page of the rows meeting any of ``conditions``, in ``order`` (its last column
    the id; missing values last), each row once.

    Each condition is asked for its first skip + limit rows in an ORDER BY … LIMIT of its own,
    which the database answers by walking one index and stopping; the same rows under one OR (or
    a UNION ALL under one ORDER BY) were planned as "read every matching row, then sort".
    """
    rows: dict[int, Any] = {}
    for condition in conditions:
        query = select(*order).where(condition).order_by(*(column.asc().nulls_last() for column in order))
        for row in uow.session.execute(query if limit is None else query.limit(skip + limit)):
            rows[row[-1]] = row
    ordered = sorted(rows.values(), key=lambda row: tuple((value is None, value if value is not None else 0) for value in row))
    chosen = ordered[skip:] if limit is None else ordered[skip:skip + limit]
    return [row[-1] for row in chosen]


def _involves(actor: Actor) -> Any:
    """SQL: a task row the actor's roles complete or take part in."""
    roles = sorted(actor.roles)
    return or_(and_(Task.role.in_(roles), _for_provider(actor)), *[Task.participant_roles.like(f"%,{r},%") for r in roles])


def _for_provider(actor: Actor) -> Any:
    """SQL of :func:`engine.access.serves_provider`: a step bound to a provider is its users' only."""
    if actor.provider_id is None:
        return Task.provider_id.is_(None)
    return or_(Task.provider_id.is_(None), Task.provider_id == actor.provider_id)


#: Roles some step of the given deployed versions has as participants (У), by the versions' ids.
_PARTICIPATING: dict[tuple[int, ...], frozenset[str]] = {}


def participating_roles(uow: UnitOfWork) -> frozenset[str]:
    """Roles that take part (У) in a step of any deployed version (versions never change once deployed).

    The deployed versions are looked up once per unit of work (a request): a query is a round trip.
    """
    if _PARTICIPATING_KEY in uow.session.info:
        return uow.session.info[_PARTICIPATING_KEY]
    ids = tuple(uow.session.scalars(select(Definition.id).order_by(Definition.id)))
    if ids not in _PARTICIPATING:
        roles = {p["role"] for steps in uow.session.scalars(select(Definition.steps)) for s in steps or []
                 for p in s.get("participants") or []}
        _PARTICIPATING.clear()
        _PARTICIPATING[ids] = frozenset(roles)
    uow.session.info[_PARTICIPATING_KEY] = _PARTICIPATING[ids]
    return _PARTICIPATING[ids]


_PARTICIPATING_KEY = (sla_counts.CACHED, "participating_roles")  # forgotten when the unit of work writes


#: A step with participants (У): its ``participant_roles`` is more than ",," (ix_tasks_participating).
WITH_PARTICIPANTS = func.length(Task.participant_roles) > literal_column("2")


def _acts_or_takes_part(uow: UnitOfWork, actor: Actor, taking_part: frozenset[str] | None = None) -> tuple[Any, ...]:
    """SQL, as separate conditions a page is read by (:func:`page_ids`): the tasks of each of
    the actor's roles (a walk along ix_tasks_state_role_due), and the steps with participants
    they take part in (a walk along ix_tasks_participating), looked for only for the roles
    ``taking_part`` (by default: those some deployed step has as participants)."""
    taking_part = sorted(actor.roles & (participating_roles(uow) if taking_part is None else taking_part))
    ways = [Task.role == role for role in sorted(actor.roles)]
    if taking_part:
        ways.append(and_(WITH_PARTICIPANTS, or_(*[Task.participant_roles.like(f"%,{r},%") for r in taking_part])))
    return tuple(ways)


def task_sla_clause(status: str, now: datetime) -> Any:
    if status == "overdue":
        return and_(Task.state == "ready", Task.due_at < now)
    if status == "at_risk":
        return and_(Task.state == "ready", Task.at_risk_at <= now, Task.due_at >= now)
    return and_(Task.state == "ready", or_(Task.due_at.is_(None), Task.at_risk_at > now))


def list_tasks(
    uow: UnitOfWork, actor: Actor, now: datetime, *, state: str = "ready", role: str | None = None,
    instance_id: int | None = None, process_key: str | None = None, sla_status: str | None = None,
    mine: bool = False, everything: bool = False, q: str | None = None, page: int = 1, per_page: int = 50,
    element_id: str | None = None, labelled: bool = False,
) -> Page[Task]:
    """Tasks by filter. Without ``role``/``everything``, the ones the actor may act on or takes part in.

    ``element_id``: the steps of one diagram element (to act on them together, a batch).
    ``labelled``: the page's ``labels`` (number and applicant of each step's case) read with it.
    """
    _choice("state", state, TASK_STATES)
    _choice("sla_status", sla_status, TASK_SLA)
    query = select(Task)
    ways: tuple[Any, ...] = ()  # the actor's own list: one condition per way a step is theirs
    if state != "all":
        query = query.where(Task.state == state)
    if role is not None:
        query = query.where(Task.role == role)
    plain = state == "ready" and role is None and not everything and not mine and instance_id is None \
        and process_key is None and element_id is None and sla_status is None and not (q and search.normalise(q))
    total: int | None = None
    if plain:  # a person's own open list: its size, and the roles it takes part with, from the tallies
        total, taking_part = sla_counts.work_list_size(uow.session, actor)
    if role is not None or everything:
        query = query if actor.oversees else query.where(_involves(actor))
    else:
        ways = _acts_or_takes_part(uow, actor, taking_part if plain else None)
        query = query.where(_for_provider(actor))
        if len(ways) == 1:  # one role, taking part in nothing: its page is one walk, read with its labels
            query, ways = query.where(ways[0]), ()
    if mine:
        query = query.where(Task.assignee == actor.login)
    if instance_id is not None:
        query = query.where(Task.instance_id == instance_id)
    if process_key is not None:
        query = query.where(Task.process_key == process_key)
    if element_id is not None:
        query = query.where(Task.element_id == element_id)
    if sla_status is not None:
        query = query.where(task_sla_clause(sla_status, now))
    if q is not None and search.normalise(q):  # the steps of the cases the query names (engine.search)
        query = query.where(Task.instance_id.in_(select(Instance.id).where(search.clause(q))))
    _check_page(page, per_page)
    if ways:
        total = count(uow, query.where(or_(*ways))) if total is None else total
    else:
        total = count(uow, query) if total is None else total
    if (page - 1) * per_page >= total:  # nothing there: no walk of the index looking for it
        return Page([], total, page, per_page, labels={} if labelled else None)
    # Due first, undated last; NULLS LAST rather than "due_at IS NULL" so that a role's page is a
    # walk along ix_tasks_state_role_due instead of a sort of every ready task the role has.
    order = (Task.due_at, Task.id)
    if ways:
        where = query.whereclause
        ids = page_ids(uow, [and_(where, way) if where is not None else way for way in ways], order,
                       (page - 1) * per_page, per_page)
        query = select(Task).where(Task.id.in_(ids))
    else:
        query = query.order_by(Task.due_at.asc().nulls_last(), Task.id).limit(per_page).offset((page - 1) * per_page)
    if labelled:  # the page's steps with their cases' number and applicant in one statement
        rows = uow.session.execute(query.add_columns(Instance.number, Instance.applicant_name)
                                   .join(Instance, Instance.id == Task.instance_id)).all()
        tasks, labels = [row[0] for row in rows], {row[0].instance_id: (row[1], row[2]) for row in rows}
    else:
        tasks, labels = list(uow.session.scalars(query)), None
    if ways:
        position = {task_id: i for i, task_id in enumerate(ids)}
        tasks.sort(key=lambda task: position[task.id])
    return Page(tasks, total, page, per_page, labels=labels)


def get_task(uow: UnitOfWork, actor: Actor, task_id: int) -> Task:
    """:raise NotFound: no such task. :raise Forbidden: not its role, a participant or an overseer (SPEC §6)."""
    task = uow.session.get(Task, task_id)
    if task is None:
        raise NotFound(f"Завдання {task_id} не знайдено")
    if not may_view_task(actor, task.role, task.participants, task.provider_id):
        raise Forbidden(HIDDEN_TASK.format(task_id=task_id))
    return task


def involved_roles(uow: UnitOfWork, instance_id: int) -> set[str]:
    roles: set[str] = set()
    for role, participants in uow.session.execute(select(Task.role, Task.participants).where(Task.instance_id == instance_id)):
        roles.add(role)
        roles.update(p["role"] for p in participants)
    return roles


def get_instance(uow: UnitOfWork, actor: Actor, instance_id: int) -> Instance:
    """The case by id, whoever asks; callers showing personal data check :func:`can_see`.

    :raise NotFound: no such case.
    """
    instance = uow.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"Справу {instance_id} не знайдено")
    return instance


def can_see(uow: UnitOfWork, actor: Actor, instance: Instance, known_involved: frozenset[str] = frozenset()) -> bool:
    """Whether the actor may see the case; ``known_involved``: roles the caller knows take part
    (the role of a step just completed), enough to decide without reading the others."""
    if may_view_case(actor, set(known_involved), instance.created_by):
        return True
    return may_view_case(actor, involved_roles(uow, instance.id), instance.created_by)


def list_instances(
    uow: UnitOfWork, actor: Actor, now: datetime, *, process_key: str | None = None, status: str | None = None,
    sla: str | None = None, q: str | None = None, page: int = 1, per_page: int = 50,
) -> Page[Instance]:
    """Cases the actor may see, by filter; ``sla`` judges the legal date, then the target;
    ``q`` finds cases by number, applicant's name or РНОКПП (:mod:`engine.search`)."""
    _choice("status", status, CASE_STATUSES)
    _choice("sla", sla, CASE_SLA)
    query = select(Instance)
    if not actor.oversees:
        visible = exists().where(Task.instance_id == Instance.id, _involves(actor))
        query = query.where(or_(visible, Instance.created_by == actor.login))
    if process_key is not None:
        query = query.where(Instance.process_key == process_key)
    if status is not None:
        query = query.where(Instance.status == status)
    if sla is not None:
        query = query.where(case_sla_clause(sla, now))
    searching = q is not None and bool(search.normalise(q))
    if searching:
        query = query.where(search.clause(q))
    # An overseer's cases by SLA status: counted by the tallies, not by reading every running case.
    total = (sla_counts.cases_with_sla(sla_counts.snapshot(uow.session, now), sla, process_key)
             if sla is not None and actor.oversees and not searching and status in (None, "running") else None)
    return paginate(uow, query.order_by(Instance.id.desc()), page, per_page, total)


def case_sla_clause(status: str, now: datetime) -> Any:
    """SQL for a running case's SLA status (NULL dates never match, so no NULL leaks)."""
    running = Instance.status == "running"
    breached = or_(_before(Instance.target_due, now), _before(Instance.legal_due, now))
    late_forecast = or_(_after(Instance.forecast_at, Instance.target_due), _after(Instance.forecast_at, Instance.legal_due))
    if status == "breached":
        return and_(running, breached)
    if status == "at_risk":
        return and_(running, ~breached, late_forecast)
    return and_(running, ~breached, ~late_forecast)


def _before(column: Any, moment: Any) -> Any:
    return and_(column.is_not(None), column < moment)


def _after(column: Any, other: Any) -> Any:
    return and_(column.is_not(None), other.is_not(None), column > other)


def must_find(value: T | None, message: str) -> T:
    if value is None:
        raise NotFound(message)
    return value


def completed_steps(uow: UnitOfWork, instance_id: int) -> list[Task]:
    """The case's completed steps in the order they were done (the case's story)."""
    query = select(Task).where(Task.instance_id == instance_id, Task.state == "completed")
    return sorted(uow.session.scalars(query), key=lambda t: (t.completed_at, t.id))


def open_tasks(uow: UnitOfWork, instance_id: int) -> list[Task]:
    query = select(Task).where(Task.instance_id == instance_id, Task.state == "ready").order_by(Task.id)
    return list(uow.session.scalars(query))


def completed_tasks(uow: UnitOfWork, instance_id: int) -> list[Task]:
    """A case's completed steps in the order they were done, each with its own data."""
    query = select(Task).where(Task.instance_id == instance_id, Task.state == "completed").order_by(Task.completed_at, Task.id)
    return list(uow.session.scalars(query))


def open_tasks_of(uow: UnitOfWork, instance_ids: list[int]) -> dict[int, list[Task]]:
    """The open steps of the given cases, in one query (a page of the overdue list shows where each case waits)."""
    found: dict[int, list[Task]] = {i: [] for i in instance_ids}
    if instance_ids:
        query = select(Task).where(Task.instance_id.in_(instance_ids), Task.state == "ready").order_by(Task.id)
        for task in uow.session.scalars(query):
            found[task.instance_id].append(task)
    return found


def waiting_timers(uow: UnitOfWork, instance_id: int) -> list[Timer]:
    # Sorted here, not with ORDER BY fires_at: SQLite would walk ix_timers_state_fires (every
    # waiting timer of every case) to avoid sorting a case's two or three.
    query = select(Timer).where(Timer.instance_id == instance_id, Timer.state == "waiting")
    return sorted(uow.session.scalars(query), key=lambda t: (t.fires_at, t.id))


def definition_of(uow: UnitOfWork, instance: Instance) -> Definition:
    """The deployed version a case runs on, read once per unit of work.

    Versions never change once deployed; the unit of work keeps the row it read, so the
    use case and the answer built after it do not each read (and parse) it again.
    """
    found = uow.session.info.get("definitions", {}).get(instance.definition_id)
    if found is None or found not in uow.session:  # not read since the session was last closed
        found = must_find(uow.session.get(Definition, instance.definition_id), "Версію процесу не знайдено")
        hold_definition(uow, found)
    return found


def hold_definition(uow: UnitOfWork, definition: Definition) -> None:
    """Keep a version read along with other rows for :func:`definition_of` (the session's
    identity map holds rows weakly: one nobody refers to is forgotten and read again)."""
    uow.session.info.setdefault("definitions", {})[definition.id] = definition


def numbers_of(uow: UnitOfWork, instance_ids: set[int]) -> dict[int, str]:
    """Registration numbers of the given cases, in one query."""
    return {key: number for key, (number, _) in labels_of(uow, instance_ids).items()}


def labels_of(uow: UnitOfWork, instance_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """Registration number and applicant (surname and initials) of the given cases, in one query."""
    if not instance_ids:
        return {}
    query = select(Instance.id, Instance.number, Instance.applicant_name).where(Instance.id.in_(sorted(instance_ids)))
    return {row.id: (row.number, row.applicant_name) for row in uow.session.execute(query)}


def all_due_timers(uow: UnitOfWork, moment: datetime) -> list[Timer]:
    query = select(Timer).where(Timer.state == "waiting", Timer.fires_at <= moment).order_by(Timer.fires_at)
    return list(uow.session.scalars(query))
