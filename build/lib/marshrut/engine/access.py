"""Who may do what: the one place for the В/У/П/З rule and for case visibility."""

from dataclasses import dataclass
from typing import Any

from marshrut.engine.roles import APPROVES, CONFIRMS, EXECUTES, OVERSEER_ROLES, PARTICIPATES


@dataclass(frozen=True)
class Actor:
    """The person acting, as the adapters authenticated them."""

    login: str
    name: str
    roles: frozenset[str]
    #: The provider organisation a ``provider`` user works for (reference/providers.json id).
    provider_id: str | None = None

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


def may_complete(actor: Actor, task_role: str, task_provider: str | None = None) -> bool:
    """Only the completing role completes; overseers and admins read, they do not act for others.

    A step bound to a provider (a delivery branch, SPEC §3.2) is that provider's staff's alone.
    """
    return task_role in actor.roles and serves_provider(actor, task_provider)


def may_view_task(actor: Actor, task_role: str, participants: list[dict[str, Any]], task_provider: str | None = None) -> bool:
    if actor.oversees:
        return True
    if task_role in actor.roles and serves_provider(actor, task_provider):
        return True
    return any(p["role"] in actor.roles for p in participants)


def serves_provider(actor: Actor, task_provider: str | None) -> bool:
    """A step with no provider is anyone's of its role; a step bound to one, its users' only."""
    return task_provider is None or actor.provider_id == task_provider


def may_view_case(actor: Actor, involved_roles: set[str], created_by: str | None) -> bool:
    """Personal data of a case: the roles involved in it, its registrar, and overseers."""
    return actor.oversees or bool(actor.roles & involved_roles) or actor.login == created_by
