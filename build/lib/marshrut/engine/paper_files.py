"""Drawing the papers from the templates analysts edit (``templates/``): DOCX through docxtpl
(Jinja tags inside a Word document), XLSX through openpyxl (a workbook whose cells hold the
same tags; the row with ``{{ r.… }}`` cells is repeated for every row of the paper).

Templates are rendered in Jinja's sandbox: they are edited by people, not written by the team.
"""

import io
import json
import re
from copy import copy
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment
from openpyxl import load_workbook

_ONE_VALUE = re.compile(r"^\{\{\s*([A-Za-z_][\w.]*)\s*\}\}$")
_ENV = SandboxedEnvironment(autoescape=False)


@cache
def _requisites(path: Path, _mtime: float) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def requisites(templates_dir: Path) -> dict[str, Any]:
    """The department's requisites (``templates/requisites.json``), for every paper's letterhead."""
    path = Path(templates_dir) / "requisites.json"
    return dict(_requisites(path, path.stat().st_mtime))


def render_docx(template: Path, context: dict[str, Any]) -> bytes:
    """The Word template filled with ``context``, as the bytes of a .docx file."""
    document = DocxTemplate(str(template))
    document.render(context, jinja_env=SandboxedEnvironment(), autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def render_xlsx(template: Path, context: dict[str, Any]) -> bytes:
    """The workbook template filled with ``context``: tags replaced in every cell of the first
    sheet, the row whose cells name ``r.…`` repeated for each of ``context["rows"]``."""
    book = load_workbook(str(template))
    sheet = book.worksheets[0]
    row_at = next((cell.row for row in sheet.iter_rows() for cell in row
                   if isinstance(cell.value, str) and "{{ r." in cell.value.replace("{{r.", "{{ r.")), None)
    rows = list(context.get("rows") or [])
    if row_at is not None:
        pattern = [(cell.column, cell.value, copy(cell._style)) for cell in sheet[row_at]]
        height = sheet.row_dimensions[row_at].height
        if len(rows) > 1:
            sheet.insert_rows(row_at + 1, len(rows) - 1)
        elif not rows:
            sheet.delete_rows(row_at)
        for offset, item in enumerate(rows):
            target = row_at + offset
            sheet.row_dimensions[target].height = height
            for column, value, style in pattern:
                cell = sheet.cell(row=target, column=column)
                cell._style = copy(style)
                cell.value = _cell_value(value, {**context, "r": item})
    skip = range(row_at, row_at + len(rows)) if row_at is not None else range(0)
    for row in sheet.iter_rows():
        for cell in row:
            if cell.row not in skip and isinstance(cell.value, str) and "{{" in cell.value:
                cell.value = _cell_value(cell.value, context)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell_value(text: Any, context: dict[str, Any]) -> Any:
    """A cell that is one tag keeps its value's type (numbers stay numbers); others become text."""
    if not isinstance(text, str) or "{{" not in text:
        return text
    single = _ONE_VALUE.match(text.strip())
    if single:
        value: Any = context
        for part in single.group(1).split("."):
            value = value.get(part) if isinstance(value, dict) else None  # data only, no attributes
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        return "" if value is None else str(value)
    return _ENV.from_string(text).render(context)
