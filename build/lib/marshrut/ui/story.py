"""The story of a case as its pages tell it: each completed step in order, who did it and when,
and what was decided, values as people read them (labels, dates, sums)."""

from typing import Any

from marshrut.engine import queries, users
from marshrut.engine.store import UnitOfWork
from marshrut.ui.forms import display_rows

#: Values the engine adds to a case's data (shown as dates elsewhere, not as outcomes).
ENGINE_KEYS = frozenset({"received_at", "received_date", "target_due", "legal_due"})


def story(uow: UnitOfWork, definition: Any, instance: Any, props: dict[str, dict[str, Any]], tz: Any,
          before_task: int | None = None) -> dict[str, Any]:
    """``{"steps": [{name, by, at, rows}], "checks": rows}``: the completed steps (all of them, or
    those done before the step ``before_task`` was created) and the values the diagram computed."""
    done = queries.completed_steps(uow, instance.id)
    names = users.names_of(uow, {t.completed_by for t in done})
    forms = definition.forms or {}
    steps = []
    given: set[str] = set((forms.get("start") or {}).get("properties") or {})
    for task in done:
        given.update((task.data or {}).keys())
        if before_task is not None and task.id == before_task:
            continue
        own = (forms.get(task.element_id) or {}).get("properties") or {}
        steps.append({"task_id": task.id, "element_id": task.element_id, "name": task.name,
                      "by": names.get(task.completed_by or "", task.completed_by or "—"), "at": task.completed_at.astimezone(tz) if task.completed_at else None,
                      "rows": display_rows({**props, **own}, task.data or {})})
    computed = {k: v for k, v in (instance.data or {}).items() if k not in given}
    return {"steps": steps, "checks": display_rows(props, computed, skip=ENGINE_KEYS)}
