"""Breaches and the notifications they cause: once per breach, to the managers and the
responsible role; e-mailed when SMTP is configured.

A breach is claimed by flipping its ``*_recorded`` flag with a conditional UPDATE, so two
workers never notify the same breach twice. Notifications are rows first (committed with
the claim) and e-mails second, through an outbox (:func:`send_pending_emails`): each
e-mail is claimed, sent and marked on its own, so a worker killed mid-pass re-sends at
most the one message it was sending.
"""

import email.errors
import email.policy
import smtplib
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import load_only

from marshrut.engine.clock import Clock, SystemClock
from marshrut.engine.config import Settings
from marshrut.engine.context import Context
from marshrut.engine.models import Instance, Notification, Task, User
from marshrut.engine.store import Database, UnitOfWork

BREACH_SUBJECTS = {
    "task_overdue": "Прострочено крок «{step}» у справі {number}",
    "case_target": "Справа {number}: минув нормативний строк (технологічна картка)",
    "case_legal": "Справа {number}: минув граничний строк, встановлений законом",
}


def record_breaches(uow: UnitOfWork, ctx: Context, batch: int = 1000) -> int:
    """Find new breaches, claim each once, create its notifications; returns how many.

    A batch is claimed by one UPDATE and its cases read in one query (without their saved
    workflow): the night a department's steps fall due, a million open cases can have a quarter
    of a million new breaches, and a round trip or two per breach kept the worker from the
    day's forecasts for hours.
    """
    now = ctx.now()
    people = list(uow.session.scalars(select(User)))
    # The unnoticed late steps and cases are walked through partial indexes of the unnoticed
    # ones by due date (migration 0013): the range before now is the batch, the oldest first.
    unnoticed = (select(Task.id).where(Task.state == "ready", Task.breach_recorded.is_(False), Task.due_at < now)
                 .order_by(Task.due_at, Task.id).limit(batch))
    claimed = _claim(uow, Task, list(uow.session.scalars(unnoticed)), Task.breach_recorded)
    tasks = list(uow.session.scalars(select(Task).where(Task.id.in_(claimed)).order_by(Task.id))) if claimed else []
    cases = _cases(uow, {task.instance_id for task in tasks})
    for task in tasks:
        _notify(uow, people, "task_overdue", cases[task.instance_id], task, {task.role}, now)
    count = len(tasks)
    for kind, due, flag in (("case_target", Instance.target_due, Instance.target_breach_recorded),
                            ("case_legal", Instance.legal_due, Instance.legal_breach_recorded)):
        late = select(Instance.id).where(
            Instance.status == "running", Instance.sla_met_at.is_(None), flag.is_(False), due < now
        ).order_by(due, Instance.id).limit(batch)
        claimed = _claim(uow, Instance, list(uow.session.scalars(late)), flag)
        if not claimed:
            continue
        open_roles: dict[int, set[str]] = {instance_id: set() for instance_id in claimed}
        for instance_id, role in uow.session.execute(select(Task.instance_id, Task.role).where(
                Task.instance_id.in_(claimed), Task.state == "ready")):
            open_roles[instance_id].add(role)
        cases = _cases(uow, set(claimed))
        for instance_id in claimed:
            _notify(uow, people, kind, cases[instance_id], None, open_roles[instance_id], now)
        count += len(claimed)
    return count


def _claim(uow: UnitOfWork, model: type, row_ids: list[int], flag: object) -> list[int]:
    """Set the breach flag of those rows where nobody has; returns the ids this worker won, in
    order (a conditional UPDATE: a second worker's finds the flag set and claims nothing)."""
    if not row_ids:
        return []
    won = uow.session.scalars(
        update(model).where(model.id.in_(row_ids), flag.is_(False)).values({flag.key: True})  # type: ignore[attr-defined]
        .returning(model.id).execution_options(synchronize_session=False)  # type: ignore[attr-defined]
    )
    return sorted(won)


def _cases(uow: UnitOfWork, instance_ids: set[int]) -> dict[int, Instance]:
    """The cases a notification names, without their saved workflow and data."""
    if not instance_ids:
        return {}
    found = uow.session.scalars(select(Instance).where(Instance.id.in_(instance_ids)).options(
        load_only(Instance.id, Instance.number, Instance.process_key, Instance.target_due, Instance.legal_due)))
    return {instance.id: instance for instance in found}


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


#: A notification's e-mail in the outbox.
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
#: Claims of one e-mail at most: the first, and one more after a worker died while sending it.
MAX_CLAIMS = 2


def send_pending_emails(db: Database, settings: Settings, ctx: Context, batch: int = 200,
                        clock: Clock | None = None) -> int:
    """Send the outbox: each notification's e-mail claimed, sent and marked in its own transactions.

    A claim (a conditional UPDATE to ``sending``) is committed before the message goes out and
    the ``sent`` mark right after, so a worker killed in between leaves one message ``sending``:
    it is sent once more after ``settings.email_sending_timeout`` (by ``clock``, the machine's
    by default), and marked ``failed`` if that also never finishes. A message the server refuses
    for good (a refused recipient, a 5xx answer) or that cannot be built is marked ``failed``
    with the reason; when the server cannot be reached the message goes back to ``pending``
    and the rest wait for the next pass.

    :return: how many were sent.
    """
    if not settings.smtp_host:
        return 0
    wall = (clock or SystemClock()).now()
    cutoff = wall - timedelta(seconds=settings.email_sending_timeout)
    with db.unit_of_work() as uow:
        _give_up_stuck(uow, cutoff)
        uow.commit()
    with db.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(Notification.id).where(_sendable(cutoff)).order_by(Notification.id).limit(batch)))
    sent, smtp = 0, None
    try:
        for notification_id in ids:
            notification = _claim_email(db, notification_id, wall, cutoff)
            if notification is None:
                continue  # another worker took it
            try:
                message = _message(settings, notification)
                if smtp is None:
                    smtp = _smtp(settings)
                smtp.send_message(message)
            except (ValueError, TypeError, IndexError, email.errors.MessageError) as err:  # cannot be sent as is
                _finish(db, notification_id, FAILED, error=f"Лист не сформовано: {err}")
            except smtplib.SMTPRecipientsRefused as err:
                _finish(db, notification_id, FAILED, error=f"Адресу відхилено: {_refusals(err)}")
            except smtplib.SMTPResponseException as err:
                if err.smtp_code < 500:
                    _release(db, notification_id)
                    break
                _finish(db, notification_id, FAILED, error=f"Сервер відхилив лист: {err.smtp_code} {_text(err.smtp_error)}")
            except (smtplib.SMTPException, OSError):  # the server is unreachable: this and the rest wait
                _release(db, notification_id)
                smtp = None
                break
            else:
                _finish(db, notification_id, SENT, emailed_at=ctx.now())
                sent += 1
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
    return sent


def _sendable(cutoff: datetime) -> Any:
    """SQL: an e-mail waiting to be sent, or claimed before ``cutoff`` by a worker that never finished (once)."""
    stale = and_(Notification.email_state == SENDING, Notification.email_claimed_at < cutoff,
                 Notification.email_attempts < MAX_CLAIMS)
    return and_(Notification.email.is_not(None), or_(Notification.email_state == PENDING, stale))


def _give_up_stuck(uow: UnitOfWork, cutoff: datetime) -> None:
    uow.session.execute(
        update(Notification).where(Notification.email_state == SENDING, Notification.email_claimed_at < cutoff,
                                   Notification.email_attempts >= MAX_CLAIMS)
        .values(email_state=FAILED, email_error="Надсилання двічі не завершилося (обробник зупинився)")
        .execution_options(synchronize_session=False)
    )


def _claim_email(db: Database, notification_id: int, wall: datetime, cutoff: datetime) -> Notification | None:
    """Mark the e-mail ``sending`` if it is still sendable (committed); the row, or ``None`` if another worker won."""
    with db.unit_of_work() as uow:
        claimed = uow.session.execute(
            update(Notification).where(Notification.id == notification_id, _sendable(cutoff))
            .values(email_state=SENDING, email_claimed_at=wall, email_attempts=Notification.email_attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if not claimed:
            return None
        uow.commit()
        return uow.session.get(Notification, notification_id)


def _finish(db: Database, notification_id: int, state: str, emailed_at: datetime | None = None,
            error: str | None = None) -> None:
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(Notification).where(Notification.id == notification_id, Notification.email_state == SENDING)
            .values(email_state=state, emailed_at=emailed_at, email_error=error[:2000] if error else None)
            .execution_options(synchronize_session=False)
        )
        uow.commit()


def _release(db: Database, notification_id: int) -> None:
    """Put a claimed e-mail back (it was not sent): the claim does not count."""
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(Notification).where(Notification.id == notification_id, Notification.email_state == SENDING)
            .values(email_state=PENDING, email_attempts=Notification.email_attempts - 1)
            .execution_options(synchronize_session=False)
        )
        uow.commit()


def _refusals(error: smtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(f"{rcpt}: {code} {_text(reason)}" for rcpt, (code, reason) in error.recipients.items())


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _smtp(settings: Settings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.smtp_host or "localhost", settings.smtp_port, timeout=30)
    if settings.smtp_starttls:
        smtp.starttls()
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password or "")
    return smtp


def one_line(text: str) -> str:
    """Header text on one line: every run of whitespace, line breaks included, becomes one space."""
    return " ".join(text.split())


def _message(settings: Settings, notification: Notification) -> EmailMessage:
    """The e-mail, headers built by the standard library's SMTP policy from one-line values.

    :raise ValueError: the recipient is not one valid address.
    """
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = settings.smtp_sender
    message["To"] = Address(addr_spec=one_line(notification.email or ""))
    message["Subject"] = one_line(notification.subject)
    # The same id if it is ever sent twice (a worker killed after sending): mail clients show it once.
    domain = settings.smtp_sender.rpartition("@")[2] or "marshrut"
    message["Message-ID"] = f"<notification-{notification.id}@{one_line(domain)}>"
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
    from marshrut.engine.errors import NotFound

    item = uow.session.get(Notification, notification_id)
    if item is None or item.recipient != login:
        raise NotFound(f"Сповіщення {notification_id} не знайдено")
    if item.read_at is None:
        item.read_at = now
    return item
