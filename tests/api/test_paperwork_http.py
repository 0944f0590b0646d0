"""Four applicants from the commission's materials to the payment register through batch completion,
and the papers made on the way (SPEC §3.1, §6.1), each opened with python-docx / openpyxl."""

import io
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook

from marshrut.engine.models import Instance
from tests.api.conftest import Http, problem
from tests.integration.engine_walk import Walker
from tests.meeting_cases import APPLICANTS, REFUSED_SURNAME, cases_at
from tests.walks import APPLICATION, ROADMAP_APPLICATION, ROADMAP_STEPS

AMOUNTS = {"Шевченко": 3000, "Коваленко": 2000, "Ткаченко": 4500}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def walker(api: Http, db, settings, actors) -> Walker:
    return Walker(db, settings, actors)


def batch(api: Http, role: str, element_id: str, data: dict[str, Any], per_case: dict[int, dict[str, Any]] | None = None) -> None:
    items = api.as_(role).tasks(element_id=element_id, per_page=500)
    by_case = {t["instance_id"]: t["id"] for t in items}
    body = {"task_ids": list(by_case.values()), "data": data,
            "per_task": {str(by_case[c]): extra for c, extra in (per_case or {}).items()}}
    results = api.as_(role).post("/tasks/complete-batch", json=body).json["results"]
    assert [r["status"] for r in results] == [200] * len(by_case), results


def paper(api: Http, role: str, kind: str, ids: list[int], expect: int = 200, **options: Any) -> Any:
    return api.as_(role).post(f"/paperwork/{kind}", expect, json={"instance_ids": ids, **options})


def docx_text(response: Any) -> str:
    assert response.mimetype == DOCX
    assert response.headers["Content-Disposition"].startswith("attachment;")
    document = Document(io.BytesIO(response.data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    text = "\n".join(lines)
    assert "{{" not in text and "{%" not in text, text
    return text


def table_rows(response: Any, index: int) -> list[list[str]]:
    document = Document(io.BytesIO(response.data))
    return [[cell.text for cell in row.cells] for row in document.tables[index].rows]


@pytest.fixture
def meeting(api: Http, walker: Walker) -> dict[str, int]:
    """The four cases after the commission's minutes: three recommended for aid, one (Бондар) not."""
    ids = cases_at(walker, "prepare_commission_materials")
    by_name = {a["surname"]: i for a, i in zip(APPLICANTS, ids, strict=True)}
    batch(api, "programs_deputy", "prepare_commission_materials", {"commission_date": "2026-02-10"})
    batch(api, "programs_deputy", "prepare_commission_minutes", {"minutes_number": "5", "minutes_date": "2026-02-10"}, {
        **{by_name[s]: {"commission_recommendation": "grant", "recommended_amount": a} for s, a in AMOUNTS.items()},
        by_name[REFUSED_SURNAME]: {"commission_recommendation": "refuse"},
    })
    return by_name


def decide(api: Http, meeting: dict[str, int]) -> None:
    """Draft, endorsement and the committee's decisions on Wed 2026-02-18, all as batches."""
    batch(api, "programs_deputy", "draft_committee_decision", {"draft_summary": "Про надання адресної соціальної допомоги"})
    api.set_clock("2026-02-12T15:00:00+02:00")
    batch(api, "programs_head", "endorse_draft_decision", {"endorsed": True})
    api.set_clock("2026-02-18T09:00:00+02:00")
    assert api.tick()["timers_fired"] == 4
    [task] = [t for t in api.as_("programs_head").tasks(element_id="record_committee_decision")
              if t["instance_id"] == meeting[REFUSED_SURNAME]]
    form = api.as_("programs_head").get(f"/tasks/{task['id']}").json["form"]
    income_ground = next(c["const"] for c in form["properties"]["refusal_ground"]["oneOf"] if "income" in c["const"])
    batch(api, "programs_head", "record_committee_decision", {"decision_number": "123", "decision_date": "2026-02-18"}, {
        **{meeting[s]: {"decision": "granted", "aid_amount": a} for s, a in AMOUNTS.items()},
        meeting[REFUSED_SURNAME]: {"decision": "refused", "refusal_ground": income_ground},
    })


def test_the_commission_s_minutes_list_every_applicant_with_income_against_the_line_and_the_recommendation(api, meeting):
    ids = list(meeting.values())
    text = docx_text(paper(api, "programs_deputy", "commission_minutes", ids))

    assert "Департамент соціальної політики Житомирської міської ради" in text
    assert "майдан С.П. Корольова, буд. 7" in text and "ПРОТОКОЛ № 5" in text and "10.02.2026" in text
    rows = {r[2]: r for r in table_rows(paper(api, "programs_deputy", "commission_minutes", ids), 0)[1:]}
    assert set(rows) == {"Шевченко Марія Іванівна", "Коваленко Петро Миколайович", "Бондар Олена Василівна",
                         "Ткаченко Іван Петрович"}
    shevchenko = rows["Шевченко Марія Іванівна"]
    assert shevchenko[3] == APPLICANTS[0]["address"]
    assert shevchenko[4:] == ["2", "2 000,00", "3 373,50", "надати", "3 000,00"]
    assert rows["Бондар Олена Василівна"][4:8] == ["1", "5 000,00", "3 373,50", "відмовити"]
    assert "надати адресну соціальну допомогу 3 заявникам на загальну суму 9 500,00 грн; відмовити 1" in text


def test_the_draft_decision_has_the_annex_of_granted_applicants_with_amounts_and_the_refusals_with_grounds(api, meeting):
    batch(api, "programs_deputy", "draft_committee_decision", {"draft_summary": "Проєкт"})
    response = paper(api, "programs_deputy", "committee_draft_decision", list(meeting.values()), number="П-12", date="2026-02-18")
    text = docx_text(response)

    assert "ПРОЄКТ РІШЕННЯ" in text and "від 18.02.2026 № П-12" in text and "протокол засідання" in text
    granted, refused = table_rows(response, 0), table_rows(response, 1)
    assert [r[1:] for r in granted[1:-1]] == [
        ["Шевченко Марія Іванівна", APPLICANTS[0]["address"], "3 000,00"],
        ["Коваленко Петро Миколайович", APPLICANTS[1]["address"], "2 000,00"],
        ["Ткаченко Іван Петрович", APPLICANTS[3]["address"], "4 500,00"]]
    assert granted[-1][1:] == ["Разом: 3 осіб", "", "9 500,00"]
    assert refused[1][1:3] == ["Бондар Олена Василівна", APPLICANTS[2]["address"]]
    assert "130 %" in refused[1][3]


def test_the_payment_register_lists_the_granted_applicants_with_totals_and_leaves_the_refused_one_out(api, meeting):
    decide(api, meeting)
    response = paper(api, "accounting_head", "payment_register", list(meeting.values()))
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))

    assert values[0][0] == "Департамент соціальної політики Житомирської міської ради"
    assert "№ 123 від 18.02.2026" in values[2][0]
    assert values[5][:7] == ("№", "Прізвище", "Ім'я", "По батькові", "РНОКПП", "IBAN", "Сума, грн")
    body = values[6:9]
    assert [r[:5] for r in body] == [(1, "Шевченко", "Марія", "Іванівна", "2954301234"),
                                     (2, "Коваленко", "Петро", "Миколайович", "3012405678"),
                                     (3, "Ткаченко", "Іван", "Петрович", "3345607890")]
    assert [r[6:] for r in body] == [(3000, "123", "18.02.2026"), (2000, "123", "18.02.2026"), (4500, "123", "18.02.2026")]
    assert values[9][1] == "Разом: 3 осіб" and values[9][6] == 9500
    assert not any(REFUSED_SURNAME in str(cell) for row in values for cell in row)


def test_each_applicant_s_notice_says_granted_with_the_amount_or_refused_with_the_ground(api, meeting):
    decide(api, meeting)
    granted = docx_text(paper(api, "programs_dept", "decision_notice", [meeting["Шевченко"]]))
    refused = docx_text(paper(api, "programs_dept", "decision_notice", [meeting[REFUSED_SURNAME]]))

    assert "Шевченко Марія Іванівна" in granted and "про призначення адресної соціальної допомоги" in granted
    assert "від 18.02.2026 № 123 Вам призначено адресну соціальну допомогу в розмірі 3 000,00 грн" in granted
    assert "відмовлено" not in granted
    assert "Бондар Олена Василівна" in refused and "Вам відмовлено в наданні адресної соціальної допомоги" in refused
    assert "130 %" in refused and "Підстава відмови" in refused


def roadmap_decided(api: Http, decision: dict[str, Any]) -> int:
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("dept_specialist").start("social_services_roadmap", ROADMAP_APPLICATION)["id"]
    for element_id, role in (("register_application", "dept_specialist"), ("assess_needs", "case_manager"),
                             ("decide", "dept_specialist")):
        data = decision if element_id == "decide" else ROADMAP_STEPS[element_id]
        api.as_(role).complete(api.as_(role).task_in(case, element_id)["id"], data)
    return case


def test_the_roadmap_s_decision_notice_names_the_chosen_services(api):
    case = roadmap_decided(api, ROADMAP_STEPS["decide"])
    text = docx_text(paper(api, "dept_specialist", "decision_notice", [case]))

    assert "Коваленко Ірина" in text and "про надання соціальних послуг" in text
    assert "Інформування" in text and "05.02.2026" in text and "050 022 69 67" in text


def test_the_roadmap_s_refusal_notice_gives_the_reason(api):
    case = roadmap_decided(api, {"decision": "refuse", "decision_date": "2026-02-05",
                                 "refusal_reason": "Складні життєві обставини не підтверджено"})
    text = docx_text(paper(api, "dept_specialist", "decision_notice", [case]))

    assert "про відмову в наданні соціальних послуг" in text
    assert "Причина: Складні життєві обставини не підтверджено." in text
    problem(paper(api, "accounting_head", "decision_notice", [case], expect=403), 403)


def test_papers_are_made_only_by_the_roles_of_their_steps_and_managers_and_every_making_is_audited(api, meeting):
    ids = list(meeting.values())
    for role in ("director", "accounting_head", "programs_dept"):
        problem(paper(api, role, "commission_minutes", ids, expect=403), 403)
    paper(api, "manager", "commission_minutes", ids)
    history = api.as_("manager").get(f"/process-instances/{ids[0]}/history").json["items"]
    made = [e for e in history if e["event"] == "paper_generated"]
    assert [(e["actor"], e["data"]["kind"], e["data"]["cases"]) for e in made] == [("manager", "commission_minutes", 4)]


def test_unknown_or_unfit_cases_are_refused_with_422_and_an_unknown_paper_with_404(api, meeting):
    ids = list(meeting.values())
    body = problem(paper(api, "programs_deputy", "commission_minutes", [ids[0], 999_999], expect=422), 422)
    assert body["errors"][0]["path"] == "/instance_ids/1"
    problem(paper(api, "accounting_head", "payment_register", ids, expect=422), 422)  # no decision yet
    problem(paper(api, "programs_dept", "decision_notice", ids[:2], expect=422), 422)
    problem(paper(api, "programs_deputy", "commission_minutes", [], expect=422), 422)
    problem(paper(api, "programs_deputy", "no_such_paper", ids, expect=404), 404)


def test_a_case_not_yet_checked_for_eligibility_cannot_go_into_the_minutes(api, meeting):
    fresh = api.as_("programs_dept").start("address_aid", {**APPLICATION, **APPLICANTS[0]})["id"]
    body = problem(paper(api, "manager", "commission_minutes", [*meeting.values(), fresh], expect=422), 422)
    assert body["errors"] == [{"path": "/instance_ids/4", "message": body["errors"][0]["message"]}]
    assert "перевірку права" in body["errors"][0]["message"]



def test_a_role_outside_the_paper_s_steps_is_refused_before_any_case_is_looked_at(api, meeting):
    body = problem(paper(api, "director", "payment_register", [999_999], expect=403), 403)
    assert "999999" not in body["detail"]


def test_the_register_carries_the_applicant_s_iban_when_the_case_has_one(api, meeting, db):
    decide(api, meeting)
    iban = "UA213223130000026007233566001"  # the sample applications' account
    with db.unit_of_work() as uow:  # one case from before the form asked for an account: its cell stays empty
        case = uow.session.get(Instance, meeting["Шевченко"])
        case.data = {key: value for key, value in case.data.items() if key != "iban"}
        uow.commit()
    sheet = load_workbook(io.BytesIO(paper(api, "accounting_head", "payment_register", list(meeting.values())).data)).worksheets[0]
    ibans = {row[1]: row[5] for row in sheet.iter_rows(min_row=7, max_row=9, values_only=True)}
    assert ibans == {"Шевченко": None, "Коваленко": iban, "Ткаченко": iban}
