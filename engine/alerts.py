"""Breaches and the notifications they cause: once per breach, to the managers and the
responsible role; e-mailed when SMTP is configured.

A breach is claimed by flipping its ``*_recorded`` flag with a conditional UPDATE, so two
workers never notify the same breach twice. Notifications are rows first (committed with
the claim) and e-mails second, so a worker killed in between sends them on its next pass.
"""

import smtplib
from collections.abc import Iterable
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select, update

from engine.config import Settings
from engine.context import Context
from engine.models import Instance, Notification, Task, User
from engine.store import Database, UnitOfWork

BREACH_SUBJECTS = {
    "task_overdue": "Прострочено крок «{step}» у справі {number}",
    "case_target": "Справа {number}: минув нормативний строк (технологічна картка)",
    "case_legal": "Справа {number}: минув граничний строк, встановлений законом",
}


def record_breaches(uow: UnitOfWork, ctx: Context, batch: int = 1000) -> int:
    """Find new breaches, claim each once, create its notifications; returns how many."""
    now, count = ctx.now(), 0
    people = list(uow.session.scalars(select(User)))
    # Ids first, without a LIMIT: with one, the planner expects many late steps among the ready
    # ones and scans the whole table for them (most passes find none).
    unnoticed = select(Task.id).where(Task.state == "ready", Task.due_at < now, Task.breach_recorded.is_(False))
    overdue_ids = sorted(uow.session.scalars(unnoticed))[:batch]
    overdue = select(Task).where(Task.id.in_(overdue_ids)).order_by(Task.id)
    for task in list(uow.session.scalars(overdue)) if overdue_ids else []:
        if _claim(uow, Task, task.id, Task.breach_recorded):
            instance = uow.session.get(Instance, task.instance_id)
            assert instance is not None
            _notify(uow, people, "task_overdue", instance, task, {task.role}, now)
            count += 1
    for kind, due, flag in (("case_target", Instance.target_due, Instance.target_breach_recorded),
                            ("case_legal", Instance.legal_due, Instance.legal_breach_recorded)):
        late = select(Instance).where(
            Instance.status == "running", Instance.sla_met_at.is_(None), due.is_not(None), due < now, flag.is_(False)
        ).limit(batch)
        for instance in list(uow.session.scalars(late)):
            if _claim(uow, Instance, instance.id, flag):
                open_roles = {t.role for t in uow.session.scalars(select(Task).where(
                    Task.instance_id == instance.id, Task.state == "ready"))}
                _notify(uow, people, kind, instance, None, open_roles, now)
                count += 1
    return count


def _claim(uow: UnitOfWork, model: type, row_id: int, flag: object) -> bool:
    """Set the breach flag if nobody has; the row count says whether this worker won."""
    result = uow.session.execute(
        update(model).where(model.id == row_id, flag.is_(False)).values({flag.key: True})  # type: ignore[attr-defined]
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _notify(uow: UnitOfWork, people: Iterable[User], kind: str, instance: Instance, task: Task | None,
            roles: set[str], now: datetime) -> None:
    step = task.name if task else ""
    subject = BREACH_SUBJECTS[kind].format(step=step, number=instance.number)
    due = task.due_at if task else (instance.target_due if kind == "case_target" else instance.legal_due)
    body = f"{subject}.\nСтрок: {due.isoformat() if due else '—'}.\nСправа: {instance.number} ({instance.process_key})."
    for person in people:
        if "manager" in person.roles or roles & set(person.roles):
            uow.session.add(Notification(
                breach=kind, instance_id=instance.id, task_id=task.id if task else 0, recipient=person.login,
                email=person.email, subject=subject, body=body, created_at=now,
            ))


def send_pending_emails(db: Database, settings: Settings, ctx: Context, batch: int = 200) -> int:
    """E-mail notifications not yet sent (each claimed under a row lock on PostgreSQL)."""
    if not settings.smtp_host:
        return 0
    sent = 0
    with db.unit_of_work() as uow:
        query = select(Notification).where(Notification.email.is_not(None), Notification.emailed_at.is_(None)).limit(batch)
        if uow.is_postgres:
            query = query.with_for_update(skip_locked=True)
        pending = list(uow.session.scalars(query))
        if not pending:
            return 0
        with _smtp(settings) as smtp:
            for notification in pending:
                smtp.send_message(_message(settings, notification))
                notification.emailed_at = ctx.now()
                sent += 1
        uow.commit()
    return sent


def _smtp(settings: Settings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.smtp_host or "localhost", settings.smtp_port, timeout=30)
    if settings.smtp_starttls:
        smtp.starttls()
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password or "")
    return smtp


def _message(settings: Settings, notification: Notification) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = notification.email
    message["Subject"] = notification.subject
    message.set_content(notification.body)
    return message


def notifications_of(uow: UnitOfWork, login: str, unread_only: bool = False) -> list[Notification]:
    """A user's notifications, newest first."""
    query = select(Notification).where(Notification.recipient == login)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(uow.session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc())))


def mark_read(uow: UnitOfWork, login: str, notification_id: int, now: datetime) -> Notification:
    """:raise NotFound: no such notification for this user."""
    from engine.errors import NotFound

    item = uow.session.get(Notification, notification_id)
    if item is None or item.recipient != login:
        raise NotFound(f"Сповіщення {notification_id} не знайдено")
    if item.read_at is None:
        item.read_at = now
    return item
