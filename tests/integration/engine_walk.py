"""Driving cases through the engine's use cases, one transaction per action, as the API does."""

from datetime import datetime
from typing import Any

from engine import cases, queries, worker
from engine.access import Actor
from engine.config import Settings
from engine.models import Instance, Task
from engine.operation import operation
from engine.store import Database
from tests.conftest import set_now


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
        with operation(self.db, self.settings) as (uow, ctx):
            done, _instance = cases.complete_task(uow, self.actors[as_role or task.role], ctx, task.id, data)
            uow.commit()
            return done

    def instance(self, instance_id: int) -> Instance:
        with operation(self.db, self.settings) as (uow, _ctx):
            return queries.must_find(uow.session.get(Instance, instance_id), "no case")

    def tick(self) -> worker.PassResult:
        return worker.run_pass(self.db, self.settings)
