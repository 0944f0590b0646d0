"""The roles Marshrut knows, and the action codes of the technological card."""

#: Role key -> Ukrainian name shown to people.
ROLES: dict[str, str] = {
    "programs_dept": "Відділ реалізації міських соціальних програм",
    "programs_deputy": "Заступник начальника відділу реалізації міських соціальних програм",
    "programs_head": "Начальник відділу реалізації міських соціальних програм",
    "appeals_office": "Управління звернень та діловодства",
    "org_specialist": "Головний спеціаліст відділу організаційної роботи",
    "director": "Директор департаменту соціальної політики",
    "accounting_head": "Начальник відділу бухгалтерського обліку і звітності",
    "dept_specialist": "Фахівець департаменту соціальної політики",
    "case_manager": "Кейс-менеджер надавача соціальних послуг",
    "provider": "Надавач соціальних послуг",
    "intake": "Прийом звернень (портал, «Прозорий офіс»)",
    "manager": "Керівництво департаменту (контроль строків)",
    "analyst": "Аналітик процесів",
    "admin": "Адміністратор",
}

#: Roles that see every case and every task (read-only unless they hold the step's role).
#: Managers only: an admin administers (the clock, worker passes, cancellations) and reads no
#: case's personal data unless involved in it (SPEC §8).
OVERSEER_ROLES = frozenset({"manager"})

#: Roles that may register a new case (SPEC §6: intake roles, dept_specialist, programs_dept, admin).
INTAKE_ROLES = frozenset({"intake", "dept_specialist", "programs_dept", "admin"})

#: Action codes of the card's legend (Cyrillic letters).
EXECUTES, PARTICIPATES, APPROVES, CONFIRMS = "В", "У", "П", "З"
ACTIONS: dict[str, str] = {
    EXECUTES: "виконує",
    PARTICIPATES: "бере участь",
    APPROVES: "погоджує",
    CONFIRMS: "затверджує",
}

#: Latin look-alikes analysts type by mistake -> the Cyrillic letter meant.
LATIN_LOOKALIKES: dict[str, str] = {"B": "В", "Y": "У", "P": "П", "3": "З"}
