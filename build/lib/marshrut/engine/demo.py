"""Demo data: one user per role and a few cases at different stages, some of them late.

Cases are walked through the ordinary use cases with a clock set in the past, so their
steps carry real history and real due dates (and some are overdue today).
"""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from marshrut.engine import cases, queries, users, worker
from marshrut.engine.access import Actor
from marshrut.engine.clock import FixedClock
from marshrut.engine.config import Settings
from marshrut.engine.context import Context
from marshrut.engine.models import Instance
from marshrut.engine.roles import ROLES
from marshrut.engine.store import Database

DEMO_NAMES = {
    "programs_dept": "Олена Коваль", "programs_deputy": "Ігор Бондар", "programs_head": "Наталія Мельник",
    "appeals_office": "Павло Ткаченко", "org_specialist": "Оксана Кравчук", "director": "Віктор Шевчук",
    "accounting_head": "Людмила Поліщук", "dept_specialist": "Тетяна Савчук", "case_manager": "Андрій Руденко",
    "provider": "Марина Лисенко", "intake": "Юлія Марченко", "manager": "Сергій Олійник",
    "analyst": "Дмитро Гончар", "admin": "Адміністратор",
}

#: The demo ``provider`` user works for the territorial centre (SPEC §3.2: users bound to a provider).
DEMO_PROVIDER = "territorial_center"


def create_users(db: Database, settings: Settings, now: datetime) -> list[tuple[str, str, str, str]]:
    """One user per role (login = role key, password ``demo``); returns (login, role, name, token)."""
    created = []
    with db.unit_of_work() as uow:
        for role in ROLES:
            if users.by_login(uow, role) is not None:
                continue
            _user, token = users.create_user(uow, role, [role], now, DEMO_NAMES.get(role, role), password="demo",
                                             provider_id=DEMO_PROVIDER if role == "provider" else None)
            created.append((role, role, DEMO_NAMES.get(role, role), token))
        uow.commit()
    return created


class DemoWalker:
    """Walks cases with a clock that moves forward from a moment in the past."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, replace(settings, controlled_clock=False)
        with db.unit_of_work() as uow:
            self.actors: dict[str, Actor] = {r: a for r in ROLES if (a := users.by_login(uow, r)) is not None}

    def _ctx(self, moment: datetime) -> Context:
        return Context(self.settings, FixedClock(moment))

    def start(self, key: str, data: dict[str, Any], moment: datetime, role: str = "programs_dept") -> int:
        with self.db.unit_of_work() as uow:
            instance = cases.start_case(uow, self.actors[role], self._ctx(moment), key, data, moment)
            uow.commit()
            return instance.id

    def complete(self, case: int, data_by_step: dict[str, dict[str, Any]], moment: datetime, steps: int) -> datetime:
        """Complete ``steps`` ready steps in turn, a working day apart; returns the clock after."""
        for _ in range(steps):
            with self.db.unit_of_work() as uow:
                ready = queries.open_tasks(uow, case)
                if not ready:
                    return moment
                task = ready[0]
                cases.complete_task(uow, self.actors[task.role], self._ctx(moment), task.id, data_by_step[task.element_id])
                uow.commit()
            moment = moment + timedelta(days=1)
        return moment

    def fire_timers(self, moment: datetime) -> None:
        with self.db.unit_of_work() as uow:
            due = [t.instance_id for t in queries.all_due_timers(uow, moment)]
        for case in sorted(set(due)):
            with self.db.unit_of_work() as uow:
                cases.fire_due_timers(uow, self._ctx(moment), case)
                uow.commit()


def has_cases(db: Database) -> bool:
    """Whether any case exists (demo cases are seeded into an empty database only)."""
    with db.unit_of_work() as uow:
        return uow.session.scalars(select(Instance.id).limit(1)).first() is not None


def seed_cases(db: Database, settings: Settings, now: datetime, samples: dict[str, Any]) -> list[int]:
    """A handful of cases at different stages, dated relative to ``now``."""
    walker = DemoWalker(db, settings)
    aid, aid_steps = samples["address_aid"], samples["address_aid_steps"]
    made = []
    made.append(walker.start("address_aid", aid, now - timedelta(hours=2)))
    late = now - timedelta(days=12)
    made.append(case := walker.start("address_aid", aid, late))
    walker.complete(case, aid_steps, late + timedelta(hours=1), 3)
    old = now - timedelta(days=26)
    made.append(case := walker.start("address_aid", aid, old))
    moment = walker.complete(case, aid_steps, old + timedelta(hours=1), 10)
    walker.fire_timers(moment + timedelta(days=10))
    made.append(case := walker.start("address_aid", aid, now - timedelta(days=3)))
    walker.complete(case, {"accept_documents": {"package_complete": False, "missing_documents": [
        "Довідка про доходи всіх членів сім’ї за останні 3 місяці"]}}, now - timedelta(days=3), 1)
    roadmap = samples["roadmap"]
    made.append(walker.start("social_services_roadmap", roadmap, now - timedelta(days=1), "dept_specialist"))
    crisis = {**roadmap, "crisis": True, "violence_or_threat": True}
    made.append(case := walker.start("social_services_roadmap", crisis, now - timedelta(hours=3), "dept_specialist"))
    walker.complete(case, samples["roadmap_steps"], now - timedelta(hours=2), 1)
    made.append(walker.start("needs_assessment_plan", {"year": now.year}, now - timedelta(days=30), "dept_specialist"))
    worker.run_pass(db, settings)
    return made
