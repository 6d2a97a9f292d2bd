"""The short-wait profile (short-waits.env, short_waits.py) and how the drill
uses it: read once, the drill's own waits on top, each shown against the
stack's default."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import drill  # noqa: E402
import provision  # noqa: E402
import short_waits  # noqa: E402
from short_waits import ProfileError  # noqa: E402

# --- the format ----------------------------------------------------------------------


def test_comments_and_blank_lines_are_skipped_and_order_is_kept() -> None:
    text = "# waits\n\nB_SECONDS=2\n  # indented comment\nA_SAMPLES = 3\n"
    assert list(short_waits.parse(text).items()) == [("B_SECONDS", "2"), ("A_SAMPLES", "3")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# ok\nCONFIRM_SAMPLES\n", "waits.env:2: 'CONFIRM_SAMPLES' is not KEY=VALUE"),
        ("confirm_samples=2\n", "waits.env:1: 'confirm_samples' is not a variable name"),
        ("=2\n", "waits.env:1: '' is not a variable name"),
        ("CONFIRM_SAMPLES=\n", "waits.env:1: CONFIRM_SAMPLES='': the value must be one word"),
        ("CONFIRM_SAMPLES='2'\n", "waits.env:1: CONFIRM_SAMPLES=\"'2'\": the value must be one word"),
        ("CONFIRM_SAMPLES=2 # two\n", "waits.env:1: CONFIRM_SAMPLES='2 # two': the value must be one word"),
        ("CONFIRM_SAMPLES=2\nCONFIRM_SAMPLES=3\n", "waits.env:2: CONFIRM_SAMPLES is set twice"),
    ],
)
def test_a_line_not_every_reader_agrees_on_is_refused_with_its_place(text: str, message: str) -> None:
    with pytest.raises(ProfileError) as error:
        short_waits.parse(text, "waits.env")
    assert str(error.value).startswith(message)


def test_a_missing_or_empty_profile_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"cannot read the short-wait profile .*/none.env: No such file"):
        short_waits.read_profile(tmp_path / "none.env")
    empty = tmp_path / "empty.env"
    empty.write_text("# nothing yet\n")
    with pytest.raises(ProfileError, match=r"empty.env: no KEY=VALUE line"):
        short_waits.read_profile(empty)


# --- the profile itself --------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict:
    return provision.load_template()


def test_the_profile_sets_only_variables_the_stack_sets(template: dict) -> None:
    profile = short_waits.read_profile()
    stack_variables = drill.parameters_by_variable(template)
    assert sorted(set(profile) - set(stack_variables)) == []
    assert "CONFIRM_INTERVAL_SECONDS" in profile
    assert "VERIFY_DEADLINE_SECONDS" in profile


def test_every_wait_of_the_profile_is_a_whole_number_and_shorter_than_the_stacks(template: dict) -> None:
    parameters = drill.parameters_by_variable(template)
    defaults = drill.template_defaults(template)
    for variable, value in short_waits.read_profile().items():
        assert value.isdigit() and int(value) >= 1, variable
        assert int(value) <= int(defaults[parameters[variable]]), variable


# --- the drill's waits ---------------------------------------------------------------


def test_the_drill_runs_with_the_profile_plus_its_own_takeover_time(tmp_path: Path) -> None:
    profile = tmp_path / "waits.env"
    profile.write_text("CONFIRM_SAMPLES=2\n# the deadline\nVERIFY_DEADLINE_SECONDS=45\n")
    assert drill.drill_waits(profile) == {
        "CONFIRM_SAMPLES": "2",
        "VERIFY_DEADLINE_SECONDS": "45",
        "TAKEOVER_AFTER_SECONDS": "30",
    }


def test_the_drill_reads_the_shared_profile_by_default() -> None:
    waits = drill.drill_waits()
    assert {k: v for k, v in waits.items() if k != "TAKEOVER_AFTER_SECONDS"} == short_waits.read_profile()
    assert drill.QUIET_LIMIT_SECONDS == 30 + 3 * drill.RECONCILE_EVERY_SECONDS


def test_parameters_are_derived_from_the_templates_globals(template: dict) -> None:
    parameters = drill.parameters_by_variable(template)
    assert parameters["CONFIRM_SAMPLES"] == "ConfirmSamples"
    assert parameters["ROLLOUT_SETTLE_SECONDS"] == "RolloutSettleSeconds"
    assert parameters["RECOVERY_HEALTHY_READINGS"] == "RecoveryHealthyReadings"
    # !Join, !Sub and !Ref of a resource are not parameters the drill can show.
    assert "REGIONS" not in parameters
    assert "HEALTH_ALARM_NAME" not in parameters
    assert parameters["INCIDENT_TABLE"] == "IncidentTable"


def test_a_parameter_without_a_default_has_no_default_to_show(template: dict) -> None:
    defaults = drill.template_defaults(template)
    assert "Regions" in template["Parameters"]
    assert "Regions" not in defaults
    assert defaults["ConfirmSamples"] == "3"
    document = {"Parameters": {"A": {"Default": 1}, "B": {"Type": "String"}, "C": "not a parameter"}}
    assert drill.template_defaults(document) == {"A": "1"}


def test_each_shortened_wait_is_shown_against_the_stacks_default(template: dict) -> None:
    defaults = drill.template_defaults(template)
    lines = drill.shortened(
        {"CONFIRM_SAMPLES": "2", "TAKEOVER_AFTER_SECONDS": "30", "SOMETHING_NEW": "1"}, template
    )
    assert lines == [
        f"CONFIRM_SAMPLES {defaults['ConfirmSamples']} -> 2",
        "TAKEOVER_AFTER_SECONDS 120 -> 30",
        "SOMETHING_NEW ? -> 1",
    ]
