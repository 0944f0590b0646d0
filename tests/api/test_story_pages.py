"""A task page tells the case's story: earlier steps in order, who did them, values as people read them;
fields prefilled from the case where the form says so (``x-prefill``)."""

import re

from tests.api.conftest import Http
from tests.api.test_address_aid_http import do_step, hold_the_meeting, register, UNTIL_ENDORSEMENT
from tests.api.test_clerk_pages import signed_in, text_of
from tests.walks import ADDRESS_AID_STEPS

MINUTES = {**ADDRESS_AID_STEPS["prepare_commission_minutes"], "recommended_amount": 1666.6666666666667}


def at_committee_decision(api: Http) -> tuple[int, int]:
    case_id = register(api)["id"]
    for element_id in UNTIL_ENDORSEMENT:
        if element_id == "endorse_draft_decision":
            api.set_clock("2026-02-12T15:00:00+02:00")
        do_step(api, case_id, element_id, MINUTES if element_id == "prepare_commission_minutes" else None)
    hold_the_meeting(api, case_id)
    return case_id, api.as_("programs_head").task_in(case_id, "record_committee_decision")["id"]


def test_the_committee_decision_page_shows_the_recommendation_and_amount_as_read_and_prefills_the_amount(api, app):
    case_id, task_id = at_committee_decision(api)
    page = signed_in(app.test_client(), "programs_head").get(f"/tasks/{task_id}").get_data(as_text=True)
    story = text_of_section(page, "story")
    assert "Підготовка протоколів засідання комісії" in story
    assert "12.02.2026 15:00" in story  # the endorsement, in Kyiv time
    assert "Рекомендація комісії</dt><dd>Надати допомогу" in story
    assert "1\u00a0666,67" in story and "1666.666" not in story
    assert "Дата протоколу</dt><dd>10.02.2026" in story
    assert "Діє з</dt><dd>01.01.2026" in story  # a decision table's date
    steps = re.findall(r'class="story-step" data-element="([a-z_]+)"', story)
    assert steps == UNTIL_ENDORSEMENT
    assert re.search(r'name="aid_amount"[^>]*value="1666\.6666666666667"', page)


def test_the_case_page_shows_step_data_per_step_with_who_did_it(api, app):
    case_id, _ = at_committee_decision(api)
    page = text_of(signed_in(app.test_client(), "manager").get(f"/cases/{case_id}"))
    story = text_of_section(page, "story")
    minutes = story.split('data-element="prepare_commission_minutes"')[1].split("</li>")[0]
    assert "Надати допомогу" in minutes and "1 666,67" in minutes  # (text_of folds the no-break space)
    assert "grant" not in story.replace("data-element", "")


def text_of_section(page: str, section_id: str) -> str:
    return re.search(rf'<section class="card [a-z ]*" id="{section_id}".*?</section>', page, re.S).group(0)
