"""Operations that lose the race for a case are run again from the start (engine.operation.attempts)."""

import pytest
from sqlalchemy.exc import DBAPIError

from marshrut.engine.errors import CaseChanged
from marshrut.engine.models import Setting
from marshrut.engine.operation import ATTEMPTS, attempts


class _Deadlock(Exception):
    sqlstate = "40P01"  # PostgreSQL's deadlock_detected, as psycopg reports it


LOST_RACES = {
    "another user changed the case": lambda: CaseChanged("another user changed the case"),
    "chosen as a deadlock victim": lambda: DBAPIError("UPDATE …", {}, _Deadlock("deadlock detected")),
}


@pytest.mark.parametrize("lost_race", list(LOST_RACES.values()), ids=list(LOST_RACES))
def test_an_attempt_that_lost_the_race_for_its_case_is_rolled_back_and_the_next_one_commits(db, settings, lost_race):
    tries = []
    for attempt in attempts(db, settings):
        with attempt as (uow, _ctx):
            tries.append(len(tries) + 1)
            uow.session.add(Setting(key=f"try-{len(tries)}", value="written"))
            uow.flush()
            if len(tries) == 1:
                raise lost_race()
            uow.commit()
    assert tries == [1, 2]
    with db.unit_of_work() as uow:
        assert {s.key for s in uow.session.query(Setting)} == {"try-2"}  # the beaten try left nothing


def test_the_last_attempt_gives_its_conflict_to_the_caller_and_no_more_tries_follow(db, settings):
    tries = 0
    with pytest.raises(CaseChanged):
        for attempt in attempts(db, settings):
            with attempt as (_uow, _ctx):
                tries += 1
                raise CaseChanged("another user changed the case")
    assert tries == ATTEMPTS


def test_other_errors_are_not_retried(db, settings):
    tries = 0
    with pytest.raises(ValueError):
        for attempt in attempts(db, settings):
            with attempt as (_uow, _ctx):
                tries += 1
                raise ValueError("a bug, not a race")
    assert tries == 1

