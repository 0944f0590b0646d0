"""A timer worker killed with SIGKILL in the middle of a pass and started again (SPEC §8): no
timer is lost or fired twice, each breach is notified once, and each notification's e-mail is
delivered, re-sent at most once per kill (the message being sent when it died).

Sixty cases wait on their target-date escalation; the controlled clock is moved past it,
``marshrut worker`` starts firing, is killed once some (not all) have fired, and a new
worker finishes the job.
"""

import asyncio
import email
import email.policy
import signal
import time
from collections import Counter

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from marshrut.engine import definitions, queries, runtime
from marshrut.engine.models import AuditEvent, Instance, Notification, Timer, User
from tests.conftest import context_at, kyiv, set_now
from tests.reliability.conftest import free_port, kill_group, marshrut, register_cases, requires_postgres

pytestmark = requires_postgres

CASES = 60
REGISTERED = kyiv("2026-02-02 10:00")
AFTER_TARGET = kyiv("2026-02-24 10:00")  # target 2026-02-23, legal date 2026-03-04


def fired(db) -> int:
    with db.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(Timer).where(
            Timer.element_id == "escalate_target", Timer.state == "fired")) or 0


def due(db) -> int:
    with db.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(Timer).where(
            Timer.state == "waiting", Timer.fires_at <= AFTER_TARGET)) or 0


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_worker_killed_mid_pass_and_restarted_fires_every_timer_exactly_once(deployed, db, settings, actors, tmp_path):
    pairs = register_cases(db, settings, actors["programs_dept"], CASES, REGISTERED)
    set_now(db, AFTER_TARGET)
    assert due(db) == CASES

    first = marshrut(["worker", "--interval", "0.2"], settings, tmp_path / "worker-1.log")
    try:
        assert wait_for(lambda: fired(db) >= 3, 90), (tmp_path / "worker-1.log").read_text(errors="replace")[-3000:]
    finally:
        kill_group(first, signal.SIGKILL)
    at_kill = fired(db)
    assert 0 < at_kill < CASES, f"the worker was to be killed mid-pass, but {at_kill} of {CASES} timers had fired"

    second = marshrut(["worker", "--interval", "0.2"], settings, tmp_path / "worker-2.log")
    try:
        assert wait_for(lambda: due(db) == 0, 120), (tmp_path / "worker-2.log").read_text(errors="replace")[-3000:]
        with db.unit_of_work() as uow:  # and the pass that fired the last timer recorded the breaches
            ids = [instance_id for instance_id, _task in pairs]
            assert wait_for(lambda: all(i.target_breach_recorded for i in uow.session.scalars(
                select(Instance).where(Instance.id.in_(ids)).execution_options(populate_existing=True))), 60)
    finally:
        kill_group(second, signal.SIGTERM)

    with db.unit_of_work() as uow:
        rows = Counter((t.instance_id, t.element_id, t.state) for t in uow.session.scalars(select(Timer)))
        events = Counter((e.instance_id, e.data["element_id"]) for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "timer_fired")))
        notified = Counter((n.instance_id, n.breach, n.task_id, n.recipient) for n in uow.session.scalars(select(Notification)))
        ctx = context_at(settings, AFTER_TARGET)
        for instance_id, task_id in pairs:
            assert rows[(instance_id, "escalate_target", "fired")] == 1
            assert rows[(instance_id, "escalate_target", "waiting")] == 0
            assert rows[(instance_id, "escalate_legal", "waiting")] == 1  # the next escalation, once
            assert events[(instance_id, "escalate_target")] == 1, f"case {instance_id}: the timer fired {events[(instance_id, 'escalate_target')]} times"
            # the target breach and the late first step, each to the managers and the responsible role, once
            for breach, task in (("case_target", 0), ("task_overdue", task_id)):
                assert {r for (i, b, t, r), n in notified.items() if (i, b, t) == (instance_id, breach, task) and n == 1} == {
                    "manager", "programs_dept"}, (instance_id, breach)
            instance = uow.session.get(Instance, instance_id)
            workflow = runtime.load(instance.state, definitions.compiled(queries.definition_of(uow, instance)), ctx)
            assert {t.spiff_id for t in runtime.waiting_timers(workflow)} == {
                t.spiff_id for t in queries.waiting_timers(uow, instance_id)}
        assert all(count == 1 for count in notified.values())


class SlowInbox:
    """An SMTP server's handler that takes a while over each message, so kills land mid-send."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(0.03)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.message_ids.append(message["Message-ID"])
        return "250 OK"


def unsent(db) -> int:
    with db.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.email.is_not(None), Notification.email_state != "sent")) or 0


def test_a_worker_killed_while_emailing_re_sends_at_most_one_message_per_kill_and_delivers_every_one(
        deployed, db, settings, actors, tmp_path):
    inbox = SlowInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    with db.unit_of_work() as uow:
        for user in uow.session.scalars(select(User).where(User.login.in_(["manager", "programs_dept"]))):
            user.email = f"{user.login}@zt-rada.test"
        uow.commit()
    register_cases(db, settings, actors["programs_dept"], CASES, REGISTERED)
    set_now(db, AFTER_TARGET)
    env = {"MARSHRUT_SMTP_HOST": "127.0.0.1", "MARSHRUT_SMTP_PORT": str(port), "MARSHRUT_EMAIL_SENDING_TIMEOUT": "2"}
    kills = 0
    try:
        for run in range(3):  # each worker killed once it has sent some e-mails
            before = len(inbox.message_ids)
            worker = marshrut(["worker", "--interval", "0.2"], settings, tmp_path / f"worker-{run}.log", env)
            try:
                assert wait_for(lambda: len(inbox.message_ids) >= before + 15, 120), (
                    tmp_path / f"worker-{run}.log").read_text(errors="replace")[-3000:]
            finally:
                kill_group(worker, signal.SIGKILL)
            kills += 1
        assert unsent(db) > 0, "the kills were to land while e-mails were still being sent"
        last = marshrut(["worker", "--interval", "0.2"], settings, tmp_path / "worker-last.log", env)
        try:
            assert wait_for(lambda: unsent(db) == 0, 120), (tmp_path / "worker-last.log").read_text(errors="replace")[-3000:]
        finally:
            kill_group(last, signal.SIGTERM)
    finally:
        controller.stop()

    with db.unit_of_work() as uow:
        expected = {f"<notification-{n.id}@localhost>" for n in uow.session.scalars(
            select(Notification).where(Notification.email.is_not(None)))}
    assert len(expected) == CASES * 4  # the target breach and the late first step, to two people each
    received = Counter(inbox.message_ids)
    assert set(received) == expected  # every notification delivered
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= kills, f"{duplicates} e-mails re-sent after {kills} kills"
