"""Saving and restoring a case's workflow; the workflows a process saved last are taken back."""

from dataclasses import replace

import pytest

from marshrut.engine import definitions, runtime, workflow_state
from marshrut.engine.config import Settings
from tests.conftest import context_at, kyiv
from tests.walks import ADDRESS_AID_STEPS, APPLICATION

NOW = kyiv("2026-02-02 10:00")


@pytest.fixture(scope="module")
def compiled():
    settings = Settings()
    paths = sorted(settings.bpmn_dir.glob("*.bpmn"))
    bundles = definitions.bundles_from_paths(paths, settings.bpmn_dir, settings.forms_dir)
    return next(definitions.compile_bundle(b) for b in bundles if b.bpmn_name.startswith("address_aid"))


@pytest.fixture
def ctx():
    return context_at(Settings(), NOW)


@pytest.fixture(autouse=True)
def empty_recent(monkeypatch):
    monkeypatch.setattr(workflow_state, "RECENT", workflow_state.RecentlySaved(size=4))


def _started(compiled, ctx):
    dates = {"received_at": NOW.isoformat(), "received_date": NOW.date().isoformat(),
             "target_due": kyiv("2026-03-02 18:00").isoformat(), "legal_due": kyiv("2026-03-04 18:00").isoformat()}
    return runtime.start(compiled, {**APPLICATION, **dates}, ctx)[0]


def test_the_workflow_saved_last_is_taken_back_once_then_rebuilt(compiled, ctx):
    workflow = _started(compiled, ctx)
    state = runtime.dump(workflow)
    assert runtime.load(state, compiled, ctx) is workflow
    rebuilt = runtime.load(state, compiled, ctx)  # taken out: a second request gets its own
    assert rebuilt is not workflow
    assert runtime.dump(rebuilt) == state


def test_a_text_this_process_did_not_save_last_is_rebuilt(compiled, ctx):
    workflow = _started(compiled, ctx)
    before = runtime.dump(workflow)
    [step] = runtime.open_steps(workflow)
    runtime.complete(workflow, step.spiff_id, ADDRESS_AID_STEPS[step.element_id])
    runtime.dump(workflow)  # the case moved on in this process
    again = runtime.load(before, compiled, ctx)  # the row still holds the earlier text (that change was not committed)
    assert again is not workflow
    assert [s.element_id for s in runtime.open_steps(again)] == [step.element_id]


def test_a_kept_workflow_gets_the_script_engine_of_the_step_that_takes_it(compiled, ctx):
    workflow = _started(compiled, ctx)
    state = runtime.dump(workflow)
    later = context_at(replace(Settings(), controlled_clock=True), kyiv("2026-02-05 10:00"))
    taken = runtime.load(state, compiled, later)
    assert taken.script_engine.clock.now() == kyiv("2026-02-05 10:00")


def test_only_the_last_saves_are_kept(compiled, ctx):
    states = [runtime.dump(_started(compiled, ctx)) for _ in range(5)]
    kept = [s for s in states if workflow_state.RECENT.take(s, compiled.spec) is not None]
    assert kept == states[1:]


def test_keeping_none_rebuilds_every_workflow(compiled, ctx):
    workflow_state.RECENT.resize(0)
    workflow = _started(compiled, ctx)
    state = runtime.dump(workflow)
    rebuilt = runtime.load(state, compiled, ctx)
    assert rebuilt is not workflow
    assert runtime.dump(rebuilt) == state


def test_the_number_kept_comes_from_the_environment():
    from marshrut.api.config import settings_from_env

    assert settings_from_env({}).kept_workflows == 128
    assert settings_from_env({"MARSHRUT_KEPT_WORKFLOWS": "0"}).kept_workflows == 0
