"""Issue 12 over HTTP: the calendar regime managers are shown, configuration of martial law's end."""

from dataclasses import replace
from datetime import date

import pytest
from flask import Flask

from marshrut.api.app import create_app
from marshrut.api.config import settings_from_env
from tests.api.conftest import sign_in
from tests.conftest import kyiv, set_now


def _app(settings, built_apps) -> Flask:
    if settings not in built_apps:
        application = create_app(settings)
        application.config["TESTING"] = True
        built_apps[settings] = application
    return built_apps[settings]


def _dashboard(app: Flask) -> str:
    client = sign_in(app.test_client(), "manager")
    response = client.get("/dashboard")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("until", "today", "shown"),
    [
        (None, "2026-08-24 10:00", "Воєнний стан"),
        (date(2026, 8, 23), "2026-08-23 10:00", "Воєнний стан (Закон № 2136-IX): святкові дні — робочі — до 2026-08-23 включно"),
        (date(2026, 8, 23), "2026-08-25 10:00", "Звичайний режим: святкові та неробочі дні за ст. 73 КЗпП — вихідні — воєнний стан завершився 2026-08-23"),
    ],
)
def test_the_dashboard_shows_the_calendar_regime_in_force(settings, db, actors, deployed, built_apps, until, today, shown):
    app = _app(replace(settings, martial_law_until=until), built_apps)
    set_now(db, kyiv(today))
    page = _dashboard(app)
    assert 'id="regime"' in page and shown in page


def test_the_end_of_martial_law_is_read_from_the_environment():
    assert settings_from_env({"MARSHRUT_MARTIAL_LAW_UNTIL": "2026-08-23"}).martial_law_until == date(2026, 8, 23)
    assert settings_from_env({}).martial_law_until is None


def test_a_case_received_after_martial_law_ends_is_dated_with_the_holiday_shift(settings, db, actors, deployed, built_apps):
    # Received Tue 25 Nov 2026: 30 days end on Fri 25 Dec (Christmas, a day off again) -> Mon 28 Dec.
    app = _app(replace(settings, martial_law_until=date(2026, 8, 23)), built_apps)
    set_now(db, kyiv("2026-11-25 10:00"))
    from tests.walks import APPLICATION
    client = app.test_client()
    answer = client.post("/api/v1/process-instances", json={"process_key": "address_aid", "data": APPLICATION},
                         headers={"Authorization": "Bearer token-programs_dept"})
    assert answer.status_code == 201, answer.json
    assert (answer.json["target_date"], answer.json["legal_date"]) == ("2026-12-15", "2026-12-28")


def test_the_case_page_shows_the_forecast_basis_and_the_endorsement_slack(settings, db, actors, deployed, built_apps):
    app = _app(settings, built_apps)
    set_now(db, kyiv("2026-02-02 10:00"))
    from tests.walks import APPLICATION
    client = app.test_client()
    created = client.post("/api/v1/process-instances", json={"process_key": "address_aid", "data": APPLICATION},
                          headers={"Authorization": "Bearer token-programs_dept"}).json
    page = sign_in(client, "manager").get(f"/cases/{created['id']}").get_data(as_text=True)
    assert 'id="case-slack"' in page
    assert "за строками технологічної картки" in page
    assert "03.03.2026" in page  # endorse_by, the last working day before the 4 March meeting
