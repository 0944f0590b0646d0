"""Breaches, notifications and e-mail: once per breach, to managers and the responsible role."""

import email
import email.policy
import socket
from dataclasses import replace
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from marshrut.engine import alerts, sla, users
from marshrut.engine.clock import FixedClock, SystemClock
from marshrut.engine.models import Notification
from marshrut.engine.operation import operation
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker
from tests.walks import APPLICATION



class Inbox:
    """An aiosmtpd handler that keeps what it receives (and refuses the addresses in ``refuse``)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []
        self.received: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook name
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(message)
        self.messages.append((list(envelope.rcpt_tos), f"{message['Subject']}\n{message.get_content()}"))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def walker(deployed, settings, actors) -> Walker:
    return Walker(deployed, settings, actors).at(kyiv("2026-02-02 10:00"))


def walk_to_committee(walker: Walker) -> int:
    """The case up to the endorsement, then the committee meeting of Wed 2026-02-18 held."""
    case = walker.address_aid_to_committee()
    walker.at(kyiv("2026-02-18 09:30")).tick()
    return case


def case_sla(walker: Walker, case: int, moment=None) -> dict:
    with operation(walker.db, walker.settings) as (uow, ctx):
        return sla.summary(uow, moment or ctx.now())["processes"][0]


def notifications(walker: Walker) -> list[Notification]:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        return list(uow.session.scalars(select(Notification).order_by(Notification.id)))


def test_a_new_case_is_at_risk_by_the_forecast_before_any_step_is_late(walker):
    walker.start("address_aid", APPLICATION)
    summary = case_sla(walker, 1)
    assert summary["target"] == {"on_track": 0, "at_risk": 1, "breached": 0}
    with operation(walker.db, walker.settings) as (uow, ctx):
        tasks, late = sla.overdue(uow, ctx.now())
    assert (tasks, late) == ([], [])


def test_a_case_late_on_its_target_date_is_not_yet_late_on_its_legal_date(walker):
    case = walk_to_committee(walker)
    walker.at(kyiv("2026-02-25 10:00")).tick()
    summary = case_sla(walker, case)
    assert summary["target"]["breached"] == 1
    assert summary["legal"] == {"on_track": 1, "at_risk": 0, "breached": 0}
    with operation(walker.db, walker.settings) as (uow, ctx):
        tasks, late = sla.overdue(uow, ctx.now())
        assert [t.element_id for t in tasks] == ["record_committee_decision"]
        assert [(i.id, which) for i, which in late] == [(case, ["target"])]
        # as of the 20th the decision step was not yet late and neither was the case
        assert sla.overdue(uow, kyiv("2026-02-19 12:00")) == ([], [])


def test_each_breach_notifies_managers_and_the_responsible_role_once(walker):
    case = walk_to_committee(walker)
    walker.at(kyiv("2026-02-25 10:00"))
    first = walker.tick()
    assert first.breaches == 2  # the overdue decision step and the case's target date
    assert walker.tick().breaches == 0
    sent = {(n.breach, n.recipient) for n in notifications(walker)}
    assert sent == {
        ("task_overdue", "manager"), ("task_overdue", "programs_head"),
        ("case_target", "manager"), ("case_target", "programs_head"),
    }
    with operation(walker.db, walker.settings) as (uow, ctx):
        mine = alerts.notifications_of(uow, "programs_head", unread_only=True)
        assert len(mine) == 2
        alerts.mark_read(uow, "programs_head", mine[0].id, ctx.now())
        uow.commit()
    with operation(walker.db, walker.settings) as (uow, _ctx):
        assert len(alerts.notifications_of(uow, "programs_head", unread_only=True)) == 1
    assert {n.instance_id for n in notifications(walker)} == {case}


def test_breaches_are_emailed_once_over_smtp(walker, smtp):
    inbox, port = smtp
    with operation(walker.db, walker.settings) as (uow, ctx):
        users.create_user(uow, "chief", ["manager"], ctx.now(), "Керівник", email="chief@zt-rada.test")
        uow.commit()
    walker.settings = replace(walker.settings, smtp_host="127.0.0.1", smtp_port=port)
    walk_to_committee(walker)
    walker.at(kyiv("2026-02-25 10:00"))
    result = walker.tick()
    assert result.emails == 2
    assert walker.tick().emails == 0
    assert sorted(rcpt for rcpts, _body in inbox.messages for rcpt in rcpts) == ["chief@zt-rada.test"] * 2
    assert any("АД-2026-000001" in body for _rcpts, body in inbox.messages)
    assert all(n.emailed_at is not None for n in notifications(walker) if n.email)


def outbox(walker: Walker, port: int, *mails: tuple[str, str]) -> list[int]:
    """Notifications of one case to the given (address, subject) pairs, e-mail pending; SMTP on ``port``."""
    walker.settings = replace(walker.settings, smtp_host="127.0.0.1", smtp_port=port)
    case = walker.start("address_aid", APPLICATION)
    with operation(walker.db, walker.settings) as (uow, ctx):
        rows = [Notification(breach="task_overdue", instance_id=case, task_id=n, recipient=f"user{n}", email=address,
                             subject=subject, body=f"Лист {n}", created_at=ctx.now())
                for n, (address, subject) in enumerate(mails)]
        uow.session.add_all(rows)
        uow.commit()
        return [row.id for row in rows]


def send(walker: Walker, clock=None) -> int:
    with operation(walker.db, walker.settings) as (_uow, ctx):
        return alerts.send_pending_emails(walker.db, walker.settings, ctx, clock=clock)


def states(walker: Walker) -> dict[int, tuple[str, str | None]]:
    return {n.id: (n.email_state, n.email_error) for n in notifications(walker)}


def test_a_subject_with_a_line_break_neither_fails_the_batch_nor_injects_a_header(walker, smtp):
    inbox, port = smtp
    ids = outbox(walker, port, ("a@zt-rada.test", "Перший"), ("b@zt-rada.test", "Другий\r\nBcc: evil@attacker.test"),
                 ("c@zt-rada.test", "Третій"))
    assert send(walker) == 3
    assert send(walker) == 0  # nothing sent twice
    assert sorted(r for rcpts, _ in inbox.messages for r in rcpts) == ["a@zt-rada.test", "b@zt-rada.test", "c@zt-rada.test"]
    injected = next(m for m in inbox.received if "Другий" in m["Subject"])
    assert injected["Subject"] == "Другий Bcc: evil@attacker.test" and injected["Bcc"] is None
    assert {state for state, _error in states(walker).values()} == {"sent"}
    assert all(n.emailed_at is not None for n in notifications(walker) if n.id in ids)


def test_a_refused_recipient_marks_only_that_message_failed_with_the_reason(walker, smtp):
    inbox, port = smtp
    inbox.refuse.add("gone@zt-rada.test")
    first, refused, last = outbox(walker, port, ("a@zt-rada.test", "Перший"), ("gone@zt-rada.test", "Другий"),
                                  ("c@zt-rada.test", "Третій"))
    assert send(walker) == 2
    assert send(walker) == 0  # the refused one is not tried again
    now = states(walker)
    assert now[first] == ("sent", None) and now[last] == ("sent", None)
    assert now[refused][0] == "failed" and "gone@zt-rada.test" in now[refused][1] and "550" in now[refused][1]
    assert len(inbox.messages) == 2


def test_a_worker_killed_while_sending_re_sends_that_one_message_once_after_the_timeout(walker, smtp, monkeypatch):
    inbox, port = smtp
    first, second, third = outbox(walker, port, ("a@zt-rada.test", "Перший"), ("b@zt-rada.test", "Другий"),
                                  ("c@zt-rada.test", "Третій"))
    real_finish = alerts._finish

    def killed_after_second(db, notification_id, state, **kwargs):
        if notification_id == second:
            raise SystemExit("worker killed after sending, before marking")
        return real_finish(db, notification_id, state, **kwargs)

    monkeypatch.setattr(alerts, "_finish", killed_after_second)
    with pytest.raises(SystemExit):
        send(walker)
    monkeypatch.setattr(alerts, "_finish", real_finish)
    assert states(walker)[second][0] == "sending" and len(inbox.messages) == 2

    assert send(walker) == 1  # the third; the second waits out the timeout (it may be on its way)
    later = FixedClock(SystemClock().now() + timedelta(seconds=walker.settings.email_sending_timeout + 1))
    assert send(walker, clock=later) == 1  # sent once more
    assert send(walker, clock=later) == 0
    subjects = sorted(m["Subject"] for m in inbox.received)
    assert subjects == ["Другий", "Другий", "Перший", "Третій"]  # one duplicate: the message being sent at the kill
    assert {state for state, _error in states(walker).values()} == {"sent"}
    assert len({m["Message-ID"] for m in inbox.received}) == 3  # the duplicate carries the same Message-ID


def test_a_message_whose_second_sending_also_never_finished_is_marked_failed_not_sent_again(walker, smtp):
    inbox, port = smtp
    [stuck] = outbox(walker, port, ("a@zt-rada.test", "Перший"))
    long_ago = SystemClock().now() - timedelta(hours=1)
    with operation(walker.db, walker.settings) as (uow, _ctx):
        row = uow.session.get(Notification, stuck)
        row.email_state, row.email_claimed_at, row.email_attempts = "sending", long_ago, 2
        uow.commit()
    assert send(walker) == 0
    assert states(walker)[stuck][0] == "failed" and inbox.messages == []
