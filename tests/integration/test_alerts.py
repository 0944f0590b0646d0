"""Breaches, notifications and e-mail: once per breach, to managers and the responsible role."""

import email
import email.policy
import socket
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine import alerts, sla, users
from engine.models import Notification
from engine.operation import operation
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker
from tests.walks import APPLICATION



class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
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
