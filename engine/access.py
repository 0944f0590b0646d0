"""Who may do what: the one place for the В/У/П/З rule and for case visibility."""

from dataclasses import dataclass
from typing import Any

from engine.roles import APPROVES, CONFIRMS, EXECUTES, OVERSEER_ROLES, PARTICIPATES


@dataclass(frozen=True)
class Actor:
    """The person acting, as the adapters authenticated them."""

    login: str
    name: str
    roles: frozenset[str]

    @property
    def oversees(self) -> bool:
        """Sees every case and task with their personal data: managers, not admins."""
        return bool(self.roles & OVERSEER_ROLES)

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


def split_roles(lane_role: str | None, action: str | None, participants: list[dict[str, str]]) -> tuple[str, str, list[dict[str, str]]]:
    """Pick the completing role of a step and the participants left.

    The role with В completes; where none has В, the П or З role does; where only У is
    given, that role does (SPEC §3.1). Everyone else takes part: sees, comments, cannot complete.

    :return: ``(role, action, participants)``.
    """
    entries = ([{"role": lane_role, "action": action or EXECUTES}] if lane_role else []) + list(participants)
    for wanted in ((EXECUTES,), (APPROVES, CONFIRMS), (PARTICIPATES,)):
        chosen = next((e for e in entries if e["action"] in wanted), None)
        if chosen is not None:
            others = [e for e in entries if e is not chosen]
            return chosen["role"], chosen["action"], others
    raise ValueError("step has no role")


def may_complete(actor: Actor, task_role: str) -> bool:
    """Only the completing role completes; overseers and admins read, they do not act for others."""
    return task_role in actor.roles


def may_view_task(actor: Actor, task_role: str, participants: list[dict[str, Any]]) -> bool:
    return actor.oversees or task_role in actor.roles or any(p["role"] in actor.roles for p in participants)


def may_view_case(actor: Actor, involved_roles: set[str], created_by: str | None) -> bool:
    """Personal data of a case: the roles involved in it, its registrar, and overseers."""
    return actor.oversees or bool(actor.roles & involved_roles) or actor.login == created_by
