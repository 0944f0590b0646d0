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
