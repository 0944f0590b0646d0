"""Managers' views answered from SQL aggregates: figures pinned on a few cases (each count checked
against the per-case answer the API gives), percentiles of step durations, the dashboard's
paginated overdue lists and its exports, and a number of queries that does not grow with cases."""

import csv
import io
import zipfile
from collections import Counter
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from sqlalchemy import event, update

from tests.api.conftest import Http, sign_in
from tests.conftest import kyiv
from tests.walks import ADDRESS_AID_STEPS, APPLICATION

FIRST = "accept_documents"


def _cases(api: Http, minutes: list[int]) -> list[int]:
    """One address-aid case per entry, registered Mon 02.02 10:00, its first step done ``minutes`` later."""
    clerk = api.as_("programs_dept")
    ids = []
    for spent in minutes:
        api.set_clock(kyiv("2026-02-02 10:00"))
        case = clerk.start("address_aid", APPLICATION)
        api.set_clock(kyiv(f"2026-02-02 {10 + spent // 60:02d}:{spent % 60:02d}"))
        clerk.complete(clerk.task_in(case["id"], FIRST)["id"], ADDRESS_AID_STEPS[FIRST])
        ids.append(case["id"])
    return ids


def test_summary_counts_agree_with_each_case_and_task(api: Http) -> None:
    ids = _cases(api, [60, 120, 300])
    api.set_clock(kyiv("2026-02-24 10:00"))  # past the target date (23.02), before the legal one (04.03)
    manager = api.as_("manager")
    summary = manager.get("/sla/summary").json
    (process,) = summary["processes"]
    assert process["process_key"] == "address_aid" and process["running"] == 3
    assert process["target"] == {"on_track": 0, "at_risk": 0, "breached": 3}
    per_case = {which: Counter(manager.instance(i)["sla"][which] for i in ids) for which in ("target", "legal")}
    for which in ("target", "legal"):
        assert {k: v for k, v in process[which].items() if v} == dict(per_case[which])
    tasks = manager.get("/tasks", query={"all": "true", "per_page": 500}).json["items"]
    expected = Counter((t["process_key"], t["element_id"], t["sla_status"]) for t in tasks)
    got = Counter({(s["process_key"], s["element_id"], status): s[status]
                   for s in summary["steps"] for status in ("on_track", "at_risk", "overdue") if s[status]})
    assert got == expected and sum(s["total"] for s in summary["steps"]) == len(tasks) == 3
    assert {s["element_id"]: s["overdue"] for s in summary["steps"]} == {"form_personal_file": 3}

    earlier = manager.get("/sla/summary", query={"at": "2026-02-02T10:30:00+02:00"}).json
    assert {s["element_id"]: s["total"] for s in earlier["steps"]} == {FIRST: 3}  # all three still at the first step
    # not yet breached then; "at risk" by the forecast as it stands now (forecasts keep no history)
    assert earlier["processes"][0]["target"] == {"on_track": 0, "at_risk": 3, "breached": 0}


def test_step_durations_are_continuous_percentiles_on_both_backends(api: Http) -> None:
    _cases(api, [60, 120, 300])
    (step,) = [s for s in api.as_("manager").get("/sla/steps").json["items"] if s["element_id"] == FIRST]
    assert step["completed"] == 3 and step["share_late"] == 0
    assert step["median_hours"] == 2.0
    assert step["p90_hours"] == 4.4  # 2 + 0.8 × (5 − 2): interpolated between the two nearest ranks
    assert step["limit_days"] == 1
    assert api.as_("manager").get("/sla/steps", query={"process_key": "nothing"}).json == {"items": []}


def _login(api: Http, role: str) -> None:
    sign_in(api.client, role)


def test_dashboard_pages_the_overdue_lists_and_exports_every_row(api: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    from marshrut.ui import dashboard

    _cases(api, [60, 120, 300])
    api.set_clock(kyiv("2026-02-24 10:00"))
    monkeypatch.setattr(dashboard, "PER_PAGE", 2)
    _login(api, "manager")
    first = api.client.get("/dashboard").get_data(as_text=True)
    second = api.client.get("/dashboard?page=2").get_data(as_text=True)
    assert "(усього 3)" in first and "сторінка 1 з 2" in first and "сторінка 2 з 2" in second
    rows = lambda html: html.count('class="row-overdue" data-instance-id=')  # noqa: E731
    assert (rows(first), rows(second)) == (2, 1)

    exported = _read(api, "/dashboard.csv").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(exported), delimiter=";"))
    assert len([r for r in lines if len(r) == 8 and r[5] == "нормативний"]) == 3
    archive = zipfile.ZipFile(io.BytesIO(_read(api, "/dashboard.zip")))
    assert archive.namelist() == ["1-overdue-cases.csv", "2-overdue-tasks.csv", "3-open-tasks-by-step.csv",
                                  "4-step-durations.csv"]
    cases_csv = list(csv.reader(io.StringIO(archive.read("1-overdue-cases.csv").decode("utf-8-sig")), delimiter=";"))
    assert cases_csv[0] == ["Прострочені справи"] and len(cases_csv) == 2 + 3
    tasks_csv = list(csv.reader(io.StringIO(archive.read("2-overdue-tasks.csv").decode("utf-8-sig")), delimiter=";"))
    assert len(tasks_csv) == 2 + 3 and all(r[2].startswith("Формування особової справи") for r in tasks_csv[2:])


def _read(api: Http, path: str) -> bytes:
    response = api.client.get(path)
    body = response.get_data()
    response.close()
    assert response.status_code == 200
    return body


@contextmanager
def _counting(api: Http) -> Iterator[list[str]]:
    engine = api.client.application.extensions["marshrut"]["db"].engine
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


VIEWS = ("/api/v1/sla/summary", "/api/v1/sla/steps", "/api/v1/sla/overdue", "/api/v1/process-instances?sla=breached",
         "/dashboard", "/dashboard.csv", "/dashboard.zip", "/cases?sla=breached")


def _queries_per_view(api: Http) -> dict[str, int]:
    _login(api, "manager")
    found = {}
    for path in VIEWS:
        with _counting(api) as seen:
            response = api.client.get(path, headers={"Authorization": "Bearer token-manager"} if "/api/" in path else {})
            body = response.get_data()  # the exports stream: their queries run while the body is read
            response.close()
            assert response.status_code == 200 and body, (path, body[:500])
        found[path] = len(seen)
    return found


def test_views_issue_a_number_of_queries_that_does_not_grow_with_the_cases(api: Http) -> None:
    _cases(api, [60, 120])
    api.set_clock(kyiv("2026-02-24 10:00"))
    few = _queries_per_view(api)
    _cases(api, [30, 90, 150, 210])
    api.set_clock(kyiv("2026-02-24 10:00"))
    more = _queries_per_view(api)
    assert more == few
    assert max(few.values()) <= 25, few


def test_the_worker_refreshes_late_forecasts_oldest_first_across_chunks_of_ids(api: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    """At a million open cases 400,000 can be late, more ids than one statement may bind (the
    1,000,000-case run failed so): the worker reads them in chunks (here of one id) and still
    takes the oldest ``batch`` first."""
    from marshrut.engine import worker
    from marshrut.engine.clock import FixedClock
    from marshrut.engine.context import Context
    from marshrut.engine.models import Instance

    ids = _cases(api, [60, 120, 300])
    moment = kyiv("2026-02-24 10:00")  # the second step of all three is late
    monkeypatch.setattr(worker, "LATE_IDS_PER_QUERY", 1)
    marshrut = api.client.application.extensions["marshrut"]
    with marshrut["db"].unit_of_work() as uow:
        uow.session.execute(update(Instance).values(forecast_checked_at=None))  # as at the start of a day
        uow.commit()
    with marshrut["db"].unit_of_work() as uow:
        assert worker.refresh_late_forecasts(uow, Context(marshrut["settings"], FixedClock(moment)), batch=2) == 2
        uow.commit()
    with marshrut["db"].unit_of_work() as uow:
        stamped = [i for i in ids if uow.session.get(Instance, i).forecast_checked_at is not None]
    assert stamped == sorted(ids)[:2]


def test_the_worker_works_through_a_backlog_of_forecasts_without_pausing(api: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    """300,000 late cases at 1,000 a pass would take 25 hours with a 5-second pause after each
    pass: a pass that fills its batch is followed at once by the next; the pause comes when a
    pass leaves nothing behind."""
    from marshrut.engine import worker
    from marshrut.engine.models import Instance

    _cases(api, [60, 120, 300])
    api.set_clock(kyiv("2026-02-10 10:00"))  # the second step of all three is late; no escalation is due yet
    marshrut = api.client.application.extensions["marshrut"]
    with marshrut["db"].unit_of_work() as uow:
        uow.session.execute(update(Instance).values(forecast_checked_at=None))  # as at the start of a day
        uow.commit()
    monkeypatch.setattr(worker, "FORECASTS_PER_PASS", 2)
    passes: list[worker.PassResult] = []
    real_pass = worker.run_pass

    def counted(db: Any, settings: Any) -> worker.PassResult:
        passes.append(real_pass(db, settings))
        return passes[-1]

    class Paused(Exception):
        pass

    def pause(_seconds: float) -> None:
        raise Paused

    monkeypatch.setattr(worker, "run_pass", counted)
    monkeypatch.setattr(worker.time, "sleep", pause)
    with pytest.raises(Paused):
        worker.run_forever(marshrut["db"], marshrut["settings"])
    assert [(p.forecasts, p.backlog) for p in passes] == [(2, True), (1, False)]


def test_the_overdue_pages_list_every_kind_of_late_case_once_oldest_date_first(api: Http) -> None:
    """Late cases are read by four index walks, each stopped after the page (past the target
    date; past only the legal one; met only after the moment asked about; finished after it):
    every late case once, oldest target date first, a case without one last, pages without gaps
    or repeats, totals that agree — now (from the tallies) and at a moment before (from the rows)."""
    from marshrut.engine.models import Instance

    first, second, met, no_target, finished = _cases(api, [60, 120, 300, 30, 90])
    changes = {
        second: {"target_due": kyiv("2026-02-21 10:00")},
        no_target: {"target_due": None, "legal_due": kyiv("2026-02-20 10:00")},  # late by the legal date alone
        met: {"sla_met_at": kyiv("2026-02-25 12:00")},  # its measured part done on 25.02
        finished: {"target_due": kyiv("2026-02-22 10:00"), "status": "completed", "completed_at": kyiv("2026-02-25 09:00"),
                   "sla_met_at": kyiv("2026-02-25 09:00")},
    }
    marshrut = api.client.application.extensions["marshrut"]
    with marshrut["db"].unit_of_work() as uow:
        for case_id, values in changes.items():
            uow.session.execute(update(Instance).where(Instance.id == case_id).values(**values))
        uow.commit()
    api.set_clock(kyiv("2026-02-26 10:00"))
    manager = api.as_("manager")

    def pages(**query: Any) -> tuple[list[list[int]], set[int], list[list[str]]]:
        found, totals, breached = [], set(), []
        for page in (1, 2, 3):
            answer = manager.get("/sla/overdue", query={**query, "page": page, "per_page": 2}).json
            found.append([i["id"] for i in answer["instances"]])
            breached += [i["breached"] for i in answer["instances"]]
            totals.add(answer["total_instances"])
        return found, totals, breached

    now, now_totals, now_breached = pages()
    assert now == [[second, first], [no_target], []] and now_totals == {3}
    assert now_breached == [["target"], ["target"], ["legal"]]
    before, before_totals, _ = pages(at="2026-02-24T10:00:00+02:00")  # before «met» was met and «finished» finished
    assert before == [[second, finished], [first, met], [no_target]] and before_totals == {5}
