"""The technological card of a deployed process, as a DOCX in the card's official layout.

The layout is seed 004's: a title, the table "№ / Етапи послуги / Відповідальна посадова особа
і структурний підрозділ / Дія (В, У, П, З) / Термін виконання (днів)" with a row numbering
the columns, one row per user task in flow order, the two totals, and the legend.
:func:`engine.tech_card.parse_docx` reads the result back.
"""

import io

from marshrut.engine import definitions
from marshrut.engine.models import Definition
from marshrut.engine.roles import ACTIONS, ROLES

HEADER = ("№\nп", "Етапи послуги", "Відповідальна посадова особа і структурний підрозділ", "Дія\n(В, У, П, З)",
          "Термін виконання (днів)")
LEGEND = "Умовні позначки: " + "; ".join(f"{code} - {meaning}" for code, meaning in ACTIONS.items()) + "."
COMMITTEE_TERM = "1 та 3 середа місяця"


def _days(n: int) -> str:
    return "дня" if n % 10 == 1 and n % 100 != 11 else "днів"


def term_text(step: dict, properties: dict[str, str], committee: bool) -> str:
    """The term as the card words it: "Протягом 1 дня", "Протягом 3-4 днів", "1 та 3 середа місяця"."""
    if committee:
        return COMMITTEE_TERM
    if step.get("deadline") in ("target", "legal"):
        total = properties.get(f"{step['deadline']}_days")
        if total and total.isdigit():
            return f"Протягом {total} {_days(int(total))}"
        return "До цільової дати справи" if step["deadline"] == "target" else "До граничної дати справи"
    days, low = step.get("days"), step.get("days_min")
    if days is None:
        return ""
    if days == 0:
        return "У день звернення"
    kind = " календарних" if step.get("calendar") == "calendar" else ""
    if low is not None and low != days:
        return f"Протягом {low}-{days}{kind} {_days(days)}"
    return f"Протягом {days}{kind} {_days(days)}"


def card_rows(row: Definition) -> list[list[str]]:
    """The table's body: number, stage, units (one per line), actions (one per line), term."""
    facts = definitions.compiled(row).facts
    unit_of = {lane.role: lane.name for lane in facts.lanes.values()}
    before: dict[str, list[str]] = {}
    for source, targets in facts.outgoing.items():
        for target in targets:
            before.setdefault(target, []).append(source)
    rows = []
    for number, step in enumerate(row.steps, start=1):
        committee = any(
            any("next_committee_meeting" in text for text in facts.expressions.get(source, []))
            for source in before.get(step["element_id"], [])
        )
        units = [(step.get("lane") or unit_of.get(step["role"]) or ROLES.get(step["role"], step["role"]), step["action"])]
        units += [(unit_of.get(p["role"]) or ROLES.get(p["role"], p["role"]), p["action"]) for p in step["participants"]]
        rows.append([f"{number}.", step["name"], "\n".join(u for u, _a in units), "\n".join(a or "" for _u, a in units),
                     term_text(step, row.properties, committee)])
    return rows


def card_docx(row: Definition) -> bytes:
    """The DOCX file of ``row``'s card."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = docx.Document()
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    heading.add_run("ТЕХНОЛОГІЧНА КАРТКА").bold = True
    title = document.add_paragraph(row.name)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(f"Версія {row.version}, розгорнуто {row.deployed_at:%d.%m.%Y}").alignment = WD_ALIGN_PARAGRAPH.CENTER
    table = document.add_table(rows=0, cols=len(HEADER))
    table.style = "Table Grid"
    for cells in ([*HEADER], [str(i) for i in range(1, len(HEADER) + 1)], *card_rows(row)):
        for cell, text in zip(table.add_row().cells, cells):
            _fill(cell, text)
    for cell in table.rows[0].cells:
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for label, key in (("Загальна кількість днів надання послуги -", "target_days"),
                       ("Загальна кількість днів (передбачена законодавством) -", "legal_days")):
        value = row.properties.get(key)
        if value:
            cells = table.add_row().cells
            cells[0].merge(cells[len(HEADER) - 2]).text = label
            cells[-1].text = value
    document.add_paragraph(LEGEND)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _fill(cell, text: str) -> None:
    lines = text.split("\n")
    cell.paragraphs[0].text = lines[0]
    for line in lines[1:]:
        cell.add_paragraph(line)
