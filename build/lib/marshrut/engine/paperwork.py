"""The papers of the commission and the committee (SPEC §3.1, §6.1 ``paperwork``): who may make
them, from which cases, with what in them. Made from the cases' data at that moment and
audited in every case they name; the files themselves are drawn by :mod:`engine.paper_files`
from the templates in ``templates/`` that analysts edit.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from marshrut.engine import audit, definitions, paper_files, queries, reference
from marshrut.engine.batch import MAX_ID
from marshrut.engine.access import Actor
from marshrut.engine.context import Context
from marshrut.engine.errors import FieldError, Forbidden, InvalidInput, NotFound
from marshrut.engine.models import Instance
from marshrut.engine.store import UnitOfWork

ADDRESS_AID, ROADMAP = "address_aid", "social_services_roadmap"
MAX_CASES = 500
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Kind:
    """One paper: the steps it belongs to (their roles may make it), by process; one case only?"""

    title: str
    steps: dict[str, tuple[str, ...]]
    extension: str
    single: bool = False


KINDS = {
    "commission_minutes": Kind("Протокол засідання комісії", {
        ADDRESS_AID: ("prepare_commission_materials", "prepare_commission_minutes")}, "docx"),
    "committee_draft_decision": Kind("Проєкт рішення виконавчого комітету", {
        ADDRESS_AID: ("draft_committee_decision", "endorse_draft_decision", "record_committee_decision")}, "docx"),
    "payment_register": Kind("Реєстр на виплату", {ADDRESS_AID: ("prepare_payment_registers",)}, "xlsx"),
    "decision_notice": Kind("Повідомлення про рішення", {
        ADDRESS_AID: ("record_committee_decision", "notify_applicant"), ROADMAP: ("decide", "notify_decision")}, "docx", single=True),
}
#: Refusal grounds by key (card item 13), when the deployed form does not title them itself.
GROUNDS = {
    "not_working": "працездатні члени сім'ї не працювали і не навчалися за денною формою протягом трьох місяців, "
                   "що передують місяцю звернення (п. 13.1 інформаційної картки)",
    "income_above_line": "середньомісячний сукупний дохід на одного члена сім'ї перевищує 130 % прожиткового мінімуму "
                         "для осіб, які втратили працездатність (п. 13.2 інформаційної картки)",
    "other": "інша підстава",
}
GROUNDS["able_bodied_not_working"], GROUNDS["income_above_limit"] = GROUNDS["not_working"], GROUNDS["income_above_line"]


@dataclass(frozen=True)
class Paper:
    filename: str
    content_type: str
    content: bytes


def generate(uow: UnitOfWork, actor: Actor, ctx: Context, kind: str, instance_ids: list[int], options: dict[str, Any],
             templates_dir: Any) -> Paper:
    """Make the paper ``kind`` from the named cases as they stand now; each case's history records it.

    ``options``: ``number`` and ``date`` of the paper (minutes, draft decision), else taken from the cases.

    :raise NotFound: no such kind of paper. :raise Forbidden: not a role of its steps, nor a manager,
        or a case the actor may not see. :raise InvalidInput: ids missing, unknown, of another
        process, or cases not yet where the paper needs them.
    """
    paper = KINDS.get(kind)
    if paper is None:
        raise NotFound(f"Невідомий вид документа: {kind}")
    _check_role(uow, actor, paper)  # before any case is read: others learn nothing of the ids
    named = _cases(uow, kind, paper, instance_ids)
    # The register pays only those granted: the refused are absent from it (and not read for it).
    instances = [i for i in named if i.data.get("decision") == "granted"] if kind == "payment_register" else named
    if not instances:
        raise InvalidInput("Серед цих справ немає призначених допомог",
                           [FieldError("/instance_ids", "Жодна справа не має рішення «допомогу надано»")])
    _check_access(uow, actor, instances)
    now = ctx.now()
    today = ctx.calendar.local_date(now)
    rows = [_facts(uow, i) for i in instances]
    context: dict[str, Any] = {"dept": paper_files.requisites(templates_dir), "today": _ua(today.isoformat())}
    if kind == "commission_minutes":
        context.update(_minutes(rows, options))
    elif kind == "committee_draft_decision":
        context.update(_draft(rows, options))
    elif kind == "payment_register":
        context.update(_register(rows))
    else:
        context.update(_notice(rows[0]))
    template = templates_dir / f"{'roadmap_' if instances[0].process_key == ROADMAP else ''}{kind}.{paper.extension}"
    content = (paper_files.render_xlsx(template, context) if paper.extension == "xlsx"
               else paper_files.render_docx(template, context))
    paper_id = uuid.uuid4().hex
    for instance in instances:
        audit.record(uow, "paper_generated", actor.login, now, instance.id,
                     data={"kind": kind, "name": paper.title, "paper_id": paper_id, "cases": len(instances)})
    suffix = instances[0].number if paper.single else today.isoformat()
    return Paper(f"{kind}_{suffix}.{paper.extension}", XLSX if paper.extension == "xlsx" else DOCX, content)


def _cases(uow: UnitOfWork, kind: str, paper: Kind, instance_ids: list[int]) -> list[Instance]:
    errors = []
    if not instance_ids:
        errors.append(FieldError("/instance_ids", "Вкажіть щонайменше одну справу"))
    elif paper.single and len(instance_ids) != 1:
        errors.append(FieldError("/instance_ids", "Повідомлення складається для однієї справи"))
    elif len(instance_ids) > MAX_CASES or len(set(instance_ids)) != len(instance_ids):
        errors.append(FieldError("/instance_ids", f"Не більше {MAX_CASES} різних справ"))
    elif any(not 0 < i <= MAX_ID for i in instance_ids):
        errors.append(FieldError("/instance_ids", "Ідентифікатор справи — ціле число від 1 до 2147483647"))
    if errors:
        raise InvalidInput("Неправильний перелік справ", errors)
    found = {i.id: i for i in uow.session.scalars(select(Instance).where(Instance.id.in_(instance_ids)))}
    for index, instance_id in enumerate(instance_ids):
        instance = found.get(instance_id)
        if instance is None:
            errors.append(FieldError(f"/instance_ids/{index}", f"Справу {instance_id} не знайдено"))
        elif instance.process_key not in paper.steps:
            errors.append(FieldError(f"/instance_ids/{index}", f"Справа {instance.number} — іншого процесу"))
        elif paper.single and not instance.data.get("decision"):
            errors.append(FieldError(f"/instance_ids/{index}", f"У справі {instance.number} рішення ще не прийнято"))
        elif kind == "payment_register" and not instance.data.get("decision"):
            errors.append(FieldError(f"/instance_ids/{index}", f"У справі {instance.number} рішення виконкому ще немає"))
        elif kind in ("commission_minutes", "committee_draft_decision") and "eligibility_recommendation" not in instance.data:
            errors.append(FieldError(f"/instance_ids/{index}",
                                     f"Справа {instance.number} ще не пройшла перевірку права на допомогу"))
    if errors:
        raise InvalidInput("Документ не можна скласти з цих справ", errors)
    return [found[i] for i in instance_ids]


def _check_role(uow: UnitOfWork, actor: Actor, paper: Kind) -> None:
    """Managers, and the roles of the paper's steps (completing or taking part) in the processes' latest versions."""
    if actor.has("manager"):
        return
    roles: set[str] = set()
    for process_key, element_ids in paper.steps.items():
        definition = definitions.latest(uow, process_key, required=False)
        compiled = definitions.compiled(definition) if definition else None
        for element_id in element_ids:
            step = (compiled.step(element_id) if compiled else None) or {}
            roles.update([step.get("role") or "", *(p["role"] for p in step.get("participants") or [])])
    if not actor.roles & roles:
        raise Forbidden(f"«{paper.title}» складають лише виконавці відповідних кроків і керівництво")


def _check_access(uow: UnitOfWork, actor: Actor, instances: list[Instance]) -> None:
    """Every case of the paper visible to the actor (its personal data goes into the file)."""
    for instance in instances:
        if not queries.can_see(uow, actor, instance):
            raise Forbidden(f"Справа {instance.number} доступна лише ролям, залученим до неї, та керівництву")


def _facts(uow: UnitOfWork, instance: Instance) -> dict[str, Any]:
    """What the papers say of one case, from its data as it stands."""
    data = instance.data or {}
    names = [data.get("surname", ""), data.get("first_name", ""), data.get("patronymic", "")]
    minimum = _number(data.get("subsistence_minimum"))
    line = (minimum * Decimal("1.3")) if minimum is not None else None
    decision = data.get("decision")
    recommendation = {"granted": "grant", "refused": "refuse", "provide": "grant", "refuse": "refuse"}.get(
        decision or "", data.get("commission_recommendation") or data.get("eligibility_recommendation") or "")
    amount = _number(data.get("aid_amount") if decision else data.get("recommended_amount"))
    forms = definitions.compiled(queries.definition_of(uow, instance)).forms
    return {
        "id": instance.id, "number": instance.number, "surname": names[0], "first_name": names[1], "patronymic": names[2],
        "full_name": " ".join(n for n in names if n), "address": data.get("address", ""), "rnokpp": data.get("rnokpp", ""),
        "iban": data.get("iban", ""), "family_members": data.get("family_members", ""),
        "income_per_member": _money(_number(data.get("income_per_member"))), "line": _money(line),
        "above_line": bool(line is not None and (_number(data.get("income_per_member")) or 0) > line),
        "eligibility_reason": data.get("eligibility_reason", ""), "recommendation": recommendation,
        "recommendation_text": {"grant": "надати", "refuse": "відмовити"}.get(recommendation, "—"),
        "amount_value": amount or Decimal(0), "amount": _money(amount), "decision": decision,
        "decision_number": data.get("decision_number", ""), "decision_date": _ua(data.get("decision_date")),
        "ground": _ground(forms.get("record_committee_decision") or {}, data) or data.get("refusal_reason", ""),
        "minutes_number": data.get("minutes_number", ""), "minutes_date": _ua(data.get("minutes_date")),
        "commission_date": _ua(data.get("commission_date")), "received": _ua(str(data.get("received_date") or "")),
        "services": _services(data.get("services") or []), "decision_date_iso": data.get("decision_date", ""),
    }


def _minutes(rows: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    first = rows[0]
    numbered = [{**r, "n": n} for n, r in enumerate(rows, 1)]
    granted = [r for r in numbered if r["recommendation"] == "grant"]
    return {"number": options.get("number") or first["minutes_number"] or "____",
            "date": _ua(options.get("date")) if options.get("date") else (first["minutes_date"] or first["commission_date"]),
            "rows": numbered, "granted_count": len(granted), "refused_count": len(numbered) - len(granted),
            "total": _money(sum((r["amount_value"] for r in granted), Decimal(0)))}


def _draft(rows: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    granted = [{**r, "n": n} for n, r in enumerate((r for r in rows if r["recommendation"] == "grant"), 1)]
    refused = [{**r, "n": n} for n, r in enumerate((r for r in rows if r["recommendation"] != "grant"), 1)]
    first = rows[0]
    return {"number": options.get("number") or first["decision_number"] or "____",
            "date": _ua(options.get("date")) if options.get("date") else (first["decision_date"] or "____"),
            "granted": granted, "refused": refused, "total": _money(sum((r["amount_value"] for r in granted), Decimal(0))),
            "minutes_number": first["minutes_number"], "minutes_date": first["minutes_date"]}


def _register(rows: list[dict[str, Any]]) -> dict[str, Any]:
    paid = [{**r, "n": n} for n, r in enumerate((r for r in rows if r["decision"] == "granted"), 1)]
    decisions = sorted({(r["decision_number"], r["decision_date"]) for r in paid})
    return {"rows": paid, "count": len(paid), "total_value": sum((r["amount_value"] for r in paid), Decimal(0)),
            "decisions": "; ".join(f"№ {n} від {d}" for n, d in decisions)}


def _notice(row: dict[str, Any]) -> dict[str, Any]:
    return {"case": row, "granted": row["decision"] in ("granted", "provide")}


def _ground(form: dict[str, Any], data: dict[str, Any]) -> str:
    key = data.get("refusal_ground")
    if not key:
        return data.get("refusal_ground_text") or ""
    choices = ((form.get("properties") or {}).get("refusal_ground") or {}).get("oneOf") or []
    title = next((c.get("title") for c in choices if c.get("const") == key), None) or GROUNDS.get(key, key)
    text = data.get("refusal_ground_text")
    return f"{title}: {text}" if text else title


def _services(codes: list[Any]) -> list[dict[str, Any]]:
    found = []
    for code in codes:
        service = reference.service(int(code)) if str(code).isdigit() else None
        found.append({"code": code, "name": service["name"] if service else str(code)})
    return found


def _number(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _money(value: Decimal | None) -> str:
    """``3000`` → ``3 000,00`` (the Ukrainian way)."""
    if value is None:
        return ""
    text = f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"
    return text.replace(",", " ").replace(".", ",")


def _ua(iso: str | None) -> str:
    """``2026-02-18`` → ``18.02.2026``; anything else as it is."""
    if not iso:
        return ""
    try:
        return date.fromisoformat(str(iso)[:10]).strftime("%d.%m.%Y")
    except ValueError:
        return str(iso)
