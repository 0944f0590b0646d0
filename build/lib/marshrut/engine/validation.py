"""The checks a diagram passes before it is deployed (SPEC §4).

Order: safe XML, the BPMN XSD, SpiffWorkflow's own parse, then Marshrut's conventions.
Every error names the element and says what to change.
"""

import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree
import SpiffWorkflow

from marshrut.engine.deadlines import StepLimit
from marshrut.engine.diagram import DiagramFacts
from marshrut.engine.errors import FieldError
from marshrut.engine import sandbox_validation
from marshrut.engine.roles import ACTIONS, LATIN_LOOKALIKES, PARTICIPATES, ROLES

#: A process id, element id or form name: a letter or "_", then letters, digits, "_", "-", "."
#: (an XML NCName in ASCII), at most 100 characters. Checked before any file path is built from it,
#: so no id reads outside ``forms/`` (``/etc``, ``..``, ``a/b`` are refused).
SAFE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}")
NEW_ROLE_KEY = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
XSD_PATH = Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema" / "BPMN20.xsd"


@cache
def bpmn_schema() -> etree.XMLSchema:
    """The BPMN 2.0 XSD that SpiffWorkflow ships (parsed once)."""
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def xsd_errors(root: etree._Element, label: str) -> list[FieldError]:
    """Schema violations, each pinned to the nearest element id (or the line)."""
    schema = bpmn_schema()
    if schema.validate(root.getroottree()):
        return []
    errors = []
    for entry in schema.error_log:
        path = _element_id_at_line(root, entry.line) or f"{label}:{entry.line}"
        errors.append(FieldError(path, f"Не відповідає схемі BPMN 2.0 (рядок {entry.line}): {entry.message}"))
    return errors


def _element_id_at_line(root: etree._Element, line: int) -> str | None:
    for element in root.iter():
        if isinstance(element.tag, str) and element.sourceline == line and element.get("id"):
            return element.get("id")
    return None


def parse_participants(text: str) -> list[dict[str, str]]:
    """``"programs_head:У, other:У"`` → ``[{"role": "programs_head", "action": "У"}, ...]``."""
    result = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, _, action = part.partition(":")
        result.append({"role": role.strip(), "action": (action.strip() or PARTICIPATES)})
    return result


def action_error(element_id: str, action: str | None) -> FieldError | None:
    """Explain a missing, Latin or unknown action code."""
    if not action:
        return FieldError(element_id, "Не вказано дію: додайте властивість action зі значенням В, У, П або З (кирилицею)")
    if action in LATIN_LOOKALIKES:
        return FieldError(
            element_id,
            f"Дія «{action}» набрана латиницею: замініть на кириличну «{LATIN_LOOKALIKES[action]}»",
        )
    if action not in ACTIONS:
        return FieldError(element_id, f"Невідома дія «{action}»: допустимі В, У, П, З (кирилицею)")
    return None


def convention_errors(facts: DiagramFacts, forms: dict[str, Any]) -> list[FieldError]:
    """Marshrut's conventions: lanes with known roles, action codes, limits, forms."""
    errors: list[FieldError] = []
    errors += _process_errors(facts, forms)
    for task_id in facts.user_tasks:
        errors += _user_task_errors(facts, task_id, forms)
    return errors


def expression_errors(root: etree._Element, facts: DiagramFacts, forms: dict[str, Any],
                      dmn: dict[str, bytes]) -> list[FieldError]:
    """Scripts, conditions, timers, step rules and decision cells, parsed by the sandbox that runs
    them, with names checked against what the process knows (engine/sandbox_validation.py)."""
    return sandbox_validation.expression_errors(root, facts, forms, dmn)


def _process_errors(facts: DiagramFacts, forms: dict[str, Any]) -> list[FieldError]:
    errors = []
    for name in ("target_days", "legal_days"):
        value = facts.process_properties.get(name)
        if value is not None and not value.isdigit():
            errors.append(FieldError(facts.process_id, f"Властивість процесу {name} має бути цілим числом днів, а не «{value}»"))
    if "start" not in forms:
        errors.append(FieldError(facts.process_id, f"Немає стартової форми: створіть forms/{facts.process_id}/start.json"))
    if not facts.user_tasks:
        errors.append(FieldError(facts.process_id, "У процесі немає жодного завдання користувача (userTask)"))
    return errors


def known_roles(facts: DiagramFacts) -> set[str]:
    """The roles of :data:`ROLES` and those the diagram's lanes declare (``new_role``, snake_case keys)."""
    declared = {lane.role for lane in facts.lanes.values() if lane.declared and NEW_ROLE_KEY.match(lane.role)}
    return set(ROLES) | declared


def _user_task_errors(facts: DiagramFacts, task_id: str, forms: dict[str, Any]) -> list[FieldError]:
    errors = []
    if not SAFE_ID.fullmatch(task_id) or ".." in task_id:
        errors.append(FieldError(task_id[:100], "Неприпустимий id завдання: лише латинські літери, цифри, «_», «-», «.», "
                                                "починаючи з літери або «_», до 100 символів (він є назвою файлу форми)"))
    roles = known_roles(facts)
    lane = facts.lane_of.get(task_id)
    props = facts.properties.get(task_id, {})
    if lane is None:
        errors.append(FieldError(task_id, "Завдання поза доріжкою (lane): перенесіть його в доріжку відповідального підрозділу"))
    elif lane.role not in roles:
        errors.append(FieldError(
            task_id, f"Доріжка «{lane.name}» має невідому роль «{lane.role}»: задайте властивість role "
            f"доріжки одним із ключів: {', '.join(ROLES)}",
        ))
    problem = action_error(task_id, props.get("action"))
    if problem:
        errors.append(problem)
    errors += _limit_errors(task_id, props)
    for participant in parse_participants(props.get("participants", "")):
        if participant["role"] not in roles:
            errors.append(FieldError(task_id, f"Невідома роль учасника «{participant['role']}» у participants"))
        elif (problem := action_error(task_id, participant["action"])) is not None:
            errors.append(problem)
    if task_id not in forms:
        errors.append(FieldError(task_id, f"Немає форми завдання: створіть forms/{facts.process_id}/{task_id}.json"))
    return errors


def _limit_errors(task_id: str, props: dict[str, str]) -> list[FieldError]:
    try:
        limit = StepLimit.from_properties(props)
    except ValueError as err:
        return [FieldError(task_id, f"Неправильний строк: {err}")]
    if limit.days is None and limit.deadline is None:
        return [FieldError(task_id, "Не вказано строк: додайте властивість days (число днів) або deadline (target/legal)")]
    return []


def form_errors(process_id: str, forms: dict[str, Any]) -> list[FieldError]:
    """Every form must itself be a valid JSON Schema (draft 2020-12)."""
    errors = []
    for name, schema in forms.items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as err:
            errors.append(FieldError(name, f"Форма forms/{process_id}/{name}.json не є коректною JSON Schema: {err.message}"))
    return errors
