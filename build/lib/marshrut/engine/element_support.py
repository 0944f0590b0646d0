"""Which BPMN elements Marshrut can run, and which Camunda settings it does not honour.

A diagram may be perfectly valid BPMN and still never finish here: a message catch event
waits for a message nothing sends, an external service task for a worker that does not
exist, a timer start event for a scheduler that starts no cases. SpiffWorkflow parses them,
so they used to deploy and their cases sat ``running`` with nothing open. Elements are
therefore allowed by name (deny by default); anything else is refused at deploy, naming the
element and what to use instead.

Camunda Modeler's own task settings (``candidateGroups``, ``assignee``, ``dueDate``,
``formKey``, listeners) are read by Camunda's engine, not by Marshrut: they are answered with
a warning naming the Marshrut convention that does the same job.
"""

from lxml import etree

from marshrut.engine.diagram import NS
from marshrut.engine.errors import FieldError

#: BPMN elements (local names) a process may contain here.
RUNNABLE = frozenset({
    # flow nodes
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "scriptTask", "businessRuleTask", "subProcess",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "sequenceFlow",
    # their parts
    "incoming", "outgoing", "conditionExpression", "script", "documentation", "extensionElements",
    "timerEventDefinition", "timeDate", "timeDuration", "timeCycle", "terminateEventDefinition",
    "errorEventDefinition", "multiInstanceLoopCharacteristics", "loopCardinality", "completionCondition",
    "loopDataInputRef", "loopDataOutputRef", "inputDataItem", "outputDataItem",
    "standardLoopCharacteristics", "loopCondition",
    # lanes, data and annotations (no behaviour)
    "laneSet", "lane", "childLaneSet", "flowNodeRef", "textAnnotation", "text", "association", "group",
    "dataObject", "dataObjectReference", "dataStoreReference", "dataState", "property",
    "ioSpecification", "dataInput", "dataOutput", "inputSet", "outputSet", "dataInputRefs", "dataOutputRefs",
    "dataInputAssociation", "dataOutputAssociation", "sourceRef", "targetRef", "assignment", "from", "to",
    "transformation",
})

#: What to say about elements people do draw, in place of the generic refusal.
ADVICE = {
    "messageEventDefinition": "повідомлення (message) нікому надсилати: замініть подію завданням користувача або таймером",
    "signalEventDefinition": "сигнали не передаються між справами: замініть завданням користувача або таймером",
    "conditionalEventDefinition": "умовні події не перевіряються: використайте шлюз з умовами",
    "escalationEventDefinition": "ескалації не підтримуються: використайте таймер на межі завдання",
    "compensateEventDefinition": "компенсація не підтримується",
    "cancelEventDefinition": "скасування транзакцій не підтримується",
    "linkEventDefinition": "події-посилання не підтримуються: з'єднайте елементи потоком",
    "serviceTask": "зовнішні сервісні завдання ніхто не виконує: використайте завдання-скрипт або завдання користувача",
    "sendTask": "надсилання повідомлень не підтримується: використайте завдання користувача",
    "receiveTask": "очікування повідомлень не підтримується: використайте завдання користувача",
    "manualTask": "ручне завдання не потрапляє до списку: використайте завдання користувача (userTask)",
    "callActivity": "виклик іншого процесу не підтримується: перенесіть кроки у вбудований підпроцес",
    "eventBasedGateway": "шлюз за подіями чекає повідомлень: використайте виключний шлюз з умовами",
    "complexGateway": "складений шлюз не підтримується: використайте виключний або паралельний",
    "transaction": "транзакції не підтримуються: використайте вбудований підпроцес",
    "adHocSubProcess": "довільний підпроцес не підтримується: використайте вбудований підпроцес",
}

#: Camunda settings Marshrut ignores, with the convention to use instead (SPEC §4).
IGNORED_CAMUNDA = {
    "candidateGroups": "виконавця задає доріжка (lane): її id або властивість role",
    "candidateUsers": "виконавця задає доріжка (lane): її id або властивість role",
    "assignee": "завдання бере собі працівник (claim), а не діаграма",
    "dueDate": "строк задають властивості days / days_min / deadline",
    "followUpDate": "строк задають властивості days / days_min / deadline",
    "priority": "черговість задає строк (days / deadline)",
    "formKey": "форма — це файл forms/<процес>/<id завдання>.json",
    "asyncBefore": "Маршрут зберігає кожен крок сам",
    "asyncAfter": "Маршрут зберігає кожен крок сам",
    "formData": "форма — це файл forms/<процес>/<id завдання>.json",
    "taskListener": "слухачі не виконуються: використайте завдання-скрипт",
    "executionListener": "слухачі не виконуються: використайте завдання-скрипт",
    "inputOutput": "дані кроку — це поля його форми",
}

#: Longest flow accepted: real cards have a few dozen steps; thousands exhaust the parser.
MAX_FLOW_NODES = 300


def unsupported_elements(process: etree._Element) -> list[FieldError]:
    """Every element inside ``process`` that Marshrut cannot run, with what to use instead."""
    errors: list[FieldError] = []
    flow_nodes = 0
    for element in process.iterdescendants():
        if not isinstance(element.tag, str) or etree.QName(element).namespace != NS["bpmn"]:
            continue
        name = etree.QName(element).localname
        if name in ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
                    "task", "userTask", "scriptTask", "businessRuleTask", "exclusiveGateway", "parallelGateway",
                    "inclusiveGateway"):
            flow_nodes += 1
        if name == "timerEventDefinition" and etree.QName(element.getparent()).localname == "startEvent":
            errors.append(FieldError(_owner_id(element), "Стартова подія з таймером не спрацює: справи реєструють "
                                                         "через «Нове звернення» або API — приберіть таймер"))
        elif name not in RUNNABLE:
            advice = ADVICE.get(name, "Маршрут не виконує такий елемент")
            errors.append(FieldError(_owner_id(element), f"Елемент bpmn:{name} не підтримується: {advice}"))
    if flow_nodes > MAX_FLOW_NODES:
        errors.append(FieldError(process.get("id") or "process",
                                 f"Процес має {flow_nodes} елементів потоку, найбільше — {MAX_FLOW_NODES}: "
                                 "розділіть його на підпроцеси або кілька процесів"))
    return errors


def ignored_camunda_settings(process: etree._Element) -> list[FieldError]:
    """Camunda settings in ``process`` that Marshrut does not honour (warnings, not errors)."""
    warnings: list[FieldError] = []
    camunda = NS["camunda"]
    for element in process.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in element.attrib:
            qname = etree.QName(attribute)
            if qname.namespace == camunda and qname.localname in IGNORED_CAMUNDA:
                warnings.append(_ignored(_owner_id(element), qname.localname))
        if etree.QName(element).namespace == camunda and etree.QName(element).localname in IGNORED_CAMUNDA:
            warnings.append(_ignored(_owner_id(element), etree.QName(element).localname))
    return warnings


def _ignored(element_id: str, setting: str) -> FieldError:
    return FieldError(element_id, f"camunda:{setting} Маршрут не враховує: {IGNORED_CAMUNDA[setting]}")


def _owner_id(element: etree._Element) -> str:
    """The id of ``element`` or of its nearest ancestor that has one."""
    node: etree._Element | None = element
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return "process"
