"""Reading a BPMN file safely, and the facts Marshrut needs from it that Spiff does not keep.

Spiff gives a lane's name but not its id or properties, and no element's position in the
flow; lanes, ``camunda:properties`` and the order of user tasks are read here with lxml.
"""

from dataclasses import dataclass, field

from lxml import etree

from marshrut.engine.errors import FieldError, InvalidInput

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}
MAX_XML_BYTES = 5 * 1024 * 1024


def parse_xml(data: bytes, label: str) -> etree._Element:
    """Parse XML with no DTD, no entities and no network; refuse anything else.

    :param label: the file name, used in error messages.
    :raise InvalidInput: not XML, too large, or carrying a DTD or entity.
    """
    if len(data) > MAX_XML_BYTES:
        raise InvalidInput(f"Файл {label} завеликий", [FieldError(label, f"Файл більший за {MAX_XML_BYTES // 1048576} МБ")])
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"Файл {label} не в кодуванні UTF-8", [FieldError(
            label, "Збережіть файл у кодуванні UTF-8 (UTF-16 та інші не приймаються)")]) from err
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InvalidInput(
            f"Файл {label} містить DTD", [FieldError(label, "DTD і сутності (<!DOCTYPE>, <!ENTITY>) заборонені: видаліть їх")]
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_blank_text=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise InvalidInput(f"Файл {label} не є коректним XML", [FieldError(label, f"Не XML: {err}")]) from err
    if root.getroottree().docinfo.doctype:
        raise InvalidInput(f"Файл {label} містить DTD", [FieldError(label, "DTD заборонено: видаліть <!DOCTYPE>")])
    return root


def properties_of(element: etree._Element) -> dict[str, str]:
    """The ``camunda:properties`` directly inside an element's ``extensionElements``."""
    nodes = element.xpath("./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS)
    return {node.get("name"): (node.get("value") or "").strip() for node in nodes if node.get("name")}


@dataclass(frozen=True)
class Lane:
    id: str
    name: str
    role: str
    #: The lane declares a role Marshrut did not know (``new_role`` = ``true``; made by the card import).
    declared: bool = False


@dataclass
class DiagramFacts:
    """What one executable process of a BPMN file says, beyond Spiff's spec."""

    process_id: str
    process_name: str
    process_properties: dict[str, str]
    lanes: dict[str, Lane] = field(default_factory=dict)
    lane_of: dict[str, Lane] = field(default_factory=dict)
    properties: dict[str, dict[str, str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    user_tasks: list[str] = field(default_factory=list)
    outgoing: dict[str, list[str]] = field(default_factory=dict)
    expressions: dict[str, list[str]] = field(default_factory=dict)


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def executable_processes(root: etree._Element) -> list[etree._Element]:
    processes = root.xpath("./bpmn:process", namespaces=NS)
    executable = [p for p in processes if p.get("isExecutable", "true") != "false"]
    return executable or processes


def read_facts(process: etree._Element) -> DiagramFacts:
    """Collect lanes, properties, names and the flow order of user tasks of ``process``."""
    facts = DiagramFacts(process.get("id", ""), process.get("name") or process.get("id", ""), properties_of(process))
    for lane in process.xpath(".//bpmn:lane", namespaces=NS):
        props = properties_of(lane)
        info = Lane(lane.get("id", ""), lane.get("name") or lane.get("id", ""), props.get("role") or lane.get("id", ""),
                    props.get("new_role") == "true")
        facts.lanes[info.id] = info
        for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
            facts.lane_of[(ref.text or "").strip()] = info
    for element in process.iter():
        if not isinstance(element.tag, str) or element.get("id") is None:
            continue
        element_id = element.get("id")
        facts.kinds[element_id] = local_name(element)
        facts.names[element_id] = element.get("name") or element_id
        facts.properties[element_id] = properties_of(element)
        sources = element.xpath(
            "./bpmn:conditionExpression|.//bpmn:timeDate|.//bpmn:timeDuration|./bpmn:script", namespaces=NS
        )
        texts = [(s.text or "").strip() for s in sources if (s.text or "").strip()]
        if texts:
            facts.expressions[element_id] = texts
    for flow in process.xpath(".//bpmn:sequenceFlow", namespaces=NS):
        facts.outgoing.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    facts.user_tasks = _user_tasks_in_flow_order(process, facts.outgoing, facts.kinds)
    return facts


def _user_tasks_in_flow_order(process: etree._Element, outgoing: dict[str, list[str]], kinds: dict[str, str]) -> list[str]:
    """User tasks in flow order: a reverse post-order walk from the start events.

    Reverse post-order is a topological order, so a step reached both directly and through
    another step (the roadmap's crisis shortcut to ``decide``) comes after that other step.
    """
    seen: set[str] = set()
    finished: list[str] = []

    def visit(start: str) -> None:
        # Iterative depth-first walk (a flow thousands of nodes long must not exhaust the stack).
        seen.add(start)
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, index = stack[-1]
            targets = outgoing.get(node, [])
            if index < len(targets):
                stack[-1] = (node, index + 1)
                target = targets[index]
                if target not in seen:
                    seen.add(target)
                    stack.append((target, 0))
            else:
                stack.pop()
                finished.append(node)

    for start in process.xpath("./bpmn:startEvent", namespaces=NS):
        visit(start.get("id"))
    order = [node for node in reversed(finished) if kinds.get(node) == "userTask"]
    return order + [i for i, k in kinds.items() if k == "userTask" and i not in seen]
