"""Incidents: a case's automatic work that failed at one element.

A script, a gateway's condition, a decision table, a timer's continuation or a sandbox
limit that fails does not undo what a person did: the case is saved at the last good point
(the failing task left in Spiff's ERROR state), an incident names the element and the
error, and the admins are notified. A timer that cannot fire at all is tried a few times by
the worker, then held by an incident. Retrying runs the element again, usually after the
case was migrated to a fixed version (:mod:`engine.migration`); success resolves the
incident and the case goes on.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from marshrut.engine import audit, case_sync, definitions, queries, runtime
from marshrut.engine.access import Actor
from marshrut.engine.business_calendar import BusinessCalendar
from marshrut.engine.context import Context
from marshrut.engine.errors import Conflict, Forbidden, NotFound
from marshrut.engine.models import Incident, Instance, Notification, Timer, User
from marshrut.engine.store import UnitOfWork

#: Who may retry incidents (and migrate cases); who may list them.
RETRY_ROLES = ("admin", "analyst")
VIEW_ROLES = ("admin", "analyst", "manager")
#: Notifications about incidents go to these roles.
NOTIFIED_ROLES = frozenset({"admin"})
BREACH = "incident"  # the notifications' kind (their ``breach`` column)


def open_incident(uow: UnitOfWork, instance: Instance, element_id: str, message: str, now: datetime,
                  spiff_id: str | None = None, timer_id: int | None = None, actor: str | None = None) -> Incident:
    """Record a failure of ``element_id`` in the case, audit it and notify the admins."""
    incident = Incident(instance_id=instance.id, element_id=element_id, spiff_id=spiff_id, timer_id=timer_id,
                        message=message, created_at=now, attempts=1, last_attempt_at=now)
    uow.session.add(incident)
    uow.flush()
    audit.record(uow, "incident_opened", actor, now, instance.id,
                 data={"incident_id": incident.id, "element_id": element_id, "message": message})
    _notify_admins(uow, instance, incident, now)
    return incident


def record_failure(uow: UnitOfWork, instance: Instance, failure: runtime.Failure | None, now: datetime,
                   actor: str | None = None) -> Incident | None:
    """An incident for the automatic work that failed in a use case, if it did."""
    if failure is None:
        return None
    return open_incident(uow, instance, failure.element_id, failure.message, now, spiff_id=failure.spiff_id, actor=actor)


def _notify_admins(uow: UnitOfWork, instance: Instance, incident: Incident, now: datetime) -> None:
    subject = f"Інцидент у справі {instance.number}: помилка на елементі «{incident.element_id}»"
    body = (f"{subject}.\nСправа: {instance.number} ({instance.process_key}).\nПомилка: {incident.message}\n"
            "Виправте діаграму, перенесіть справу на виправлену версію і повторіть елемент (сторінка «Інциденти»).")
    for person in uow.session.scalars(select(User).order_by(User.id)):
        if NOTIFIED_ROLES & set(person.roles):
            uow.session.add(Notification(
                breach=BREACH, instance_id=instance.id, task_id=incident.id, recipient=person.login,
                email=person.email, subject=subject[:300], body=body, created_at=now,
            ))


def open_of(uow: UnitOfWork, instance_id: int) -> list[Incident]:
    """A case's open incidents, oldest first."""
    query = select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
    return list(uow.session.scalars(query.order_by(Incident.id)))


def list_open(uow: UnitOfWork, actor: Actor, page: int = 1, per_page: int = 50) -> queries.Page[Incident]:
    """Every open incident, oldest first.

    :raise Forbidden: the actor is not an admin, analyst or manager.
    """
    if not actor.has(*VIEW_ROLES):
        raise Forbidden("Інциденти бачать адміністратор, аналітик і керівництво")
    query = select(Incident).where(Incident.resolved_at.is_(None)).order_by(Incident.created_at, Incident.id)
    return queries.paginate(uow, query, page, per_page)


def get(uow: UnitOfWork, actor: Actor, incident_id: int) -> Incident:
    """:raise Forbidden: as :func:`list_open`. :raise NotFound: no such incident."""
    if not actor.has(*VIEW_ROLES):
        raise Forbidden("Інциденти бачать адміністратор, аналітик і керівництво")
    incident = uow.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"Інцидент {incident_id} не знайдено")
    return incident


def view(incident: Incident, number: str | None, calendar: BusinessCalendar) -> dict[str, Any]:
    """The incident as the API and the pages show it."""
    iso = lambda moment: moment.astimezone(calendar.tz).isoformat() if moment else None  # noqa: E731
    return {
        "id": incident.id, "instance_id": incident.instance_id, "number": number, "element_id": incident.element_id,
        "message": incident.message, "created_at": iso(incident.created_at), "attempts": incident.attempts,
        "last_attempt_at": iso(incident.last_attempt_at), "resolved_at": iso(incident.resolved_at),
    }


def views_of(uow: UnitOfWork, items: list[Incident], calendar: BusinessCalendar) -> list[dict[str, Any]]:
    numbers = queries.numbers_of(uow, {i.instance_id for i in items})
    return [view(i, numbers.get(i.instance_id), calendar) for i in items]


def retry(uow: UnitOfWork, actor: Actor, ctx: Context, incident_id: int) -> Incident:
    """Run the failed element again on the case's current version, and on from there.

    Success resolves the incident (a later element that fails opens its own); a failure of
    the same element again counts one more attempt with the new error, and the incident
    stays open. Either way the answer is the incident as it now stands.

    :raise Forbidden: the actor is not an admin or analyst. :raise NotFound: no such incident.
    :raise Conflict: the incident was already resolved, or its case no longer runs.
    """
    if not actor.has(*RETRY_ROLES):
        raise Forbidden("Повторити елемент може адміністратор або аналітик")
    found = uow.session.get(Incident, incident_id)
    if found is None:
        raise NotFound(f"Інцидент {incident_id} не знайдено")
    instance = locked_instance(uow, found.instance_id)
    incident = uow.session.scalars(
        select(Incident).where(Incident.id == incident_id).execution_options(populate_existing=True)).one()
    if incident.resolved_at is not None:
        raise Conflict("Інцидент уже розв'язано")
    if instance.status != case_sync.RUNNING:
        raise Conflict(f"Справа вже має статус {instance.status}")
    compiled = definitions.compiled(queries.definition_of(uow, instance))
    before = case_sync.read(uow, instance)
    workflow = runtime.load(instance.state, compiled, ctx)
    now = ctx.now()
    if incident.spiff_id is not None:
        failure = runtime.retry(workflow, incident.spiff_id)
    else:
        try:
            failure = runtime.fire_timers(workflow)
        except Exception as err:  # noqa: BLE001 - the timer still cannot fire: the incident stays open
            _failed_again(uow, incident, instance, str(err) or type(err).__name__, now, actor.login)
            return incident
        for timer in uow.session.scalars(select(Timer).where(Timer.incident_id == incident.id)):
            timer.incident_id, timer.attempts, timer.next_attempt_at = None, 0, None
    case_sync.sync(uow, instance, workflow, compiled, ctx, actor.login, before)
    if failure is not None and failure.spiff_id == incident.spiff_id:
        _failed_again(uow, incident, instance, failure.message, now, actor.login)
        return incident
    incident.resolved_at, incident.resolved_by = now, actor.login
    audit.record(uow, "incident_resolved", actor.login, now, instance.id,
                 data={"incident_id": incident.id, "element_id": incident.element_id})
    record_failure(uow, instance, failure, now, actor.login)
    uow.flush()
    return incident


def _failed_again(uow: UnitOfWork, incident: Incident, instance: Instance, message: str, now: datetime,
                  actor: str) -> None:
    incident.attempts += 1
    incident.message, incident.last_attempt_at = message[: runtime.MESSAGE_LIMIT], now
    audit.record(uow, "incident_retry_failed", actor, now, instance.id,
                 data={"incident_id": incident.id, "element_id": incident.element_id, "message": incident.message})
    uow.flush()


def resolve_all(uow: UnitOfWork, instance_id: int, now: datetime, actor: str | None) -> None:
    """Close a case's open incidents (it was cancelled)."""
    for incident in open_of(uow, instance_id):
        incident.resolved_at, incident.resolved_by = now, actor


def timer_failed(uow: UnitOfWork, ctx: Context, instance_id: int, message: str) -> Incident | None:
    """The worker could not fire a case's due timers: count the attempt and wait (doubling the
    back-off each time); after ``settings.timer_attempts`` the timers are held by an incident.

    :return: the incident, when this failure opened one.
    """
    now, settings = ctx.now(), ctx.settings
    due = list(uow.session.scalars(select(Timer).where(
        Timer.instance_id == instance_id, Timer.state == "waiting", Timer.fires_at <= now, Timer.incident_id.is_(None),
    ).order_by(Timer.fires_at, Timer.id)))
    if not due:
        return None
    for timer in due:
        timer.attempts += 1
        timer.next_attempt_at = now + timedelta(seconds=settings.timer_backoff_seconds * 2 ** (timer.attempts - 1))
    if max(t.attempts for t in due) < settings.timer_attempts:
        return None
    instance = uow.session.get(Instance, instance_id)
    if instance is None:
        return None
    text = f"Таймер не спрацював після {due[0].attempts} спроб: {message}"[: runtime.MESSAGE_LIMIT]
    incident = open_incident(uow, instance, due[0].element_id, text, now, timer_id=due[0].id)
    for timer in due:
        timer.incident_id = incident.id
    return incident


def count_open(uow: UnitOfWork) -> int:
    return uow.session.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None))) or 0


def locked_instance(uow: UnitOfWork, instance_id: int) -> Instance:
    """The case, locked for the change on PostgreSQL (its ``lock_version`` guards it on SQLite)."""
    query = select(Instance).where(Instance.id == instance_id).execution_options(populate_existing=True)
    if uow.is_postgres:
        query = query.with_for_update()
    instance = uow.session.scalars(query).first()
    if instance is None:
        raise NotFound(f"Справу {instance_id} не знайдено")
    return instance
