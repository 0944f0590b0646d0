"""When will a case finish (or reach its ``sla_until`` step), if every remaining step takes
its upper limit? The longest path from where the case stands, including timer waits such as
the next committee meeting. Escalation branches are watchers, not work, and are skipped.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.clock import FixedClock
from engine.context import Context
from engine.deadlines import CaseDates, StepLimit, step_due
from engine.diagram import DiagramFacts
from engine.evaluator import engine_functions, evaluate
from engine.timers import fires_at


@dataclass(frozen=True)
class Position:
    """Where the case stands: an open step or a waiting timer, and when it is expected done."""

    element_id: str
    done_at: datetime


class Forecaster:
    """Walks the diagram forward from the case's positions; one per case and moment."""

    def __init__(self, facts: DiagramFacts, ctx: Context, dates: CaseDates, data: dict[str, Any]) -> None:
        self.facts, self.ctx, self.dates, self.data = facts, ctx, dates, data
        self.until = facts.process_properties.get("sla_until") or None
        self._done_at: dict[tuple[str, datetime], datetime] = {}  # paths rejoin: each (step, start) is worked out once

    def finish(self, positions: Iterable[Position]) -> datetime | None:
        """The latest expected end over every path from every position (None: nothing ahead)."""
        ends = []
        for position in positions:
            if self.until and position.element_id == self.until:
                ends.append(position.done_at)
                continue
            ends.extend(e for t in self.facts.outgoing.get(position.element_id, []) if (e := self._walk(t, position.done_at, frozenset())))
        return max(ends) if ends else None

    def _walk(self, node: str, moment: datetime, seen: frozenset[str]) -> datetime | None:
        if node in seen or self.facts.properties.get(node, {}).get("escalation"):
            return None
        moment = self._after(node, moment)
        if self.until and node == self.until:
            return moment
        targets = self.facts.outgoing.get(node, [])
        if not targets:
            return None if self.until else moment
        ends = [e for t in targets if (e := self._walk(t, moment, seen | {node})) is not None]
        return max(ends) if ends else None

    def _after(self, node: str, moment: datetime) -> datetime:
        key = (node, moment)
        if key not in self._done_at:
            self._done_at[key] = self._work_out(node, moment)
        return self._done_at[key]

    def _work_out(self, node: str, moment: datetime) -> datetime:
        kind = self.facts.kinds.get(node)
        if kind == "userTask":
            limit = StepLimit.from_properties(self.facts.properties.get(node, {}))
            due = step_due(self.ctx.calendar, limit, moment, self.dates, crisis=bool(self.data.get("crisis")))
            return max(moment, due) if due else moment
        if kind == "intermediateCatchEvent" and node in self.facts.expressions:
            return max(moment, self._timer(self.facts.expressions[node][0], moment))
        return moment

    def _timer(self, expression: str, moment: datetime) -> datetime:
        try:
            return fires_at(evaluate(expression, self.data, engine_functions(FixedClock(moment), self.ctx.calendar)))
        except Exception:  # noqa: BLE001 - a timer we cannot simulate adds no wait
            return moment
