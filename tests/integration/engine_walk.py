"""Driving cases through the engine's use cases, one transaction per action, as the API does."""

from datetime import datetime
from typing import Any

from marshrut.engine import cases, queries, worker
from marshrut.engine.access import Actor
from marshrut.engine.config import Settings
from marshrut.engine.models import Instance, Task
from marshrut.engine.operation import operation
from marshrut.engine.store import Database
from tests.conftest import kyiv, set_now
from tests.walks import ADDRESS_AID_STEPS, APPLICATION

UNTIL_ENDORSEMENT = list(ADDRESS_AID_STEPS)[: list(ADDRESS_AID_STEPS).index("endorse_draft_decision") + 1]


class Walker:
    """A test's hands: register, complete steps as the right role, move the clock."""

    def __init__(self, db: Database, settings: Settings, actors: dict[str, Actor]) -> None:
        self.db, self.settings, self.actors = db, settings, actors

    def at(self, moment: datetime) -> "Walker":
        set_now(self.db, moment)
        return self

    def start(self, process_key: str, data: dict[str, Any], as_role: str = "programs_dept",
              received_at: datetime | None = None) -> int:
        with operation(self.db, self.settings) as (uow, ctx):
            instance = cases.start_case(uow, self.actors[as_role], ctx, process_key, data, received_at)
            uow.commit()
            return instance.id

    def open_tasks(self, instance_id: int) -> list[Task]:
        with operation(self.db, self.settings) as (uow, _ctx):
            return queries.open_tasks(uow, instance_id)

    def open_ids(self, instance_id: int) -> list[str]:
        return sorted(t.element_id for t in self.open_tasks(instance_id))

    def complete(self, instance_id: int, element_id: str, data: dict[str, Any], as_role: str | None = None) -> Task:
        task = next(t for t in self.open_tasks(instance_id) if t.element_id == element_id)
        who = as_role or (f"provider-{task.provider_id}" if task.provider_id else task.role)
        with operation(self.db, self.settings) as (uow, ctx):
            done = cases.complete_task(uow, self.actors[who], ctx, task.id, data)
            uow.commit()
            return done.task

    def instance(self, instance_id: int) -> Instance:
        with operation(self.db, self.settings) as (uow, _ctx):
            return queries.must_find(uow.session.get(Instance, instance_id), "no case")

    def tick(self) -> worker.PassResult:
        return worker.run_pass(self.db, self.settings)

    def address_aid_to_committee(self) -> int:
        """Register on Mon 2026-02-02 and complete every step up to the endorsement on Thu 2026-02-12."""
        case = self.start("address_aid", APPLICATION)
        for element_id in UNTIL_ENDORSEMENT:
            if element_id == "endorse_draft_decision":
                self.at(kyiv("2026-02-12 15:00"))
            self.complete(case, element_id, ADDRESS_AID_STEPS[element_id])
        return case
