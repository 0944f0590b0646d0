"""Who completes a step and who sees it: the В/У/П/З rule of the card's legend (SPEC §3.1)."""

import pytest

from marshrut.engine.access import Actor, may_complete, may_view_case, may_view_task, split_roles


def actor(*roles: str, login: str = "olena") -> Actor:
    return Actor(login, "Олена", frozenset(roles))


# --- split_roles -----------------------------------------------------------------------------

def test_the_lane_role_that_executes_completes_and_participants_stay_participants():
    role, action, others = split_roles("accounting_head", "В", [{"role": "programs_head", "action": "У"}])
    assert (role, action) == ("accounting_head", "В")
    assert others == [{"role": "programs_head", "action": "У"}]


def test_a_participant_with_В_wins_over_a_lane_role_that_only_approves():
    role, action, others = split_roles("director", "П", [{"role": "org_specialist", "action": "В"}])
    assert (role, action) == ("org_specialist", "В")
    assert others == [{"role": "director", "action": "П"}]


def test_the_approving_role_completes_when_no_one_executes():
    role, action, others = split_roles("programs_head", "У", [{"role": "director", "action": "П"}])
    assert (role, action, others) == ("director", "П", [{"role": "programs_head", "action": "У"}])


def test_the_confirming_role_completes_when_no_one_executes():
    role, action, others = split_roles("programs_deputy", "У", [{"role": "director", "action": "З"}])
    assert (role, action, others) == ("director", "З", [{"role": "programs_deputy", "action": "У"}])


def test_between_approving_and_confirming_the_first_given_completes():
    role, action, others = split_roles("director", "З", [{"role": "programs_head", "action": "П"}])
    assert (role, action) == ("director", "З")
    assert others == [{"role": "programs_head", "action": "П"}]


def test_where_only_participation_is_given_the_participating_role_completes():
    assert split_roles("programs_head", "У", []) == ("programs_head", "У", [])


def test_a_lane_without_an_action_executes():
    assert split_roles("programs_dept", None, []) == ("programs_dept", "В", [])


def test_with_no_role_at_all_there_is_no_one_to_complete():
    with pytest.raises(ValueError):
        split_roles(None, None, [])


def test_splitting_does_not_change_the_participants_given():
    participants = [{"role": "programs_head", "action": "У"}]
    split_roles("accounting_head", "В", participants)
    assert participants == [{"role": "programs_head", "action": "У"}]


# --- may_complete ------------------------------------------------------------------------------

def test_only_the_completing_role_may_complete():
    assert may_complete(actor("programs_dept"), "programs_dept")
    assert may_complete(actor("director", "programs_dept"), "programs_dept")
    assert not may_complete(actor("director"), "programs_dept")


@pytest.mark.parametrize("overseer", ["manager", "admin"])
def test_overseers_read_but_do_not_complete_for_others(overseer):
    assert not may_complete(actor(overseer), "programs_dept")


def test_a_participant_may_not_complete():
    assert not may_complete(actor("programs_head"), "accounting_head")


# --- may_view_task -----------------------------------------------------------------------------

PARTICIPANTS = [{"role": "programs_head", "action": "У"}]


def test_the_completing_role_and_the_participants_see_the_task():
    assert may_view_task(actor("accounting_head"), "accounting_head", PARTICIPANTS)
    assert may_view_task(actor("programs_head"), "accounting_head", PARTICIPANTS)


def test_managers_see_every_task():
    assert may_view_task(actor("manager"), "accounting_head", PARTICIPANTS)


def test_an_admin_administers_and_does_not_see_other_units_tasks():
    assert not may_view_task(actor("admin"), "accounting_head", PARTICIPANTS)
    assert not actor("admin").oversees


def test_an_uninvolved_role_does_not_see_the_task():
    assert not may_view_task(actor("director"), "accounting_head", PARTICIPANTS)
    assert not may_view_task(actor("provider"), "accounting_head", [])


# --- may_view_case and the actor -------------------------------------------------------------

def test_a_case_is_seen_by_its_involved_roles_its_registrar_and_overseers():
    involved = {"programs_dept", "appeals_office"}
    assert may_view_case(actor("appeals_office"), involved, "someone")
    assert may_view_case(actor("intake", login="reception"), involved, "reception")
    assert may_view_case(actor("manager"), involved, "someone")
    assert not may_view_case(actor("provider"), involved, "someone")
    assert not may_view_case(actor("intake", login="reception"), involved, None)


def test_an_admin_does_not_read_a_case_it_is_not_involved_in():
    assert not may_view_case(actor("admin"), {"programs_dept"}, "someone")
    assert may_view_case(actor("admin", login="root"), {"programs_dept"}, "root")  # registered it


def test_an_actor_knows_its_roles_and_whether_it_oversees():
    olena = actor("programs_dept", "manager")
    assert olena.has("director", "manager")
    assert not olena.has("director")
    assert olena.oversees
    assert not actor("programs_dept").oversees


# --- delivery branches bound to a provider (SPEC §3.2, issue 12 item 4) -----------------------

SHELTER = Actor("maryna", "Марина", frozenset({"provider"}), "myloserdia")
SIGN_LANGUAGE = Actor("ivan", "Іван", frozenset({"provider"}), "utog")
UNBOUND = Actor("petro", "Петро", frozenset({"provider"}))


@pytest.mark.parametrize(
    ("who", "task_provider", "completes"),
    [
        (SHELTER, "myloserdia", True),
        (SIGN_LANGUAGE, "myloserdia", False),  # was allowed: any provider completed any branch
        (UNBOUND, "myloserdia", False),
        (UNBOUND, None, True),  # a provider step bound to no one is the role's
        (SHELTER, None, True),
    ],
)
def test_a_branch_bound_to_a_provider_is_completed_only_by_its_users(who, task_provider, completes):
    assert may_complete(who, "provider", task_provider) is completes
    assert may_view_task(who, "provider", [], task_provider) is completes


def test_overseers_see_every_branch_but_complete_none():
    manager = actor("manager")
    assert may_view_task(manager, "provider", [], "myloserdia")
    assert not may_complete(manager, "provider", "myloserdia")
