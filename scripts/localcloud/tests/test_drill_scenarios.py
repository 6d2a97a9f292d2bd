"""The drill's pure parts: its scenarios are well formed (against the admin
API's scenario keys, provision's health values and the real workflow), and
the helpers that build events, read times and judge outcomes."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import drill  # noqa: E402
import provision  # noqa: E402
import short_waits  # noqa: E402

# The admin API's scenario keys and pod modes (scripts/local-cloud --help).
SCENARIO_KEYS = {"cluster_status", "deployment", "pods", "after_restart", "nodes", "ingress", "peers"}
DEPLOYMENT_KEYS = {"exists", "replicas", "paused", "image"}
POD_MODES = {"ready", "crashloop", "imagepull", "configerror", "pending"}
# Where an incident ends, or that none was opened; a readiness drill's verdict.
OUTCOMES = {"recovered", "escalated", "dismissed", "reported", "no_incident", "not_ready", "ready"}
# The roles of scripts/rbac, as a scenario takes a verb out of them.
RBAC_ROLES = {
    "roles/vcluster-platform/platform-failover-restore",
    "roles/vcluster-platform/platform-failover-read",
    "clusterroles/platform-failover-restore",
    "clusterroles/platform-failover-read",
}


@pytest.fixture(scope="module")
def template() -> dict:
    return provision.load_template()


@pytest.fixture(scope="module")
def workflow_states(template: dict) -> set[str]:
    text, _ = provision.workflow_definition(template, "drill", "123456789012")
    return set(json.loads(text)["States"])


def test_scenario_names_are_unique_and_crashloop_is_the_default() -> None:
    names = [s.name for s in drill.SCENARIOS]
    assert len(names) == len(set(names)) == 22
    assert "crashloop" in names
    assert "transient" in names


@pytest.mark.parametrize("scenario", drill.SCENARIOS, ids=lambda s: s.name)
def test_each_scenario_is_well_formed(
    scenario: drill.Scenario, template: dict, workflow_states: set[str]
) -> None:
    assert scenario.expect in OUTCOMES
    assert scenario.summary and "\n" not in scenario.summary
    assert 1 <= scenario.alarms <= 50
    regions = set(scenario.regions)
    assert {drill.FAILED, drill.PEER} <= regions and len(regions) == len(scenario.regions)
    assert set(scenario.failing) <= regions and scenario.failing
    assert set(scenario.clusters) <= regions
    assert set(scenario.health) == regions
    for patch in scenario.clusters.values():
        assert set(patch) <= SCENARIO_KEYS
        assert set(patch.get("deployment", {})) <= DEPLOYMENT_KEYS
        if "pods" in patch:
            assert patch["pods"] in POD_MODES
        after = patch.get("after_restart", "ready")
        assert set(after if isinstance(after, list) else [after]) <= POD_MODES
    for sequence in scenario.health.values():
        assert {word.capitalize() for word in sequence.split(",")} <= set(provision.STATUS_VALUES)
    known = (
        set(drill.parameters_by_variable(template)) | set(drill.DRILL_WAITS) | set(short_waits.read_profile())
    )
    assert set(scenario.config) <= known
    if scenario.stop_in is not None:
        assert scenario.stop_in in workflow_states
    assert set(scenario.rbac) <= regions
    for removals in scenario.rbac.values():
        for role, verb, resource in removals:
            assert role in RBAC_ROLES
            assert verb in {"get", "list", "patch"} and resource
    assert scenario.readiness in (None, drill.READINESS_FIRST, drill.READINESS_ONLY)
    # A readiness drill injects no failure: its outcome is the report's.
    assert (scenario.readiness == drill.READINESS_ONLY) == (scenario.expect in {"not_ready", "ready"})
    # Only approve mode asks, and people answer only what was asked.
    if scenario.replies:
        assert scenario.config.get("APPROVAL_MODE") == "approve"
    for reply in scenario.replies:
        assert reply.verdict in {"approve", "reject"} and reply.text.strip()
        assert reply.person.isalpha() and reply.person.islower()
    if scenario.fault is not None:
        assert scenario.fault.until in (*drill.OPEN_PHASES, drill.FIRST_ATTEMPT)
        assert scenario.fault.suffix.isupper() and " " not in scenario.fault.suffix


def test_list_names_every_scenario_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert drill.main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [s.name for s in drill.SCENARIOS]
    assert lines[0].endswith("(expects recovered)")


def test_an_unknown_scenario_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert drill.main(["meteor-strike"]) == 2
    assert "unknown scenario 'meteor-strike'; scenarios: crashloop," in capsys.readouterr().err


# --- judging a run -------------------------------------------------------------------


def result(actions: list[str], **extra: object) -> drill.Result:
    incident = {"id": "i-1", "actions": [{"remedy": {"remedy": a}, "applied": True} for a in actions]}
    fields: dict = {
        "incident": incident,
        "incidents": 1,
        "executions": [],
        "notices": [],
        "patches": {},
        "answers": [],
    }
    fields.update(extra)
    return drill.Result(**fields)


def scenario(name: str) -> drill.Scenario:
    return next(s for s in drill.SCENARIOS if s.name == name)


def readiness(*findings: dict) -> dict:
    return {"status": "fail" if findings else "pass", "findings": list(findings)}


def test_the_drift_drill_wants_both_findings_named_with_their_fixes() -> None:
    scenario = next(s for s in drill.SCENARIOS if s.name == "readiness-drift")
    image = {
        "kind": "image_drift",
        "scope": "orchestrator",
        "status": "fail",
        "detail": f"container loft: us-east-1 x:4.8.0, eu-west-1 {drill.OLDER_IMAGE}",
        "fix": "in eu-west-1: kubectl set image deployment/loft loft=x:4.8.0",
    }
    scale = {
        "kind": "kubernetes_permissions",
        "scope": "us-east-1",
        "status": "fail",
        "detail": "restore-platform may not: patch apps/deployments/scale loft in vcluster-platform",
        "fix": "scripts/grant-eks-access --cluster c --region us-east-1",
    }
    both = drill.Result(None, 0, [], [], {}, [], readiness=readiness(image, scale))
    assert scenario.checks(both) == []
    unfixed = drill.Result(None, 0, [], [], {}, [], readiness=readiness(image, {**scale, "fix": None}))
    assert any("missing permission" in p for p in scenario.checks(unfixed))
    changed = drill.Result(
        None, 0, [], [], {"eu-west-1": ["/apis/apps/v1/x"]}, [], readiness=readiness(image, scale)
    )
    assert any("changed a cluster" in p for p in scenario.checks(changed))


def test_crashloop_wants_exactly_one_restart() -> None:
    check = scenario("crashloop").checks
    assert check(result(["rollout_restart"])) == []
    assert check(result([])) == ["expected one restart, got []"]
    assert check(result(["rollout_restart", "rollout_restart"])) == [
        "expected one restart, got ['rollout_restart', 'rollout_restart']"
    ]


def test_a_transient_failure_must_change_nothing() -> None:
    check = scenario("transient").checks
    assert check(result([])) == []
    changed = result([], patches={drill.FAILED: ["/apis/apps/v1/namespaces/loft/deployments/loft"]})
    assert check(changed) == ["the region was changed"]


def test_only_applied_actions_count() -> None:
    incident = {
        "actions": [{"remedy": {"remedy": "scale"}, "applied": False}, {"remedy": {"remedy": "scale"}}]
    }
    assert drill._actions(result([], incident=incident)) == []


@pytest.mark.parametrize(
    ("phase", "until", "reached"),
    [
        ("confirming", "restoring", False),
        ("confirmed", "restoring", False),
        ("restoring", "restoring", True),
        ("recovered", "restoring", True),
        ("escalated", "confirmed", True),
        ("confirming", "confirming", True),
        ("escalated", "recovered", False),
        ("recovered", "recovered", True),
    ],
)
def test_reached_orders_the_open_phases(phase: str, until: str, reached: bool) -> None:
    assert drill.reached(phase, until) is reached


SNS_DOWN = drill.Fault("SNS", "SNS", until="restoring", holds_notices=True)
ROUTE_53_DOWN = drill.Fault("Route 53", "ROUTE_53", until="restoring")


@pytest.mark.parametrize(
    ("fault", "phase", "waiting", "ends"),
    [
        # The phase is written before the action; its notice after it.
        (SNS_DOWN, "restoring", ["confirmed"], False),
        (SNS_DOWN, "restoring", ["confirmed", "restoring"], True),
        (SNS_DOWN, "confirmed", ["confirmed"], False),
        (SNS_DOWN, "restoring", [], False),
        (ROUTE_53_DOWN, "restoring", [], True),
        (ROUTE_53_DOWN, "confirmed", [], False),
    ],
)
def test_a_fault_that_holds_notices_ends_once_the_phases_notice_waits(
    fault: drill.Fault, phase: str, waiting: list[str], ends: bool
) -> None:
    incident = {"phase": phase, "outbox": [{"id": f"n{i}", "phase": p} for i, p in enumerate(waiting)]}
    assert drill.fault_ends(fault, incident) is ends


# --- events and times ----------------------------------------------------------------


def test_times_are_read_up_to_nanoseconds_and_with_z() -> None:
    assert drill.parse_time("2026-12-01T20:57:40.123456789Z") == dt.datetime(
        2026, 12, 1, 20, 57, 40, 123456, tzinfo=dt.UTC
    )
    assert drill.parse_time("2026-12-01T20:57:40+00:00") == dt.datetime(
        2026, 12, 1, 20, 57, 40, tzinfo=dt.UTC
    )


def test_the_alarm_event_is_cloudwatchs_lambda_action_for_the_regions_alarm() -> None:
    now = dt.datetime(2026, 12, 1, 8, 9, 10, tzinfo=dt.UTC)
    event = drill.alarm_event("drill-x-us-east-1-platform-health", now)
    assert event["alarmData"]["alarmName"] == "drill-x-us-east-1-platform-health"
    assert event["alarmData"]["state"]["value"] == "ALARM"
    assert event["time"] == event["alarmData"]["state"]["timestamp"] == "2026-12-01T08:09:10.000+0000"


def test_an_ended_execution_becomes_eventbridges_status_change() -> None:
    started = dt.datetime(2026, 12, 1, 8, 0, 0, tzinfo=dt.UTC)
    stopped = started + dt.timedelta(seconds=90)
    env = {"workflow_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:drill-recovery"}
    execution = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:drill-recovery:i-1",
        "name": "i-1",
        "status": "ABORTED",
        "startDate": started,
        "stopDate": stopped,
    }
    event = drill.execution_ended_event(env, execution)
    assert event["detail-type"] == "Step Functions Execution Status Change"
    assert event["resources"] == [execution["executionArn"]]
    assert event["time"] == "2026-12-01T08:01:30Z"
    detail = event["detail"]
    assert (detail["status"], detail["name"], detail["stateMachineArn"]) == (
        "ABORTED",
        "i-1",
        env["workflow_arn"],
    )
    assert detail["stopDate"] - detail["startDate"] == 90_000
    assert json.loads(detail["input"]) == {"incident_id": "i-1", "region": drill.FAILED}


def test_seconds_between_needs_both_times() -> None:
    incident = {"detected_at": "2026-12-01T08:00:00Z", "recovered_at": "2026-12-01T08:00:42.25Z"}
    assert drill.seconds_between(incident, "detected_at", "recovered_at") == 42.25
    assert drill.seconds_between(incident, "detected_at", "acted_at") is None
    assert drill.seconds_between(None, "detected_at", "recovered_at") is None


# --- approve mode ------------------------------------------------------------------

ALICE = "arn:aws:iam::123456789012:user/alice@drill"
BOB = "arn:aws:iam::123456789012:user/bob@drill"


def given(
    person: str, code: int = 0, refused: bool = False, state: str = "AwaitApproval", **extra: object
) -> dict:
    reply = {
        "person": person,
        "verdict": "approve",
        "code": code,
        "said": "",
        "expect_refused": refused,
        "patches_before": 0,
        "state": state,
    }
    reply.update(extra)
    return reply


def approved(identity: str, n: int, of: int) -> dict:
    return {
        "kind": "approval",
        "message": f"approved by {identity} (with failoverctl) ({n} of {of}) to restart",
    }


REQUEST = {
    "subject": "[WARNING] APPROVAL NEEDED: us-east-1 platform",
    "body": "failoverctl approve i-1 --comment",
}


def approval_result(replies: list[dict], entries: list[dict], **extra: object) -> drill.Result:
    fields: dict = {
        "notices": [REQUEST],
        "replies": replies,
        "entries": entries,
        "identities": {"alice": ALICE, "bob": BOB},
    }
    fields.update(extra)
    return result(["rollout_restart"], **fields)


def test_the_approval_drill_wants_the_request_the_approver_and_one_restart() -> None:
    check = scenario("approval").checks
    assert check(approval_result([given("alice")], [approved(ALICE, 1, 1)])) == []
    # Nobody on the timeline, no request, or acted before the answer.
    assert check(approval_result([given("alice")], [])) != []
    assert check(approval_result([given("alice")], [approved(ALICE, 1, 1)], notices=[])) != []
    early = given("alice", patches_before=1)
    assert check(approval_result([early], [approved(ALICE, 1, 1)])) != []
    # The answer failed.
    assert check(approval_result([given("alice", code=1)], [approved(ALICE, 1, 1)])) != []


def test_four_eyes_wants_the_repeat_refused_and_the_workflow_waiting_for_the_second_person() -> None:
    check = scenario("approval-four-eyes").checks
    entries = [approved(ALICE, 1, 2), approved(BOB, 2, 2)]
    repeat = given("alice", code=2, refused=True, said="incident i-1 was already answered by alice")
    assert check(approval_result([given("alice"), repeat, given("bob")], entries)) == []
    # One approval was enough: the workflow had moved on before bob.
    moved_on = given("bob", state="Restore")
    assert check(approval_result([given("alice"), repeat, moved_on], entries)) != []
    # The same person twice was taken.
    taken = given("alice", refused=True)
    assert check(approval_result([given("alice"), taken, given("bob")], entries)) != []
    # Only one person on the timeline.
    assert check(approval_result([given("alice"), repeat, given("bob")], entries[:1])) != []


def test_rejection_and_timeout_want_their_escalation_and_nothing_changed() -> None:
    reason = "the database team is failing over; a restart now would not help"
    rejected = {"kind": "escalated", "message": f"rejected by {BOB} (with failoverctl), because: {reason}"}
    incident = {"id": "i-1", "actions": [], "escalation": "approval_rejected"}
    check = scenario("approval-rejected").checks
    ok = approval_result([given("bob", verdict="reject")], [rejected], incident=incident)
    assert check(ok) == []
    assert check(approval_result([given("bob")], [], incident=incident)) != []
    changed = approval_result(
        [given("bob")], [rejected], incident=incident, patches={drill.FAILED: ["PATCH"]}
    )
    assert check(changed) != []

    timeout = scenario("approval-timeout").checks
    why = {
        "kind": "escalated",
        "message": "no approval within 1 minute to restart (0 of 1 approvals: nobody)",
    }
    no_answer = {"id": "i-1", "actions": [], "escalation": "no_approval"}
    assert timeout(approval_result([], [why], incident=no_answer)) == []
    assert timeout(approval_result([], [], incident=no_answer)) != []
    assert timeout(approval_result([], [why], incident=incident)) != []
