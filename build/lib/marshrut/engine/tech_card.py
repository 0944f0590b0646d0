"""Reading a technological card (технологічна картка) from a DOCX file.

The card is a table: № з/п, stage, responsible unit(s), action (В/У/П/З), term; then the
totals of days (the norm and the one the law gives) and a legend. Real cards are typed by
hand, so the reader copes with merged cells, numbering such as "1. 2.", line breaks inside
cells, non-breaking spaces and Latin letters typed for Cyrillic ones. A table it cannot
read is refused with :class:`InvalidInput` saying what is missing.
"""

import io
import re
from dataclasses import dataclass, field

from marshrut.engine.errors import FieldError, InvalidInput
from marshrut.engine.roles import ACTIONS

MAX_DOCX_BYTES = 10 * 1024 * 1024

#: Latin letters that look like Cyrillic ones, as they slip into typed Ukrainian text.
_LATIN_TO_CYRILLIC = str.maketrans({
    "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "I": "І", "K": "К", "M": "М", "O": "О", "P": "Р",
    "T": "Т", "X": "Х", "Y": "У", "a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "x": "х",
    "y": "у",
})
#: In the action column a Latin P means П (погоджує) and a digit 3 means З (the legend's own typo).
_ACTION_LOOKALIKES = {"B": "В", "Y": "У", "P": "П", "Р": "П", "3": "З", "U": "У", "V": "В"}
_CYRILLIC = re.compile(r"[а-яіїєґ]", re.IGNORECASE)


@dataclass
class CardRow:
    """One stage of the card: its text, the units with their action codes, the term as written."""

    number: str
    stage: str
    units: list[tuple[str, str]]
    term: str
    days: int | None = None
    days_min: int | None = None
    committee: bool = False
    immediate: bool = False
    calendar_days: bool = False


@dataclass
class Card:
    title: str
    rows: list[CardRow]
    target_days: int | None = None
    legal_days: int | None = None
    legend: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def clean(text: str) -> str:
    """One line: line breaks, tabs and non-breaking spaces become single spaces."""
    text = text.replace("\u00a0", " ").replace("\u2011", "-").replace("\u2013", "-").replace("\u2014", "-")
    return re.sub(r"\s+", " ", text).strip()


def fix_lookalikes(text: str) -> str:
    """Replace Latin look-alike letters inside words that are otherwise Cyrillic."""
    def word(match: re.Match) -> str:
        token = match.group(0)
        return token.translate(_LATIN_TO_CYRILLIC) if _CYRILLIC.search(token) else token
    return re.sub(r"[^\W\d_]+", word, text)


def parse_docx(data: bytes) -> Card:
    """Read the card from DOCX bytes.

    :raise InvalidInput: not a DOCX, no table of stages, or a row whose action or term cannot be read.
    """
    import docx  # python-docx; imported here so the engine starts without it being loaded

    if len(data) > MAX_DOCX_BYTES:
        raise InvalidInput("Файл завеликий", [FieldError("file", f"Картка більша за {MAX_DOCX_BYTES // 1048576} МБ")])
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as err:  # python-docx raises zip, XML and package errors alike
        raise InvalidInput("Це не файл DOCX", [FieldError("file", f"Не вдалося відкрити DOCX: {type(err).__name__}")]) from err
    for table in document.tables:
        grid = _grid(table)
        columns = _columns(grid)
        if columns is not None:
            card = _read_table(grid, columns)
            card.title = _title(document)
            card.legend = _legend(document) or dict(ACTIONS)
            return card
    raise InvalidInput(
        "У файлі немає таблиці технологічної картки",
        [FieldError("file", "Не знайдено таблицю з колонками «Етапи послуги», «Відповідальна … особа / підрозділ», "
                            "«Дія (В, У, П, З)» і «Термін виконання»: перевірте, що картка оформлена таблицею Word")],
    )


def _grid(table) -> list[list[str]]:
    """Rows of cell texts; a cell spanning columns appears once, a cell spanning rows in each of them."""
    rows = []
    for row in table.rows:
        seen: set[int] = set()
        texts = []
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            texts.append("\n".join(p.text for p in cell.paragraphs))
        rows.append(texts)
    return rows


_HEADERS = {
    "stage": ("етап",),
    "unit": ("відповідальн", "структурний підрозділ", "виконавець"),
    "action": ("дія",),
    "term": ("термін", "строк"),
}


def _columns(grid: list[list[str]]) -> dict[str, int] | None:
    """Which column holds what, from the header row (the first row naming stage, action and term)."""
    for index, row in enumerate(grid[:4]):
        found: dict[str, int] = {"header_row": index}
        for col, text in enumerate(row):
            low = fix_lookalikes(clean(text)).lower()
            for name, needles in _HEADERS.items():
                if name not in found and any(n in low for n in needles):
                    found[name] = col
                    break
        if {"stage", "action", "term"} <= found.keys():
            found.setdefault("unit", found["action"] - 1)
            found["number"] = 0 if found["stage"] > 0 else -1
            return found
    return None


def _read_table(grid: list[list[str]], columns: dict[str, int]) -> Card:
    card = Card(title="", rows=[])
    width = max(columns[k] for k in ("stage", "unit", "action", "term")) + 1
    for line, row in enumerate(grid[columns["header_row"] + 1:], start=columns["header_row"] + 2):
        texts = [clean(t) for t in row]
        joined = " ".join(texts).lower()
        if not any(texts) or all(re.fullmatch(r"\d+\.?", t) for t in texts if t):
            continue  # blank, or the row numbering the columns "1 2 3 4 5"
        if "загальн" in joined and "днів" in joined:
            _read_total(card, texts, joined, line)
            continue
        if len(row) < width:
            raise _row_error(line, f"у рядку {len(row)} клітинок, а в заголовку {width}: об’єднані клітинки не дають "
                                   "прочитати етап, підрозділ, дію і строк")
        stage = fix_lookalikes(texts[columns["stage"]])
        units = _units(row[columns["unit"]], row[columns["action"]], line)
        term = texts[columns["term"]]
        number = texts[columns["number"]] if columns["number"] >= 0 else ""
        previous = card.rows[-1] if card.rows else None
        if previous is not None and (not stage or stage == previous.stage):
            # A stage cell merged down over several rows: more units of the same stage.
            previous.units += [u for u in units if u not in previous.units]
            continue
        if not stage:
            raise _row_error(line, "немає назви етапу")
        card.rows.append(_with_term(CardRow(number, stage, units, term), line))
    if not card.rows:
        raise InvalidInput("У таблиці картки немає етапів", [FieldError("table", "Таблиця знайдена, але в ній немає жодного етапу")])
    return card


def _read_total(card: Card, texts: list[str], joined: str, line: int) -> None:
    numbers = [int(n) for t in texts for n in re.findall(r"\d+", t)]
    if not numbers:
        card.warnings.append(f"Рядок {line}: у підсумку «{' '.join(texts)}» немає числа днів")
        return
    if "законодав" in joined or "закон" in joined:
        card.legal_days = numbers[-1]
    else:
        card.target_days = numbers[-1]


def _units(unit_text: str, action_text: str, line: int) -> list[tuple[str, str]]:
    """Pair the row's units with its action codes (two units in one cell, two codes in the other)."""
    codes = [_action(c, line) for c in re.split(r"[\s,;/]+", fix_lookalikes(action_text).strip()) if c]
    codes = [c for c in codes if c]
    if not codes:
        raise _row_error(line, f"не вказано дію (В, У, П або З): «{clean(action_text)}»")
    blocks = [clean(b) for b in re.split(r"\n\s*\n", unit_text) if clean(b)]
    lines = [clean(b) for b in unit_text.split("\n") if clean(b)]
    if len(codes) == 1:
        names = [clean(unit_text)]
    elif len(blocks) == len(codes):
        names = blocks
    elif len(lines) == len(codes):
        names = lines
    else:
        raise _row_error(line, f"дій {len(codes)} ({', '.join(codes)}), а підрозділів не стільки ж: "
                               "пишіть кожен підрозділ з нового рядка навпроти його дії")
    names = [fix_lookalikes(n) for n in names]
    if not all(names):
        raise _row_error(line, "не вказано відповідального підрозділу")
    return list(zip(names, codes))


def _action(code: str, line: int) -> str:
    code = code.strip(".()").upper()
    code = _ACTION_LOOKALIKES.get(code, code)
    if code not in ACTIONS:
        raise _row_error(line, f"невідома дія «{code}»: допустимі В, У, П, З")
    return code


_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)")
_NUMBER = re.compile(r"(\d+)")


def _with_term(row: CardRow, line: int) -> CardRow:
    """Read the term: "Протягом 1 дня", "3-4 днів", "1 та 3 середа місяця", "невідкладно"."""
    text = fix_lookalikes(row.term).lower()
    row.calendar_days = "календарн" in text
    if "серед" in text and "місяц" in text:
        row.committee, row.days = True, 1
    elif match := _RANGE.search(text):
        low, high = sorted((int(match.group(1)), int(match.group(2))))
        row.days_min, row.days = low, high
    elif match := _NUMBER.search(text):
        row.days = int(match.group(1))
    elif any(word in text for word in ("невідклад", "день звернення", "день надходження", "в день", "у день")):
        row.days, row.immediate = 0, True
    else:
        raise _row_error(line, f"не вдалося прочитати строк «{row.term}»: напишіть, наприклад, «Протягом 3 днів» або «3-4 днів»")
    return row


def _row_error(line: int, message: str) -> InvalidInput:
    return InvalidInput(f"Рядок {line} таблиці картки: {message}", [FieldError(f"table/row/{line}", message)])


def _title(document) -> str:
    """The service's name: the paragraph after "ТЕХНОЛОГІЧНА КАРТКА" (or the first non-empty one)."""
    paragraphs = [clean(p.text) for p in document.paragraphs if clean(p.text)]
    for index, text in enumerate(paragraphs):
        if "технологічна картка" in text.lower():
            rest = text.lower().split("технологічна картка", 1)[1].strip(" :")
            if rest:
                return text[len(text) - len(rest):]
            if index + 1 < len(paragraphs):
                return paragraphs[index + 1]
    return paragraphs[0] if paragraphs else ""


def _legend(document) -> dict[str, str]:
    """"Умовні позначки: В - виконує; У - бере участь; …" → ``{"В": "виконує", …}``."""
    for paragraph in document.paragraphs:
        text = clean(paragraph.text)
        if "умовні позначки" in text.lower():
            legend = {}
            for code, meaning in re.findall(r"(\S)\s*-\s*([^;.]+)", text.split(":", 1)[-1]):
                code = _ACTION_LOOKALIKES.get(code.upper(), code.upper())
                if code in ACTIONS:
                    legend[code] = meaning.strip()
            return legend
    return {}
