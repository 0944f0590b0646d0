"""The decision tables (DMN) a process version holds, read for showing them (the card view)."""

from typing import Any

from marshrut.engine import diagram


def _text(node: Any, path: str) -> str:
    found = node.xpath(path, namespaces={"dmn": diagram.NS["dmn"]})
    return (found[0].text or "").strip() if found else ""


def tables(dmn_xml: dict[str, str]) -> list[dict[str, Any]]:
    """Every decision table: file, decision name, hit policy, column labels and rules in order."""
    result = []
    ns = {"dmn": diagram.NS["dmn"]}
    for file_name, xml in sorted(dmn_xml.items()):
        root = diagram.parse_xml(xml.encode("utf-8"), file_name)
        for decision in root.xpath("./dmn:decision", namespaces=ns):
            for table in decision.xpath("./dmn:decisionTable", namespaces=ns):
                inputs = [i.get("label") or _text(i, "./dmn:inputExpression/dmn:text") for i in table.xpath("./dmn:input", namespaces=ns)]
                outputs = [o.get("label") or o.get("name") or "" for o in table.xpath("./dmn:output", namespaces=ns)]
                rules = [{
                    "inputs": [(e.findtext(f"{{{ns['dmn']}}}text") or "").strip() for e in rule.xpath("./dmn:inputEntry", namespaces=ns)],
                    "outputs": [(e.findtext(f"{{{ns['dmn']}}}text") or "").strip() for e in rule.xpath("./dmn:outputEntry", namespaces=ns)],
                    "description": _text(rule, "./dmn:description"),
                } for rule in table.xpath("./dmn:rule", namespaces=ns)]
                result.append({"file": file_name, "id": decision.get("id"), "name": decision.get("name") or decision.get("id"),
                               "hit_policy": table.get("hitPolicy", "UNIQUE"), "inputs": inputs, "outputs": outputs,
                               "rules": rules})
    return result
