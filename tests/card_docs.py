"""Technological cards as DOCX files, written with python-docx for the tests.

``seed_card`` is seed 004's card as the department typed it (numbering "1. 2.", terms broken
over lines, two units in one cell, totals in merged cells, the legend's "3" for З). The
others are services the product has never seen, in other shapes.
"""

import io

import docx

HEADER = ["№\n\nп", "Етапи послуги", "Відповідальна посадова особа і структурний підрозділ", "Дія\n\n(В, У, П, З)",
          "Термін виконання (днів)"]

SEED_TITLE = ("надання адресних соціальних допомог пенсіонерам, інвалідам, малозабезпеченим верствам населення "
              "та інших категорій громадян міста Житомира")
SEED_ROWS = [
    ["1.", "Прийом і перевірка повноти пакету документів, повідомлення замовника про орієнтовний термін виконання",
     "Відділ реалізації міських соціальних програм", "В", "Протягом\n1 дня"],
    ["1. 2.", "Формування особової справи заявника узагальнюється актом обстеження умов проживання заявника за "
              "результатами розгляду звернення та документів ", "Відділ реалізації міських соціальних програм", "В",
     "Протягом\n1 дня"],
    ["", "Реєстрація заяви через відділ звернень громадян ", "Управління звернень та діловодства  Житомирської міської ради ",
     "В", "Протягом\n3-4 днів"],
    ["", "Передача пакету документів директору департаменту соціальної політики Житомирської міської ради для ознайомлення",
     "Головний спеціаліст відділу організаційної роботи департаменту соціальної політики міської ради ", "В",
     "Протягом \n\n2 днів"],
    ["", "Накладання відповідної резолюції і передача документів головному спеціалісту відділу організаційної роботи "
         "департаменту соціальної політики міської ради ", "Директор департаменту соціальної політики Житомирської міської ради ",
     "П", "Протягом\n1-2 дня"],
    ["", "Передача пакету документів виконавцю (начальнику відділу реалізації міських соціальних програм)",
     "Головний спеціаліст відділу організаційної роботи департаменту соціальної політики міської ради", "В",
     "Протягом \n\n1дня"],
    ["2. 3.", "Підготовка матеріалів на засідання комісії з питань надання  соціальних допомог громадянам міста ",
     "заступник відділу реалізації міських соціальних програм ", "В", "Протягом\n3-4 днів"],
    ["3. ", "Підготовка протоколів засідання комісії з питань надання адресних матеріальних допомог",
     "Заступник відділу реалізації міських соціальних програм", "В", "Протягом\n1-2 дня"],
    ["4. 4.", "Підготовка проекту рішення виконавчого комітету Житомирської міської ради",
     "Заступник відділу реалізації міських соціальних програм", "В", "Протягом\n1-2 днів"],
    ["5. 6.", "Візування проекту рішення виконавчого комітету житомирської міської ради \n",
     "Начальник відділ реалізації міських соціальних програм", "В", "Протягом\n1-2 днів"],
    ["6. ", "Засідання виконавчого комітету Житомирської міської ради ",
     "Начальник відділу реалізації міських соціальних програм", "У", "1 та 3 середа місяця "],
    ["7. 7.", "Підготовка реєстрів на виплату адресних соціальних допомог пенсіонерам, інвалідам, малозахищеним верстам "
              "населення та іншим категорія громадян міста Житомира ",
     "Начальник відділу реалізації міських соціальних програм \n\nНачальник відділу бухгалтерського обліку і звітності",
     "У\n\nВ\n\n", "Протягом\n20 днів"],
    ["8. 8.", "Повідомлення заявника  про призначення (відмову) соціальної допомоги", "Відділ реалізації міських соціальних",
     "В\n\n", "Протягом\n20 днів"],
]
SEED_TOTALS = [("Загальна кількість днів надання послуги -", "20"),
               ("Загальна кількість днів (передбачена законодавством) -", "30")]
LEGEND = "Умовні позначки: В - виконує; У - бере участь; П - погоджує; 3 - затверджує."


def _set(cell, text: str) -> None:
    """Put ``text`` in a cell, one paragraph per line (as Word keeps line breaks typed with Enter)."""
    lines = text.split("\n")
    cell.paragraphs[0].text = lines[0]
    for line in lines[1:]:
        cell.add_paragraph(line)


def build(title: str, header: list[str], rows: list[list[str]], totals: list[tuple[str, str]], legend: str = LEGEND,
          numbering_row: bool = True, merge_down: list[tuple[int, int, int]] = (), information_card: bool = False) -> bytes:
    """A card document. ``merge_down``: (first row, last row, column) of rows whose cell is merged vertically;
    ``information_card``: the service's information card (another table) comes first, as in seed 004."""
    document = docx.Document()
    if information_card:
        document.add_paragraph("Інформаційна картка адміністративної послуги")
        info = document.add_table(rows=3, cols=3)
        for row, (number, label, value) in zip(info.rows, [
                ("1.", "Місцезнаходження суб’єкта надання адміністративної послуги", "м. Житомир, майдан С.П. Корольова, 7"),
                ("2.", "Строк надання адміністративної послуги", "20 днів"),
                ("3.", "Перелік підстав для відмови у наданні адміністративної послуги", "Дохід вище 130 %")]):
            row.cells[0].text, row.cells[1].text, row.cells[2].text = number, label, value
    document.add_paragraph("ТЕХНОЛОГІЧНА КАРТКА")
    document.add_paragraph(title)
    width = len(header)
    table = document.add_table(rows=0, cols=width)
    for cell, text in zip(table.add_row().cells, header):
        _set(cell, text)
    if numbering_row:
        for index, cell in enumerate(table.add_row().cells, start=1):
            cell.text = str(index)
    first_body = len(table.rows)
    for row in rows:
        for cell, text in zip(table.add_row().cells, row):
            _set(cell, text)
    for first, last, column in merge_down:
        top = table.cell(first_body + first, column)
        keep = top.text
        merged = top.merge(table.cell(first_body + last, column))
        for paragraph in merged.paragraphs[1:]:
            paragraph._p.getparent().remove(paragraph._p)
        merged.paragraphs[0].text = keep
    for label, days in totals:
        cells = table.add_row().cells
        label_cell = cells[0].merge(cells[width - 2])
        label_cell.text = label
        cells[width - 1].text = days
    document.add_paragraph(legend)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def seed_card(information_card: bool = False) -> bytes:
    """Seed 004's technological card (address aid), optionally after its information card."""
    return build(SEED_TITLE, HEADER, SEED_ROWS, SEED_TOTALS, information_card=information_card)


def housing_card() -> bytes:
    """A housing-subsidy card: no column-numbering row, a stage over two merged rows (В and У
    on separate rows), a Latin «B» and «P» typed for В and П, a term in working days, a unit the
    product does not know, and a "within 10 days" row equal to the card's norm."""
    header = ["№ з/п", "Етапи опрацювання звернення", "Відповідальна особа (структурний підрозділ)", "Дія (В,У,П,З)",
              "Термін виконання (днів)"]
    rows = [
        ["1.", "Прийом заяви та декларації про доходи", "Сектор житлових субсидій", "B", "Протягом 1 робочого дня"],
        ["2.", "Перевірка доходів за даними ДПС і ПФУ", "Сектор житлових субсидій", "В", "2-3 днів"],
        ["2.", "Перевірка доходів за даними ДПС і ПФУ", "Відділ реалізації міських соціальних програм", "У", "2-3 днів"],
        ["3.", "Погодження розрахунку субсидії", "Директор департаменту соціальної політики", "P", "Протягом 1-2 днів"],
        ["4.", "Повідомлення заявника про призначення субсидії", "Сектор житлових субсидій", "В", "Протягом 10 днів"],
    ]
    totals = [("Загальна кількість днів надання послуги", "10"),
              ("Загальна кількість днів (передбачена законодавством)", "10")]
    return build("призначення житлової субсидії", header, rows, totals, numbering_row=False, merge_down=[(1, 2, 1)])


def certificate_card() -> bytes:
    """A certificate card with a different column order (term before action is not used; the
    number column is absent), one approval (З) step by a new unit and a same-day step."""
    header = ["Етап", "Відповідальний структурний підрозділ", "Дія", "Строк"]
    rows = [
        ["Реєстрація звернення в день надходження", "Центр надання адміністративних послуг", "В", "У день звернення"],
        ["Підготовка довідки про склад сім’ї", "Фахівець департаменту соціальної політики", "В", "3 дні"],
        ["Затвердження довідки", "Заступник міського голови з питань діяльності виконавчих органів", "З", "1 день"],
        ["Видача довідки заявникові", "Центр надання адміністративних послуг", "В", "1 день"],
    ]
    totals = [("Загальна кількість днів надання послуги:", "5"),
              ("Загальна кількість днів (передбачена законодавством):", "10")]
    return build("видача довідки про склад сім’ї", header, rows, totals, numbering_row=False)


def unreadable_card() -> bytes:
    """A document with a table that is not a technological card."""
    document = docx.Document()
    document.add_paragraph("Перелік документів")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Документ", "Кількість"
    table.cell(1, 0).text, table.cell(1, 1).text = "Паспорт", "1"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
