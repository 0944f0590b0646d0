"""Finding a case by what a caller says: its number, the applicant's surname or first name, a РНОКПП.

Search keys are stored on the case when it is registered (normalised: lower case, one kind of
apostrophe, no surrounding spaces), each in an indexed column compared bytewise (``COLLATE "C"``
on PostgreSQL, SQLite's default), so a prefix is a range scan of an index on both backends:
``key >= 'бонд' AND key < 'бонд\\U0010ffff'``.
"""

import re
import unicodedata
from typing import Any

from sqlalchemy import and_, or_

from marshrut.engine import audit
from marshrut.engine.models import Instance

#: Apostrophes people type in Ukrainian names (’ ' ʼ ‘ ` ′ ʹ): all read as the modifier letter ʼ.
_APOSTROPHES = re.compile("[\u2019'\u02bc\u2018`\u2032\u02b9]")
_SPACES = re.compile(r"\s+")
#: Above every character a key holds, so ``prefix + _TOP`` bounds the prefix's range.
_TOP = "\U0010ffff"
KEY_LENGTH = 100
RNOKPP = re.compile(r"^[0-9]{10}$")


def normalise(text: Any) -> str:
    """The key of a name or a query: NFC, lower case, one apostrophe, single spaces."""
    if not isinstance(text, str):
        return ""
    value = unicodedata.normalize("NFC", text).casefold()
    value = _APOSTROPHES.sub("\u02bc", value)
    return _SPACES.sub(" ", value).strip()[:KEY_LENGTH]


def applicant_name(data: dict[str, Any]) -> str | None:
    """``Бондаренко О. П.``: surname and initials from a start form, or None without a surname."""
    surname = data.get("surname")
    if not isinstance(surname, str) or not surname.strip():
        return None
    initials = [f"{part.strip()[0]}." for part in (data.get("first_name"), data.get("patronymic"))
                if isinstance(part, str) and part.strip()]
    return " ".join([surname.strip(), *initials])[:200]


def keys_of(data: dict[str, Any]) -> dict[str, Any]:
    """The search columns of a case registered with start form ``data``."""
    rnokpp = data.get("rnokpp")
    return {
        "search_surname": normalise(data.get("surname")) or None,
        "search_first_name": normalise(data.get("first_name")) or None,
        "search_rnokpp": rnokpp if isinstance(rnokpp, str) and RNOKPP.match(rnokpp) else None,
        "applicant_name": applicant_name(data),
    }


def fill(instance: Instance) -> None:
    """Set the case's search columns from its number and data (on registration)."""
    for column, value in keys_of(instance.data or {}).items():
        setattr(instance, column, value)
    instance.search_number = normalise(instance.number)


def _prefix(column: Any, prefix: str) -> Any:
    return and_(column >= prefix, column < prefix + _TOP)


def may_match_personal_data(query: str | None) -> bool:
    """Whether a query can find a case by a person's name or РНОКПП (such a search is audited)."""
    return bool(normalise(query))


def record(uow: Any, actor: Any, now: Any, query: str | None, found: int) -> None:
    """Audit a search that can match personal data: who looked for whom, and how many cases answered."""
    if may_match_personal_data(query):
        audit.record(uow, "cases_searched", actor.login, now, data={"q": query, "found": found})


def clause(query: str) -> Any:
    """SQL matching the cases a query names: number prefix, surname or first-name prefix
    (two words: surname then first name), or a РНОКПП exactly."""
    key = normalise(query)
    words = key.split(" ")
    options = [_prefix(Instance.search_number, key), _prefix(Instance.search_surname, key),
               _prefix(Instance.search_first_name, key)]
    if len(words) >= 2:
        options.append(and_(Instance.search_surname == words[0], _prefix(Instance.search_first_name, words[1])))
    if RNOKPP.match(key):
        options.append(Instance.search_rnokpp == key)
    return or_(*options)
