"""Process definitions: assemble a diagram with its decision tables and forms, validate,
compile (cached), deploy as a new version, and look versions up.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import undefer_group
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from marshrut.engine import audit, diagram, element_support, form_bounds, numbering, validation
from marshrut.engine.errors import FieldError, InvalidInput, NotFound
from marshrut.engine.models import Definition, Instance
from marshrut.engine.store import UnitOfWork
from marshrut.engine.timers import use_engine_clock


@dataclass(frozen=True)
class Bundle:
    """One diagram and what it needs: DMN files by name, forms by task id (``start`` too)."""

    bpmn_name: str
    bpmn: bytes
    dmn: dict[str, bytes] = field(default_factory=dict)
    forms: dict[str, Any] = field(default_factory=dict)

    def checksum(self) -> str:
        digest = hashlib.sha256(self.bpmn)
        for name in sorted(self.dmn):
            digest.update(name.encode() + self.dmn[name])
        digest.update(json.dumps(self.forms, sort_keys=True, ensure_ascii=False).encode())
        return digest.hexdigest()


@dataclass
class Compiled:
    """A validated diagram ready to run: Spiff's specs plus Marshrut's facts and steps."""

    facts: diagram.DiagramFacts
    spec: Any
    subprocess_specs: dict[str, Any]
    steps: list[dict[str, Any]]
    forms: dict[str, Any]
    #: What the diagram sets that Marshrut does not honour (shown to the analyst, not refused).
    warnings: list[FieldError] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.facts.process_id

    def step(self, element_id: str) -> dict[str, Any] | None:
        return next((s for s in self.steps if s["element_id"] == element_id), None)


SAFE_ID = validation.SAFE_ID
#: A file name sent with a diagram: the same, with its extension; no folder part.
SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}")


def check_id(value: str, what: str = "Ідентифікатор") -> str:
    """``value`` if it is a safe id (:data:`SAFE_ID`); :raise InvalidInput: otherwise."""
    if not SAFE_ID.fullmatch(value) or ".." in value:
        message = (f"{what} «{value[:100]}» неприпустимий: лише латинські літери, цифри, «_», «-», «.», "
                   "починаючи з літери або «_», до 100 символів")
        raise InvalidInput(message, [FieldError(value[:100] or "id", message)])
    return value


def check_file_name(name: str) -> str:
    """``name`` if it is a plain file name (:data:`SAFE_FILE_NAME`); :raise InvalidInput: otherwise."""
    if not SAFE_FILE_NAME.fullmatch(name) or ".." in name:
        message = f"Неприпустима назва файлу «{name[:120]}»: лише латинські літери, цифри, «_», «-», «.», без папок"
        raise InvalidInput(message, [FieldError(name[:120] or "file", message)])
    return name


def assemble(bpmn_name: str, bpmn: bytes, extras: dict[str, bytes], bpmn_dir: Path, forms_dir: Path) -> Bundle:
    """Gather what ``bpmn`` needs: given DMN/JSON files win over those in the library folders.

    The process id and the names of the files given are checked (:func:`check_id`,
    :func:`check_file_name`) before any path is built from them.

    :param extras: other files given with the diagram, by file name (``*.dmn``, ``*.json``).
    :raise InvalidInput: the diagram is not readable XML, its id or a file name is not safe, or a
        given form is not JSON.
    """
    for name in extras:
        check_file_name(name)
        if name.endswith(".json"):
            check_id(Path(name).stem, "Назва форми")
    root = diagram.parse_xml(bpmn, bpmn_name)
    processes = diagram.executable_processes(root)
    key = check_id(processes[0].get("id", ""), "Ідентифікатор процесу") if processes else ""
    dmn = {p.name: p.read_bytes() for p in sorted(bpmn_dir.glob("*.dmn"))} if bpmn_dir.is_dir() else {}
    dmn.update({name: data for name, data in extras.items() if name.endswith(".dmn")})
    forms = _forms_in(forms_dir / key) if key else {}
    for name, data in extras.items():
        if name.endswith(".json"):
            forms[Path(name).stem] = _json(name, data)
    return Bundle(bpmn_name, bpmn, dmn, forms)


def _forms_in(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        return {}
    return {path.stem: _json(path.name, path.read_bytes()) for path in sorted(folder.glob("*.json"))}


def _json(name: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidInput(f"Файл {name} не є коректним JSON", [FieldError(name, f"Не JSON: {err}")]) from err


def compile_bundle(bundle: Bundle) -> Compiled:
    """Run every check of SPEC §4 and compile; all problems are reported together.

    :raise InvalidInput: with one :class:`FieldError` per problem, each naming its element.
    """
    root = diagram.parse_xml(bundle.bpmn, bundle.bpmn_name)
    if etree.QName(root).text != f"{{{diagram.NS['bpmn']}}}definitions":
        raise InvalidInput("Це не BPMN", [FieldError(bundle.bpmn_name, "Кореневий елемент має бути bpmn:definitions (BPMN 2.0)")])
    errors = validation.xsd_errors(root, bundle.bpmn_name)
    processes = diagram.executable_processes(root)
    if len(processes) != 1:
        errors.append(FieldError(bundle.bpmn_name, "Файл має містити рівно один виконуваний процес (bpmn:process)"))
        raise InvalidInput("Діаграма не пройшла перевірку", errors)
    facts = diagram.read_facts(processes[0])
    unsupported = element_support.unsupported_elements(processes[0])
    errors += unsupported
    errors += validation.convention_errors(facts, bundle.forms) + validation.form_errors(facts.process_id, bundle.forms)
    errors += form_bounds.bound_errors(facts.process_id, bundle.forms)
    errors += validation.expression_errors(root, facts, bundle.forms, bundle.dmn)
    if unsupported:  # SpiffWorkflow would only add noise (or exhaust its stack on a huge flow)
        raise InvalidInput("Діаграма не пройшла перевірку", errors)
    compiled = None
    try:
        compiled = _parse_with_spiff(root, bundle, facts)
    except InvalidInput as err:
        errors += err.errors
    if errors or compiled is None:
        raise InvalidInput("Діаграма не пройшла перевірку", errors)
    compiled.warnings.extend(element_support.ignored_camunda_settings(processes[0]))
    return compiled


def _parse_with_spiff(root: Any, bundle: Bundle, facts: diagram.DiagramFacts) -> Compiled:
    parser = CamundaParser()
    try:
        parser.add_bpmn_xml(root, filename=bundle.bpmn_name)
        for name, data in bundle.dmn.items():
            parser.add_dmn_xml(diagram.parse_xml(data, name), filename=name)
        spec = parser.get_spec(facts.process_id)
        subprocess_specs = parser.get_subprocess_specs(facts.process_id)
    except SpiffWorkflowException as err:
        element = getattr(err, "id", "") or bundle.bpmn_name
        raise InvalidInput("SpiffWorkflow не розібрав діаграму", [FieldError(element, f"SpiffWorkflow: {err}")]) from err
    specs = {facts.process_id: spec, **subprocess_specs}
    use_engine_clock(specs)
    bind_multi_instance_collections(specs)
    return Compiled(facts, spec, subprocess_specs, build_steps(facts, bundle.forms), bundle.forms)


def bind_multi_instance_collections(specs: dict[str, Any]) -> None:
    """Link Camunda multi-instance tasks to their collection at compile time.

    Spiff's Camunda multi-instance sets its input collection on the (shared) spec only when
    the task first starts; a case restored mid-delivery against a freshly compiled spec
    would then append its outputs instead of replacing them. Doing it once here makes
    every compiled spec the same from the start.
    """
    for spec in specs.values():
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "cardinality", "unset") is None and getattr(task_spec, "data_output", None) is not None:
                task_spec.data_input = TaskDataReference(task_spec.data_output.bpmn_id)
                if task_spec.output_item is not None:
                    task_spec.input_item = TaskDataReference(task_spec.output_item.bpmn_id)
            if isinstance(task_spec, LoopTask):
                # Spiff connects an instance's completion to the loop only when it creates
                # instances (or when it deserializes a spec); a case restored mid-loop against
                # a freshly compiled spec would otherwise never leave the loop.
                child = spec.task_specs.get(task_spec.task_spec)
                if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)


def build_steps(facts: diagram.DiagramFacts, forms: dict[str, Any]) -> list[dict[str, Any]]:
    """The card view: one entry per user task, in flow order."""
    steps = []
    for task_id in facts.user_tasks:
        props = facts.properties.get(task_id, {})
        lane = facts.lane_of.get(task_id)
        steps.append({
            "element_id": task_id,
            "name": facts.names.get(task_id, task_id),
            "lane": lane.name if lane else None,
            "role": lane.role if lane else None,
            "action": props.get("action"),
            "participants": validation.parse_participants(props.get("participants", "")),
            "days": _int(props.get("days")),
            "days_min": _int(props.get("days_min")),
            "calendar": props.get("calendar") or "working",
            "from": props.get("from") or "entered",
            "deadline": props.get("deadline") or None,
            "crisis_days": _int(props.get("crisis_days")),
            "crisis_hours": _int(props.get("crisis_hours")),
            "reject_if": props.get("reject_if") or None,
            "reject_message": props.get("reject_message") or None,
        })
    return steps


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def shared_field_warnings(forms: dict[str, Any]) -> list[str]:
    """Fields that several steps' forms define: in the case data the later step's value
    replaces the earlier one's (each step's own data stays with the step, ``steps`` of the case)."""
    owners: dict[str, list[str]] = {}
    for task_id, schema in sorted(forms.items()):
        if task_id == "start" or not isinstance(schema, dict):
            continue
        for name in (schema.get("properties") or {}):
            owners.setdefault(name, []).append(task_id)
    return [f"Поле «{name}» є у формах кроків {', '.join(tasks)}: у даних справи значення наступного кроку "
            f"замінює попереднє (дані кожного кроку зберігаються з кроком)" for name, tasks in sorted(owners.items())
            if len(tasks) > 1]


_COMPILED: dict[str, Compiled] = {}


def compiled(definition: Definition) -> Compiled:
    """The compiled form of a deployed version, built once per process (specs are immutable).

    Only its checksum is read from the row unless this process has not compiled it yet.
    """
    found = _COMPILED.get(definition.checksum)
    if found is None:
        bundle = Bundle("definition.bpmn", definition.bpmn_xml.encode(), {k: v.encode() for k, v in definition.dmn_xml.items()}, definition.forms)
        found = _COMPILED[definition.checksum] = compile_bundle(bundle)
    return found


def deploy(uow: UnitOfWork, bundle: Bundle, actor: str | None, now: datetime) -> tuple[Definition, bool]:
    """Validate and store ``bundle`` as the next version of its process.

    Deploying exactly what the latest version already holds creates nothing. A new version
    is an audit event (``definition_deployed``).

    :return: the version row and whether it is new.
    """
    result = compile_bundle(bundle)
    checksum = bundle.checksum()
    current = latest(uow, result.key, required=False)
    if current is not None and current.checksum == checksum:
        return current, False
    numbering.check_prefix_is_free(uow, result.key, result.facts.process_properties)
    row = Definition(
        key=result.key, version=(current.version + 1) if current else 1, name=result.facts.process_name,
        bpmn_xml=bundle.bpmn.decode("utf-8"), dmn_xml={k: v.decode("utf-8") for k, v in bundle.dmn.items()},
        forms=bundle.forms, properties=result.facts.process_properties, steps=result.steps,
        checksum=checksum, deployed_at=now, deployed_by=actor,
    )
    uow.session.add(row)
    uow.flush()
    audit.record(uow, "definition_deployed", actor, now,
                 data={"key": row.key, "version": row.version, "checksum": checksum, "name": row.name})
    _COMPILED[checksum] = result
    return row, True


def latest(uow: UnitOfWork, key: str, required: bool = True) -> Definition | None:
    """The newest version of process ``key``."""
    row = uow.session.scalars(
        select(Definition).where(Definition.key == key).order_by(Definition.version.desc()).limit(1)
    ).first()
    if row is None and required:
        raise NotFound(f"Процес «{key}» не розгорнуто")
    return row


def latest_all(uow: UnitOfWork) -> list[Definition]:
    """The newest version of every deployed process, by key, with its sources (for showing them)."""
    newest = select(Definition.key, func.max(Definition.version).label("version")).group_by(Definition.key).subquery()
    query = select(Definition).options(undefer_group("sources")).join(
        newest, (Definition.key == newest.c.key) & (Definition.version == newest.c.version)
    ).order_by(Definition.key)
    return list(uow.session.scalars(query))


def running_counts(uow: UnitOfWork, key: str) -> dict[int, int]:
    """How many cases run on each version of process ``key`` (versions with none are absent)."""
    query = (select(Definition.version, func.count(Instance.id)).join(Instance, Instance.definition_id == Definition.id)
             .where(Definition.key == key, Instance.status == "running").group_by(Definition.version))
    return {version: count for version, count in uow.session.execute(query)}


def declared_roles(uow: UnitOfWork) -> dict[str, str]:
    """Roles the deployed diagrams' lanes declare beyond the fixed ones (``new_role``), with the unit's name."""
    return {
        lane.role: lane.name
        for row in latest_all(uow) for lane in compiled(row).facts.lanes.values()
        if lane.declared and lane.role in validation.known_roles(compiled(row).facts)
    }


def versions(uow: UnitOfWork, key: str) -> list[Definition]:
    """Every version of process ``key``, newest first, with its sources."""
    query = select(Definition).options(undefer_group("sources")).where(Definition.key == key)
    rows = list(uow.session.scalars(query.order_by(Definition.version.desc())))
    if not rows:
        raise NotFound(f"Процес «{key}» не розгорнуто")
    return rows


def bundles_from_paths(paths: list[Path], bpmn_dir: Path, forms_dir: Path) -> list[Bundle]:
    """One bundle per ``.bpmn`` path; the ``.dmn`` and ``.json`` paths given go with each.

    Other files (a folder's README when given ``bpmn/*``) are not diagrams and are passed over.

    :raise InvalidInput: a path that does not exist, or no ``.bpmn`` among the paths.
    """
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise InvalidInput("Неправильні шляхи", [FieldError(p, "Файл не знайдено") for p in missing])
    if not any(p.suffix == ".bpmn" for p in paths):
        message = "Серед шляхів немає діаграми .bpmn"
        raise InvalidInput(message, [FieldError(str(paths[0]) if paths else "", message)])
    extras = {p.name: p.read_bytes() for p in paths if p.suffix in (".dmn", ".json")}
    return [assemble(p.name, p.read_bytes(), extras, bpmn_dir, forms_dir) for p in paths if p.suffix == ".bpmn"]
