"""Write the papers' starting templates into ``templates/`` (run from the repository root:
``.venv/bin/python scripts/make_paper_templates.py``).

The files it writes are committed; analysts then edit them in Word / LibreOffice / Excel and
commit their edits. Run this again only to start over (it overwrites the .docx and .xlsx files).
Tags are Jinja's, as docxtpl reads them: ``{{ value }}``, ``{%p if … %}`` for a paragraph,
``{%tr for r in rows %}`` for a table row; the fields each paper gets are listed in
``docs/paperwork.md``.
"""

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Cm, Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "templates"


def new_document(landscape: bool = False) -> Document:
    document = Document()
    style = document.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(12)
    section = document.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    section.left_margin = section.right_margin = Cm(2)
    return document


def para(document: Document, text: str, bold: bool = False, center: bool = False, size: int | None = None) -> None:
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER


def letterhead(document: Document) -> None:
    para(document, "{{ dept.name }}", bold=True, center=True, size=13)
    para(document, "{{ dept.address }}, тел. {{ dept.phone }}, факс {{ dept.fax }}, e-mail {{ dept.email }}", center=True, size=10)


def table(document: Document, headers: list[str], cells: list[str], loop: str, total: list[str] | None = None,
          widths: list[float] | None = None) -> None:
    """A table: the header, one row repeated by docxtpl (``{%tr for … %}``), an optional total row;
    ``widths`` of the columns in cm."""
    rows = [headers, [f"{{%tr for {loop} %}}"] + [""] * (len(headers) - 1), cells, ["{%tr endfor %}"] + [""] * (len(headers) - 1)]
    if total:
        rows.append(total)
    grid = document.add_table(rows=len(rows), cols=len(headers))
    grid.style = "Table Grid"
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            grid.cell(r, c).text = value
            if r == 0 or (total and r == len(rows) - 1):
                for run in grid.cell(r, c).paragraphs[0].runs:
                    run.bold = True
            if widths:
                grid.cell(r, c).width = Cm(widths[c])
    grid.autofit = not widths
    for c, width in enumerate(widths or []):
        grid.columns[c].width = Cm(width)  # the grid LibreOffice reads; Word reads the cells'


def commission_minutes() -> None:
    document = new_document(landscape=True)
    letterhead(document)
    para(document, "ПРОТОКОЛ № {{ number }}", bold=True, center=True, size=14)
    para(document, "засідання комісії з питань надання адресних соціальних допомог громадянам міста", center=True)
    para(document, "м. Житомир, {{ date }}")
    para(document, "Розглянуто заяви {{ rows|length }} громадян про надання адресної соціальної допомоги (пп. 8, 13 "
                   "інформаційної картки). Дохід на члена сім'ї порівнюється зі 130 % прожиткового мінімуму для осіб, "
                   "які втратили працездатність, на дату звернення.")
    table(document, ["№", "Справа", "Заявник", "Адреса", "Членів сім'ї", "Дохід на члена сім'ї, грн", "130 % ПМ, грн",
                     "Рекомендація", "Сума, грн"],
          ["{{ r.n }}", "{{ r.number }}", "{{ r.full_name }}", "{{ r.address }}", "{{ r.family_members }}",
           "{{ r.income_per_member }}", "{{ r.line }}", "{{ r.recommendation_text }}", "{{ r.amount }}"], "r in rows",
          widths=[0.9, 2.8, 4.2, 5.5, 1.8, 2.6, 2.3, 2.6, 2.3])
    para(document, "")
    para(document, "ВИРІШИЛИ: рекомендувати виконавчому комітету надати адресну соціальну допомогу {{ granted_count }} "
                   "заявникам на загальну суму {{ total }} грн; відмовити {{ refused_count }} заявникам.")
    para(document, "")
    para(document, "Голова комісії ____________________        Секретар комісії ____________________")
    document.save(OUT / "commission_minutes.docx")


def committee_draft_decision() -> None:
    document = new_document()
    para(document, "ЖИТОМИРСЬКА МІСЬКА РАДА", bold=True, center=True, size=14)
    para(document, "ВИКОНАВЧИЙ КОМІТЕТ", bold=True, center=True)
    para(document, "ПРОЄКТ РІШЕННЯ", bold=True, center=True)
    para(document, "від {{ date }} № {{ number }}                                            м. Житомир")
    para(document, "Про надання адресної соціальної допомоги", bold=True)
    para(document, "Розглянувши заяви громадян, подані до {{ dept.name_genitive }}{% if minutes_number %}, та протокол засідання "
                   "комісії з питань надання адресних соціальних допомог від {{ minutes_date }} № {{ minutes_number }}"
                   "{% endif %}, виконавчий комітет міської ради ВИРІШИВ:")
    para(document, "1. Надати адресну соціальну допомогу громадянам міста згідно з додатком 1 на загальну суму {{ total }} грн.")
    para(document, "{%p if refused %}")
    para(document, "2. Відмовити в наданні адресної соціальної допомоги громадянам згідно з додатком 2.")
    para(document, "{%p endif %}")
    para(document, "{% if refused %}3{% else %}2{% endif %}. {{ dept.name_genitive }} забезпечити виплату допомоги згідно з реєстром.")
    para(document, "")
    para(document, "Міський голова ____________________")
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    para(document, "Додаток 1 до рішення виконавчого комітету від {{ date }} № {{ number }}")
    para(document, "СПИСОК громадян, яким надається адресна соціальна допомога", bold=True, center=True)
    table(document, ["№", "Прізвище, ім'я, по батькові", "Адреса", "Сума, грн"],
          ["{{ g.n }}", "{{ g.full_name }}", "{{ g.address }}", "{{ g.amount }}"], "g in granted",
          total=["", "Разом: {{ granted|length }} осіб", "", "{{ total }}"], widths=[1.0, 5.5, 7.0, 3.0])
    para(document, "{%p if refused %}")
    para(document, "Додаток 2 до рішення виконавчого комітету від {{ date }} № {{ number }}")
    para(document, "СПИСОК громадян, яким відмовлено в наданні адресної соціальної допомоги", bold=True, center=True)
    table(document, ["№", "Прізвище, ім'я, по батькові", "Адреса", "Підстава відмови"],
          ["{{ f.n }}", "{{ f.full_name }}", "{{ f.address }}", "{{ f.ground or f.eligibility_reason }}"], "f in refused",
          widths=[1.0, 4.5, 4.5, 6.5])
    para(document, "{%p endif %}")
    para(document, "Керуючий справами виконавчого комітету ____________________")
    document.save(OUT / "committee_draft_decision.docx")


def decision_notice() -> None:
    document = new_document()
    letterhead(document)
    para(document, "{{ case.full_name }}", bold=True)
    para(document, "{{ case.address }}")
    para(document, "ПОВІДОМЛЕННЯ", bold=True, center=True, size=14)
    para(document, "про {% if granted %}призначення{% else %}відмову в призначенні{% endif %} адресної соціальної допомоги",
         center=True)
    para(document, "Справа № {{ case.number }}")
    para(document, "{%p if granted %}")
    para(document, "Повідомляємо, що рішенням виконавчого комітету Житомирської міської ради від {{ case.decision_date }} "
                   "№ {{ case.decision_number }} Вам призначено адресну соціальну допомогу в розмірі {{ case.amount }} грн.")
    para(document, "{%p else %}")
    para(document, "Повідомляємо, що рішенням виконавчого комітету Житомирської міської ради від {{ case.decision_date }} "
                   "№ {{ case.decision_number }} Вам відмовлено в наданні адресної соціальної допомоги.")
    para(document, "Підстава відмови: {{ case.ground }}.")
    para(document, "{%p endif %}")
    para(document, "Довідки за телефоном {{ dept.phone }}, e-mail {{ dept.email }}.")
    para(document, "")
    para(document, "Директор департаменту ____________________                {{ today }}")
    document.save(OUT / "decision_notice.docx")


def roadmap_decision_notice() -> None:
    document = new_document()
    letterhead(document)
    para(document, "{{ case.full_name }}", bold=True)
    para(document, "{{ case.address }}")
    para(document, "ПОВІДОМЛЕННЯ", bold=True, center=True, size=14)
    para(document, "про {% if granted %}надання{% else %}відмову в наданні{% endif %} соціальних послуг", center=True)
    para(document, "Справа № {{ case.number }}, звернення від {{ case.received }}")
    para(document, "{%p if granted %}")
    para(document, "За результатами оцінювання Ваших потреб рішенням від {{ case.decision_date }} Вам надаватимуться "
                   "соціальні послуги:")
    para(document, "{%p for s in case.services %}")
    para(document, "— {{ s.name }} (№ {{ s.code }} за переліком)")
    para(document, "{%p endfor %}")
    para(document, "{%p else %}")
    para(document, "Рішенням від {{ case.decision_date }} Вам відмовлено в наданні соціальних послуг.")
    para(document, "Причина: {{ case.ground }}.")
    para(document, "{%p endif %}")
    para(document, "Гаряча лінія {{ dept.hotline }}; «Прозорий офіс»: {{ dept.transparent_office }}.")
    para(document, "")
    para(document, "Директор департаменту ____________________                {{ today }}")
    document.save(OUT / "roadmap_decision_notice.docx")


def payment_register() -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Реєстр"
    bold, thin = Font(bold=True), Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    titles = ["{{ dept.name }}", "РЕЄСТР на виплату адресної соціальної допомоги",
              "згідно з рішенням виконавчого комітету Житомирської міської ради {{ decisions }}", "Сформовано {{ today }}"]
    for row, text in enumerate(titles, 1):
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=9)
        sheet.cell(row=row, column=1, value=text).font = Font(bold=row <= 2)
        sheet.cell(row=row, column=1).alignment = Alignment(horizontal="center")
    headers = ["№", "Прізвище", "Ім'я", "По батькові", "РНОКПП", "IBAN", "Сума, грн", "№ рішення", "Дата рішення"]
    cells = ["{{ r.n }}", "{{ r.surname }}", "{{ r.first_name }}", "{{ r.patronymic }}", "{{ r.rnokpp }}", "{{ r.iban }}",
             "{{ r.amount_value }}", "{{ r.decision_number }}", "{{ r.decision_date }}"]
    totals = ["", "Разом: {{ count }} осіб", "", "", "", "", "{{ total_value }}", "", ""]
    for column, (header, cell, total) in enumerate(zip(headers, cells, totals, strict=True), 1):
        for row, value in ((6, header), (7, cell), (8, total)):
            target = sheet.cell(row=row, column=column, value=value)
            target.border = box
            target.font = Font(bold=row != 7)
            if column == 7 and row != 6:
                target.number_format = "#,##0.00"
            if column in (5, 6) and row == 7:
                target.number_format = "@"
    for column, width in zip("ABCDEFGHI", (5, 18, 14, 18, 13, 32, 13, 11, 13), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.cell(row=10, column=2, value="Начальник відділу бухгалтерського обліку і звітності ____________________")
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "6:6"
    book.save(OUT / "payment_register.xlsx")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for make in (commission_minutes, committee_draft_decision, decision_notice, roadmap_decision_notice, payment_register):
        make()
    print(f"templates written to {OUT}")
