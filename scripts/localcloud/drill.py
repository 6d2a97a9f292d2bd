"""The failover drill: break one region of the local cloud, fire its alarm the
way CloudWatch does, and let the real functions and the real workflow from
``template.yaml`` recover it, showing a live timeline.

Run through ``scripts/drill`` (which installs the tools and brings the local
cloud up); ``scripts/drill --list`` names the scenarios. Each run gets its own
environment (table, topic, health checks, alarms, EKS clusters
``<env>-<region>``, the recovery workflow), its own Lambda runtime emulator
serving the workspace's functions (and a second one, with one service's
endpoint dead, for a scenario that breaks the orchestrator's own
dependencies), calls every function once before the failure (so that no
step waits for a cold start), runs ``reconcile`` on a shortened schedule as
the stack does, and ends with one JSON line:

    {"scenario", "outcome", "incident_id", "actions", "notifications",
     "detect_to_action_s", "time_to_recover_s", "incidents", "repairs",
     "notices", "leases", "failed_attempts"}

``outcome`` is where the newest incident ended (``recovered``,
``escalated``, ``dismissed``, ``reported`` for a dry run), ``no_incident``,
or ``timeout``; ``incidents`` lists every incident (id, phase, what opened
it, escalation cause), ``repairs`` the reconciler's repairs, ``notices``
each delivered notice with how late it arrived (``late_s``, null when on
time) and whether the drill saw it waiting while a fault held notices back
(``held``), ``leases`` the lease items left, ``failed_attempts`` the error type
of each confirm-outage attempt that failed (Lambda retried it), and
``readiness`` (status, summary, every check that did not pass) when the
scenario evaluates readiness before the failure. A readiness drill
(``readiness-drift``) injects no failure: its outcome is ``not_ready`` or
``ready`` and its summary has ``scenario``, ``outcome``, ``incidents``,
``readiness`` and ``changed`` (PATCHes per region).
The exit status is 0 when the outcome and the scenario's checks are what the
scenario expects, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import datetime as dt
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from boto3.dynamodb.types import TypeDeserializer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provision  # noqa: E402
import short_waits  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FAILED, PEER = "us-east-1", "eu-west-1"
# The third region of the scenarios that run in three.
THIRD = "ap-southeast-1"
HEALTH_TAG = "local-cloud:status"
TIMEOUT_SECONDS = 240
# Nothing listens there: the endpoint of a dependency that is down.
DEAD_ENDPOINT = "http://127.0.0.1:9"
OPEN_PHASES = ("confirming", "confirmed", "restoring")
# The execution ends the template's EventBridge rule sends to reconcile.
ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")

# The drill's configuration: every wait a recovery has is seconds, not
# minutes. Most come from the short-wait profile (short-waits.env, which the
# system tests and `local-cloud up` use too); these only the drill shortens.
# The workflow's waits reach it through its execution input, which
# confirm-outage writes from these; the template is not touched.
DRILL_WAITS = {
    # The functions' minimum: how long the reconciler leaves a step alone
    # (a confirmation, a lost start, an undelivered notice, a region just
    # dismissed or recovered) before it repairs it.
    "TAKEOVER_AFTER_SECONDS": "30",
}
# A wait no template parameter sets: the function's own default.
FUNCTION_DEFAULTS = {"TAKEOVER_AFTER_SECONDS": "120"}

# What the drill plays itself, on the same short clock: EventBridge's
# schedule of reconcile (parameter ReconcileSchedule) and Lambda's retries
# of a failed asynchronous invocation of the alarm function.
RECONCILE_EVERY_SECONDS = 5.0  # rate(1 minute)
LAMBDA_RETRY_SECONDS = 5.0  # about 1 min, then 2 min
LAMBDA_RETRIES = 2  # the alarm function's MaximumRetryAttempts
# A notice that reached SNS later than this after it was written waited in
# the outbox (a delivery that works takes well under a second).
LATE_SECONDS = 2.0
# Nothing in flight and the outcome not the expected one (yet): the
# reconciler still gets its chance, the takeover time and a few runs.
QUIET_LIMIT_SECONDS = int(DRILL_WAITS["TAKEOVER_AFTER_SECONDS"]) + 3 * RECONCILE_EVERY_SECONDS
# Fault.until for a dependency that refuses only the alarm's first attempt.
FIRST_ATTEMPT = "first_attempt"
READINESS_FIRST, READINESS_ONLY = "first", "only"
RESTORE_ROLE = "roles/vcluster-platform/platform-failover-restore"
OLDER_IMAGE = "ghcr.io/loft-sh/vcluster-platform:4.7.2"
# Approve mode: a person reads the request, then answers with failoverctl;
# each next answer comes a little later.
REPLY_AFTER_SECONDS = 3.0
REPLY_EVERY_SECONDS = 2.0
APPROVAL_NEEDED = "APPROVAL NEEDED"


@dataclass(frozen=True)
class Reply:
    """One person's answer to an approval request, given with the real
    ``failoverctl --local`` as a moto IAM user of their own, so that STS
    names them as it would name a person on AWS."""

    person: str
    verdict: str  # "approve" or "reject"
    text: str  # the comment, or the reason of a rejection
    # Expected to be refused (the same person twice), changing nothing.
    refused: bool = False


@dataclass(frozen=True)
class Fault:
    """One AWS service the functions cannot reach for a while: they run in a
    second emulator whose endpoint for it is dead, as when that service has
    an outage or refuses every call."""

    # As people say it, and the SDK's endpoint variable suffix
    # (AWS_ENDPOINT_URL_<suffix>).
    service: str
    suffix: str
    # FIRST_ATTEMPT: only the alarm's first confirm-outage attempt goes
    # there. A phase: that emulator serves everything (the alarm, the
    # workflow's tasks, the reconciler) until an incident reaches the phase.
    until: str
    # A fault that holds notices back (SNS) ends only once a notice of that
    # phase is seen waiting in an outbox: the function that reaches the
    # phase may write its notice after the drill saw the phase, and the
    # drill proves each notice was held by seeing it wait, not by timing.
    holds_notices: bool = False

    @property
    def variable(self) -> str:
        return f"AWS_ENDPOINT_URL_{self.suffix}"

    def describe(self) -> str:
        until = (
            "for the first confirm-outage attempt"
            if self.until == FIRST_ATTEMPT
            else f"until an incident is {self.until}"
        )
        return f"{self.service} unreachable for the functions {until} ({self.variable}={DEAD_ENDPOINT})"


@dataclass
class Result:
    """What a run saw, for the report and the scenario's checks."""

    incident: dict | None
    incidents: int
    executions: list[dict]
    notices: list[dict]
    patches: dict[str, list[str]]
    answers: list[dict]
    # Every incident, oldest first; every timeline entry; the reconciler's
    # repairs; every confirm-outage attempt (Lambda's retries included);
    # the lease items left at the end.
    all_incidents: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    attempts: list[dict] = field(default_factory=list)
    leases: int = 0
    # What evaluate-readiness answered before the failure, if it ran.
    readiness: dict | None = None
    # Approve mode: each reply as given (see Approvers.answer), and each
    # person's identity (their IAM user's ARN).
    replies: list[dict] = field(default_factory=list)
    identities: dict[str, str] = field(default_factory=dict)


@dataclass
class Scenario:
    name: str
    summary: str
    expect: str
    # Kubernetes scenario patches per region, and the Route 53 status tags.
    clusters: dict[str, dict] = field(default_factory=dict)
    health: dict[str, str] = field(default_factory=lambda: {FAILED: "Platform", PEER: "Platform"})
    config: dict[str, str] = field(default_factory=dict)
    alarms: int = 1
    # Where the environment runs, and the regions whose alarms fire.
    regions: tuple[str, ...] = (FAILED, PEER)
    failing: tuple[str, ...] = (FAILED,)
    checks: Callable[[Result], list[str]] = lambda _r: []
    # The orchestrator's own failures: a dependency it cannot reach, and the
    # workflow state in which a person stops the execution (StopExecution).
    fault: Fault | None = None
    stop_in: str | None = None
    # Permissions nobody granted: per region, (role, verb, resource) taken
    # out of the cluster's RBAC before the failure.
    rbac: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # READINESS_FIRST: evaluate-readiness runs before the failure;
    # READINESS_ONLY: it is the whole drill (no failure, no alarm).
    readiness: str | None = None
    # Approve mode (config APPROVAL_MODE=approve): the people who answer
    # the request, in order.
    replies: tuple[Reply, ...] = ()


def _patched(result: Result, region: str) -> int:
    return len(result.patches.get(region, []))


def _actions(result: Result) -> list[str]:
    incident = result.incident or {}
    return [a["remedy"]["remedy"] for a in incident.get("actions", []) if a.get("applied")]


def _check(condition: bool, problem: str) -> list[str]:
    return [] if condition else [problem]


def _source(incident: dict) -> str:
    return str(incident.get("trigger", {}).get("source", "?"))


def _failed_attempts(result: Result) -> list[str]:
    return [str(a["errorType"]) for a in result.attempts if "errorType" in a]


def _kinds(result: Result, incident: dict | None) -> list[str]:
    if not incident:
        return []
    return [e["kind"] for e in result.entries if e.get("incident_id") == incident["id"]]


def _delivered(result: Result, subject: str) -> list[dict]:
    return [n for n in result.notices if subject in n["subject"]]


def _flapping(r: Result) -> list[str]:
    first = r.all_incidents[0] if r.all_incidents else {}
    return (
        _check(
            len(r.all_incidents) == 2,
            f"expected 2 incidents (dismissed, then reopened), got {len(r.all_incidents)}",
        )
        + _check(
            first.get("phase") == "dismissed", f"the first incident is {first.get('phase')}, not dismissed"
        )
        + _check(
            _source(r.incident or {}) == "reconciler",
            f"the last incident was opened by {_source(r.incident or {})}, not the reconciler",
        )
        + _check(
            any("confirmed again" in x for x in r.repairs), "the reconciler did not confirm the region again"
        )
        + _check(_actions(r) == ["rollout_restart"], f"expected one restart, got {_actions(r)}")
    )


def _workflow_stopped(r: Result) -> list[str]:
    stopped = [
        n for n in _delivered(r, "recovery stopped without closing") if n["subject"].startswith("[CRITICAL]")
    ]
    return (
        _check(
            [e["status"] for e in r.executions] == ["ABORTED"],
            f"executions: {[e['status'] for e in r.executions]}, expected one ABORTED",
        )
        + _check(
            (r.incident or {}).get("escalation") == "workflow_stopped",
            f"escalation {(r.incident or {}).get('escalation')}, not workflow_stopped",
        )
        + _check(bool(stopped), "no critical notice says the recovery stopped without closing")
        + _check(r.leases == 0, f"{r.leases} lease item(s) left: the region is still held")
        + _check(
            any("ended ABORTED" in x for x in r.repairs),
            "the reconciler did not repair the stopped execution",
        )
    )


def _sns_outage(r: Result) -> list[str]:
    wanted = ("platform outage confirmed", "platform restarted", "platform recovered")
    problems = [
        f"the '{w}' notice arrived {len(_delivered(r, w))} times"
        for w in wanted
        if len(_delivered(r, w)) != 1
    ]
    for held in wanted[:2]:
        if not all(n["held"] for n in _delivered(r, held)):
            problems.append(f"the '{held}' notice was not seen waiting in the outbox while SNS was down")
    return problems + _check(_actions(r) == ["rollout_restart"], f"expected one restart, got {_actions(r)}")


def _findings(r: Result, kind: str, scope: str) -> list[dict]:
    """The readiness checks of ``kind`` about ``scope`` that did not pass."""
    return [
        c
        for c in (r.readiness or {}).get("findings", [])
        if c.get("kind") == kind and c.get("scope") == scope
    ]


def _names(checks: list[dict], detail: str, fix: str) -> bool:
    return any(detail in c.get("detail", "") and fix in (c.get("fix") or "") for c in checks)


def _two_of_three_down(r: Result) -> list[str]:
    by_region = {i["region"]: i for i in r.all_incidents}
    acted = sorted(parse_time(i["acted_at"]) for i in r.all_incidents if i.get("acted_at"))
    spread = float(drill_waits().get("RESTART_SPREAD_SECONDS", "0"))
    return (
        _check(
            sorted(by_region) == sorted((FAILED, PEER)) and len(r.all_incidents) == 2,
            f"expected one incident in each of {FAILED} and {PEER},"
            f" got {[i['region'] for i in r.all_incidents]}",
        )
        + _check(
            all(i["phase"] == "recovered" for i in r.all_incidents),
            f"not every incident recovered: {[(i['region'], i['phase']) for i in r.all_incidents]}",
        )
        + _check(_patched(r, FAILED) == 1 and _patched(r, PEER) == 1, "expected one restart in each")
        + _check(_patched(r, THIRD) == 0, f"{THIRD} was changed")
        + _check(
            len(acted) == 2 and (acted[1] - acted[0]).total_seconds() >= spread,
            f"the restarts were not spread by {spread:g} s: {acted}",
        )
    )


def _readiness_drift(r: Result) -> list[str]:
    status = (r.readiness or {}).get("status")
    return (
        _check(status == "fail", f"readiness {status}, not fail")
        + _check(
            _names(_findings(r, "image_drift", "orchestrator"), f"{PEER} {OLDER_IMAGE}", "set image"),
            f"readiness did not name {PEER}'s older image with its fix",
        )
        + _check(
            _names(
                _findings(r, "kubernetes_permissions", FAILED),
                "restore-platform may not: patch apps/deployments/scale",
                "scripts/grant-eks-access",
            ),
            f"readiness did not name restore-platform's missing permission in {FAILED} with its fix",
        )
        + _check(r.incidents == 0, f"{r.incidents} incidents: nothing failed")
        + _check(_patched(r, FAILED) + _patched(r, PEER) == 0, "the evaluation changed a cluster")
    )


def _rbac_missing(r: Result) -> list[str]:
    told = [n for n in r.notices if "ESCALATION" in n["subject"]]
    return (
        _check(
            _names(
                _findings(r, "kubernetes_permissions", FAILED),
                "restore-platform may not: patch apps/deployments loft",
                "scripts/grant-eks-access",
            ),
            "readiness had not reported restore-platform's missing permission before the outage",
        )
        + _check(
            any("grant-eks-access" in n.get("body", "") for n in told),
            "no escalation notice names scripts/grant-eks-access",
        )
        + _check(_patched(r, FAILED) == 0, f"{FAILED} was changed")
    )


def _retry_after_throttle(r: Result) -> list[str]:
    return (
        _check(
            _failed_attempts(r) == ["UpstreamUnavailable"],
            f"failed attempts {_failed_attempts(r)}, expected the first one UpstreamUnavailable",
        )
        + _check(r.incidents == 1, f"{r.incidents} incidents: the retry did not finish the first one")
        + _check("taken_over" in _kinds(r, r.incident), "nothing took over the unfinished confirmation")
        + _check(_actions(r) == ["rollout_restart"], f"expected one restart, got {_actions(r)}")
    )


def _approval_entries(r: Result) -> list[str]:
    return [e["message"] for e in r.entries if e["kind"] == "approval"]


def _request_delivered(r: Result) -> list[str]:
    incident_id = (r.incident or {}).get("id", "?")
    requests = [n for n in r.notices if APPROVAL_NEEDED in n["subject"]]
    return _check(len(requests) == 1, f"{len(requests)} approval requests delivered, expected 1") + _check(
        all(f"failoverctl approve {incident_id}" in n["body"] for n in requests),
        "the request does not say how to approve",
    )


def _replies_as_expected(r: Result) -> list[str]:
    problems: list[str] = []
    for reply in r.replies:
        refused = reply["code"] != 0
        if refused != reply["expect_refused"]:
            problems.append(
                f"{reply['person']}'s {reply['verdict']} exited {reply['code']}"
                f" (expected {'a refusal' if reply['expect_refused'] else 'success'}): {reply['said']}"
            )
        problems += _check(
            reply["patches_before"] == 0, f"the region was changed before {reply['person']} answered"
        )
    return problems


def _approved_by(r: Result, *people: str) -> list[str]:
    entries = _approval_entries(r)
    return [
        f"no approval by {r.identities.get(p, p)} (with failoverctl) on the timeline: {entries}"
        for p in people
        if not any(m.startswith(f"approved by {r.identities.get(p, p)} (with failoverctl)") for m in entries)
    ]


def _approval(r: Result) -> list[str]:
    return (
        _request_delivered(r)
        + _check(len(r.replies) == 1, f"{len(r.replies)} replies given, expected 1")
        + _replies_as_expected(r)
        + _approved_by(r, "alice")
        + _check(_actions(r) == ["rollout_restart"], f"expected one restart, got {_actions(r)}")
    )


def _approval_rejected(r: Result) -> list[str]:
    reason = "the database team is failing over; a restart now would not help"
    return (
        _request_delivered(r)
        + _replies_as_expected(r)
        + _check((r.incident or {}).get("escalation") == "approval_rejected", "not escalated as rejected")
        + _check(
            any(e["message"].startswith("rejected by ") and reason in e["message"] for e in r.entries),
            "the rejection and its reason are not on the timeline",
        )
        + _check(_patched(r, FAILED) == 0, "the region was changed")
    )


def _approval_timeout(r: Result) -> list[str]:
    escalated = [e["message"] for e in r.entries if e["kind"] == "escalated"]
    return (
        _request_delivered(r)
        + _check((r.incident or {}).get("escalation") == "no_approval", "not escalated for want of approval")
        + _check(
            any("no approval within 1 minute" in m for m in escalated),
            f"the escalation does not say 'no approval within 1 minute': {escalated}",
        )
        + _check(_patched(r, FAILED) == 0, "the region was changed")
    )


def _approval_four_eyes(r: Result) -> list[str]:
    last = r.replies[-1] if r.replies else {}
    return (
        _request_delivered(r)
        + _check(len(r.replies) == 3, f"{len(r.replies)} replies given, expected 3")
        + _replies_as_expected(r)
        + _check(
            "already answered" in (r.replies[1]["said"] if len(r.replies) > 1 else ""),
            "the second approval by the same person was not refused as such",
        )
        + _check(
            last.get("state") == "AwaitApproval",
            f"one approval was enough: the workflow was in {last.get('state')} before the second person",
        )
        + _approved_by(r, "alice", "bob")
        + _check(_actions(r) == ["rollout_restart"], f"expected one restart, got {_actions(r)}")
    )


APPROVE = {"APPROVAL_MODE": "approve"}
CRASHLOOP = {FAILED: {"pods": "crashloop", "after_restart": "ready"}}

SCENARIOS = [
    Scenario(
        "crashloop",
        "pods crash-looping -> rollout restart -> recovered",
        "recovered",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        checks=lambda r: _check(
            _actions(r) == ["rollout_restart"], f"expected one restart, got {_actions(r)}"
        ),
    ),
    Scenario(
        "scaled-to-zero",
        "deployment scaled to 0 -> scaled to 3 -> recovered",
        "recovered",
        clusters={FAILED: {"deployment": {"replicas": 0}, "after_restart": "ready"}},
        checks=lambda r: _check(_actions(r) == ["scale"], f"expected one scaling, got {_actions(r)}"),
    ),
    Scenario(
        "transient",
        "the health check fails once and heals before confirmation -> no action",
        "dismissed",
        health={FAILED: "Failure,Success", PEER: "Platform"},
        checks=lambda r: _check(not r.executions, "a workflow was started")
        + _check(_patched(r, FAILED) == 0, "the region was changed"),
    ),
    Scenario(
        "both-regions-down",
        "both regions fail -> escalation, nothing restarted anywhere",
        "escalated",
        clusters={FAILED: {"pods": "crashloop"}, PEER: {"pods": "crashloop"}},
        checks=lambda r: _check(not r.executions, "a workflow was started")
        + _check(_patched(r, FAILED) + _patched(r, PEER) == 0, "a region was changed"),
    ),
    Scenario(
        "deployment-missing",
        "the platform deployment is gone -> escalation naming the helm / vcluster CLI step",
        "escalated",
        clusters={FAILED: {"deployment": {"exists": False}}},
        checks=lambda r: _check(
            any("helm upgrade" in n["body"] and "vcluster platform start" in n["body"] for n in r.notices),
            "no notice names the helm / vcluster CLI step",
        )
        + _check(_patched(r, FAILED) == 0, "the region was changed"),
    ),
    Scenario(
        "restart-does-not-help",
        "pods keep crashing -> restart budget spent -> escalation, no restart loop",
        "escalated",
        clusters={FAILED: {"pods": "crashloop", "after_restart": ["crashloop"]}},
        checks=lambda r: _check(
            _actions(r) == ["rollout_restart", "rollout_restart"],
            f"expected 2 restarts (the budget), got {_actions(r)}",
        )
        + _check(
            (r.incident or {}).get("escalation") == "restart_budget_spent", "not escalated for the budget"
        ),
    ),
    Scenario(
        "derp-peer-offline",
        "the region recovers but a DERP peer stays offline -> recovered with a degraded-peer warning",
        "recovered",
        clusters={
            FAILED: {"pods": "crashloop", "after_restart": "ready"},
            PEER: {"peers": [{"name": "eu-west-1-peer-2", "online": False, "homeDerpRegion": 900}]},
        },
        checks=lambda r: _check(
            any(n["subject"].startswith("[WARNING]") and "eu-west-1-peer-2" in n["body"] for n in r.notices),
            "no recovery warning names the offline peer",
        ),
    ),
    Scenario(
        "alarm-storm",
        "50 duplicate alarms in one second -> one incident, one execution -> recovered",
        "recovered",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        alarms=50,
        checks=lambda r: _check(r.incidents == 1, f"{r.incidents} incidents")
        + _check(len(r.executions) == 1, f"{len(r.executions)} executions")
        + _check(
            sum(a.get("verdict") == "duplicate" for a in r.answers) == 49,
            "expected 49 duplicate answers: " + ", ".join(sorted({str(a.get("verdict")) for a in r.answers})),
        ),
    ),
    Scenario(
        "dry-run",
        "crash-looping pods with dry run on -> the report says what would be done, nothing changed",
        "reported",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        config={"DRY_RUN": "true"},
        checks=lambda r: _check(_patched(r, FAILED) == 0, "the region was changed")
        + _check(any("[DRY RUN]" in n["subject"] for n in r.notices), "no [DRY RUN] notice"),
    ),
    Scenario(
        "flapping",
        "pods crash-looping, the health check flaps -> dismissed as transient, the alarm stays in ALARM"
        " -> the reconciler confirms again -> restart -> recovered",
        "recovered",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        health={FAILED: "Failure,Success,Failure,Platform", PEER: "Platform"},
        checks=_flapping,
    ),
    Scenario(
        "workflow-stopped",
        "a person stops the recovery workflow during Settle -> the reconciler escalates the incident"
        " and frees the region",
        "escalated",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        # Long enough that the drill surely sees the execution settling.
        config={"ROLLOUT_SETTLE_SECONDS": "10"},
        stop_in="Settle",
        checks=_workflow_stopped,
    ),
    Scenario(
        "sns-outage",
        "SNS is down during the confirmation and the restore -> recovered, every notice delivered"
        " once SNS is back",
        "recovered",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        fault=Fault("SNS", "SNS", until="restoring", holds_notices=True),
        checks=_sns_outage,
    ),
    Scenario(
        "retry-after-throttle",
        "Route 53 refuses the first confirmation attempt -> Lambda's retry joins, the reconciler takes the"
        " confirmation over -> restart -> recovered",
        "recovered",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        fault=Fault("Route 53", "ROUTE_53", until=FIRST_ATTEMPT),
        checks=_retry_after_throttle,
    ),
    Scenario(
        "three-regions",
        f"{FAILED}'s pods crash-loop among three regions -> rollout restart -> recovered",
        "recovered",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        health={FAILED: "Platform", PEER: "Platform", THIRD: "Platform"},
        regions=(FAILED, PEER, THIRD),
        checks=lambda r: _check(
            _actions(r) == ["rollout_restart"], f"expected one restart, got {_actions(r)}"
        )
        + _check(_patched(r, PEER) + _patched(r, THIRD) == 0, "a healthy region was changed"),
    ),
    Scenario(
        "two-of-three-down",
        f"{FAILED} and {PEER} crash-loop, {THIRD} stays healthy -> both restarted, one after the"
        " other -> both recovered, one incident each",
        "recovered",
        clusters={
            FAILED: {"pods": "crashloop", "after_restart": "ready"},
            PEER: {"pods": "crashloop", "after_restart": "ready"},
        },
        health={FAILED: "Platform", PEER: "Platform", THIRD: "Platform"},
        regions=(FAILED, PEER, THIRD),
        failing=(FAILED, PEER),
        checks=_two_of_three_down,
    ),
    Scenario(
        "all-three-down",
        "all three regions fail -> escalated, nothing restarted anywhere",
        "escalated",
        clusters={r: {"pods": "crashloop"} for r in (FAILED, PEER, THIRD)},
        health={FAILED: "Platform", PEER: "Platform", THIRD: "Platform"},
        regions=(FAILED, PEER, THIRD),
        checks=lambda r: _check(not r.executions, "a workflow was started")
        + _check(sum(_patched(r, x) for x in (FAILED, PEER, THIRD)) == 0, "a region was changed"),
    ),
    Scenario(
        "readiness-drift",
        f"{PEER} runs an older platform image and restore-platform may not scale in {FAILED}"
        " -> readiness fails naming both with their fixes, before any outage; nothing changed",
        "not_ready",
        clusters={PEER: {"deployment": {"image": OLDER_IMAGE}}},
        rbac={FAILED: [(RESTORE_ROLE, "patch", "deployments/scale")]},
        readiness=READINESS_ONLY,
        checks=_readiness_drift,
    ),
    Scenario(
        "rbac-missing",
        f"restore-platform may not patch the deployment in {FAILED}, which readiness reports;"
        " then its pods crash-loop -> the restart is refused -> escalated naming grant-eks-access",
        "escalated",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        rbac={FAILED: [(RESTORE_ROLE, "patch", "deployments")]},
        readiness=READINESS_FIRST,
        checks=_rbac_missing,
    ),
    Scenario(
        "approval",
        "approve mode: pods crash-looping -> the restart waits for a person, who approves with"
        " failoverctl -> restart -> recovered, the approver on the timeline",
        "recovered",
        clusters=CRASHLOOP,
        config=APPROVE,
        replies=(Reply("alice", "approve", "pods crash-loop after the node drain; a restart is safe"),),
        checks=_approval,
    ),
    Scenario(
        "approval-rejected",
        "approve mode: a person rejects the restart with a reason -> escalated with the reason,"
        " nothing changed",
        "escalated",
        clusters=CRASHLOOP,
        config=APPROVE,
        replies=(Reply("bob", "reject", "the database team is failing over; a restart now would not help"),),
        checks=_approval_rejected,
    ),
    Scenario(
        "approval-timeout",
        "approve mode, a 1-minute approval timeout: nobody answers -> escalated (no approval within"
        " 1 minute), nothing changed",
        "escalated",
        clusters=CRASHLOOP,
        config=APPROVE | {"APPROVAL_TIMEOUT_MINUTES": "1"},
        checks=_approval_timeout,
    ),
    Scenario(
        "approval-four-eyes",
        "approve mode, 2 approvals required: alice approves (and is refused a second time), the"
        " workflow still waits; bob approves -> restart -> recovered",
        "recovered",
        clusters=CRASHLOOP,
        config=APPROVE | {"REQUIRED_APPROVALS": "2"},
        replies=(
            Reply("alice", "approve", "restart looks safe"),
            Reply("alice", "approve", "approving again", refused=True),
            Reply("bob", "approve", "agreed: restart"),
        ),
        checks=_approval_four_eyes,
    ),
]


# --- the local cloud --------------------------------------------------------


class Cloud:
    """The clients and the admin API of the local cloud, as provision uses them."""

    def __init__(self) -> None:
        self.dynamodb = provision.client("dynamodb")
        self.route53 = provision.client("route53")
        self.sqs = provision.client("sqs")
        self.sfn = provision.client("stepfunctions")
        self.cloudwatch = provision.client("cloudwatch")

    @staticmethod
    def call(method: str, path: str, body: object = None) -> dict:
        return provision.admin(method, path, body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Emulator:
    """``cargo lambda watch`` serving the workspace's functions with one configuration."""

    def __init__(self, env_file: Path, log: Path, concurrency: int, profile: str) -> None:
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                "cargo",
                "lambda",
                "watch",
                "--ignore-changes",
                "--quiet",
                "-A",
                "127.0.0.1",
                "-P",
                str(self.port),
                "--concurrency",
                str(concurrency),
                "--env-file",
                str(env_file),
                *(["--release"] if profile == "release" else []),
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        try:
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                        break
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"cargo lambda watch did not start (log {log})")
                time.sleep(0.1)
        except BaseException:
            # Also on Ctrl-C while it starts: nobody else holds the process yet.
            self.stop()
            raise

    def invoke(self, function: str, payload: dict, timeout: float = 180) -> dict:
        """The function's answer, or its ``{"errorType", "errorMessage"}``."""
        url = f"{self.url}/2015-03-31/functions/{function}/invocations"
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return json.loads(answer.read().decode() or "{}")
        except urllib.error.HTTPError as error:
            return json.loads(error.read().decode() or "{}")

    def stop(self) -> None:
        for sig, wait in ((signal.SIGINT, 3), (signal.SIGKILL, 3)):
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(wait)
                return
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue


def no_answer(error: Exception) -> dict:
    """An invocation the emulator did not answer, shaped like a function error."""
    return {"errorType": "NoAnswer", "errorMessage": f"the Lambda emulator did not answer: {error}"}


class Functions:
    """The environment's Lambda runtime emulators. ``healthy`` runs the
    drill's configuration; a scenario with a fault also gets ``faulty``, the
    same functions with the fault's endpoint dead. The one ``serving`` is
    registered for the environment (so the workflow's Lambda tasks go to
    it) and runs the alarm's and the reconciler's invocations: swapping it
    is a dependency going down or coming back for every function at once."""

    def __init__(
        self, cloud: Cloud, env: dict, work: Path, fault: Fault | None, alarms: int, profile: str
    ) -> None:
        self.cloud, self.env = cloud, env
        # Set when the run ends: retries and schedules stop waiting.
        self.closing = threading.Event()
        # Instances per function: the emulator starts up to that many at a
        # function's first call while the first one starts (each a `cargo
        # run`), so no more than a run calls at once: one workflow task and
        # a late attempt of it, or the alarms of a storm.
        self.healthy = Emulator(
            work / "functions.env", work / "emulator.log", 8 if alarms > 1 else 2, profile
        )
        self.faulty: Emulator | None = None
        if fault is not None:
            broken = work / "functions-broken.env"
            broken.write_text(
                (work / "functions.env").read_text()
                + provision.env_line(fault.variable, DEAD_ENDPOINT)
                + "\n"
            )
            try:
                self.faulty = Emulator(broken, work / "emulator-broken.log", 2, profile)
            except BaseException:
                self.healthy.stop()
                raise
        self.serving = self.healthy

    def warm_up(self, alarm_name: str) -> str:
        """Calls every function once in every emulator, harmlessly, so that
        no step of the recovery waits for a cold start: the emulator starts
        an instance with `cargo run`, which rebuilds what changed in the
        working tree since the drill's build, and on 2 cores a few of those
        at once took longer than the verification deadline. A function that
        does not start is an error here, not a hung step later. Answers
        what reconcile found before the failure."""
        ok = json.loads((ROOT / "events/confirm-outage-alarm-ok.json").read_text())
        ok["alarmData"]["alarmName"] = alarm_name
        calls = {
            # Nothing to do for an OK alarm; no open incident to restore,
            # verify or escalate (InvalidEvent, nothing written); a report
            # of the peers; a reconcile run, as every minute on the stack.
            "confirm-outage": ok,
            "restore-platform": {"region": FAILED, "dry_run": True},
            "verify-recovery": {"incident_id": "drill-warm-up"},
            "escalate-incident": {
                "incident_id": "drill-warm-up",
                "failure": {"Error": "DrillWarmUp", "Cause": ""},
            },
            "check-derp-peers": {},
            "reconcile": {"reason": "drill: before the failure"},
            # An answer about no incident: refused (InvalidEvent), nothing written.
            "approve-remedy": {"incident_id": "drill-warm-up", "answer": "approve", "by": "drill"},
        }
        emulators = [e for e in (self.healthy, self.faulty) if e is not None]
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls) * len(emulators)) as pool:
            answers = {
                (e, f): pool.submit(e.invoke, f, payload, 120)
                for e in emulators
                for f, payload in calls.items()
            }
            for (emulator, function), answer in answers.items():
                try:
                    answer.result()
                except (OSError, http.client.HTTPException, ValueError) as error:
                    raise RuntimeError(
                        f"{function} did not start in the emulator at {emulator.url} ({error});"
                        f" a build error in the working tree? see {emulator.log}"
                    ) from error
        baseline = answers[(self.serving, "reconcile")].result()
        return str(baseline.get("errorType") or f"{baseline.get('repairs')} repairs")

    def serve(self, emulator: Emulator) -> None:
        self.cloud.call("PUT", f"/lambda/{self.env['name']}", {"endpoint": emulator.url})
        self.serving = emulator

    def stop(self) -> None:
        self.closing.set()
        try:
            self.cloud.call("DELETE", f"/lambda/{self.env['name']}")
        except provision.Failure:
            pass
        for emulator in (self.faulty, self.healthy):
            if emulator is not None:
                emulator.stop()


class Approvers:
    """The people of a scenario in approve mode. Each is a moto IAM user with
    an access key of their own; they answer the request with the real
    ``failoverctl --local`` (those keys in its environment, so that STS
    names them), a few seconds after the workflow starts to wait, one after
    the other."""

    def __init__(self, env: dict, work: Path, replies: tuple[Reply, ...], profile: str) -> None:
        self.replies, self.profile = replies, profile
        self.target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
        self.env_file = work / "failoverctl-env.json"
        self.env_file.write_text(json.dumps({"name": env["name"], "function_env": env["function_env"]}))
        iam = provision.client("iam")
        self.keys: dict[str, tuple[str, str]] = {}
        self.identities: dict[str, str] = {}
        for person in dict.fromkeys(r.person for r in replies):
            # IAM user names are unique in the account: one per run.
            user = f"{person}@{env['name']}"[:64]
            self.identities[person] = iam.create_user(UserName=user)["User"]["Arn"]
            key = iam.create_access_key(UserName=user)["AccessKey"]
            self.keys[person] = (key["AccessKeyId"], key["SecretAccessKey"])
        self.asked_at: float | None = None
        self.given: list[dict] = []

    def step(self, items: list[dict], timeline: Timeline, regions: dict, cloud: Cloud) -> None:
        """Waits for the workflow's wait (its task token kept), then gives
        each reply when it is due."""
        if self.asked_at is None:
            waiting = [i for i in items if i["sk"] == "TASK_TOKEN"]
            if not waiting:
                return
            self.asked_at = time.monotonic()
            self.incident_id = waiting[0]["pk"].removeprefix("INCIDENT#")
            if self.replies:
                timeline.note(
                    utcnow(),
                    "drill",
                    "the workflow waits for approval;"
                    f" people answer with failoverctl in {REPLY_AFTER_SECONDS:g} s",
                )
        if len(self.given) == len(self.replies):
            return
        due = self.asked_at + REPLY_AFTER_SECONDS + REPLY_EVERY_SECONDS * len(self.given)
        if time.monotonic() >= due:
            self.answer(self.replies[len(self.given)], timeline, regions, cloud)

    def answer(self, reply: Reply, timeline: Timeline, regions: dict, cloud: Cloud) -> None:
        running = [e for e in timeline.entered.values() if e]
        flag = "--comment" if reply.verdict == "approve" else "--reason"
        command = ["failoverctl", "--local", reply.verdict, self.incident_id, flag, reply.text]
        key_id, secret = self.keys[reply.person]
        asked = utcnow()
        done = subprocess.run(
            [str(self.target / self.profile / "failoverctl"), *command[1:]],
            cwd=ROOT,
            env=os.environ
            | {
                "FAILOVERCTL_LOCAL_ENV": str(self.env_file),
                "AWS_ACCESS_KEY_ID": key_id,
                "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_SESSION_TOKEN": "",
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        said = (done.stdout.strip() or done.stderr.strip()).splitlines()
        self.given.append(
            {
                "person": reply.person,
                "verdict": reply.verdict,
                "code": done.returncode,
                "said": said[-1] if said else "",
                "expect_refused": reply.refused,
                # What the region and the workflow looked like just before.
                "patches_before": len(cluster_patches(cloud, regions).get(FAILED, [])),
                "state": running[-1][-1] if running else None,
            }
        )
        shown = " ".join(f'"{a}"' if " " in a else a for a in command)
        timeline.note(
            asked,
            reply.person,
            f"{shown} -> exit {done.returncode}: {said[-1] if said else '(nothing)'}",
        )


# --- watching ---------------------------------------------------------------


def plain(item: dict) -> dict:
    deserialize = TypeDeserializer().deserialize
    return {k: deserialize(v) for k, v in item.items()}


def parse_time(text: str) -> dt.datetime:
    """RFC 3339 as the functions write it (up to nanoseconds) or SNS does."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return dt.datetime.fromisoformat(text)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


Row = tuple[dt.datetime, str, str]


class Timeline:
    """Prints what happens, once each, as seconds since the failure. Other
    threads (the alarm's retries, the reconciler) hand their rows over with
    ``note``; they are printed with the next poll's."""

    def __init__(self, cloud: Cloud, env: dict, t0: dt.datetime) -> None:
        self.cloud, self.env, self.t0 = cloud, env, t0
        self.seen: set[str] = set()
        self.notices: list[dict] = []
        self.phases: dict[str, str] = {}
        # Notice id -> when it was written, for notices seen in an outbox;
        # the states each execution entered; the last scan of the table.
        self.written: dict[str, dt.datetime] = {}
        # While a fault holds notices back: the ids seen waiting meanwhile.
        self.holding = False
        self.held: set[str] = set()
        self.entered: dict[str, list[str]] = {}
        self.last_items: list[dict] = []
        self._notes: list[Row] = []
        self._lock = threading.Lock()

    def line(self, at: dt.datetime, source: str, text: str) -> None:
        since = (at - self.t0).total_seconds()
        print(f"  +{since:6.1f}s  {source:<16} {text}", flush=True)

    def note(self, at: dt.datetime, source: str, text: str) -> None:
        with self._lock:
            self._notes.append((at, source, text))

    def items(self) -> list[dict]:
        pages = self.cloud.dynamodb.get_paginator("scan").paginate(TableName=self.env["table"])
        return [plain(i) for page in pages for i in page["Items"]]

    def poll(self) -> tuple[list[dict], list[dict]]:
        items = self.items()
        self.last_items = items
        incidents = [i for i in items if i["sk"] == "INCIDENT"]
        now = utcnow()
        with self._lock:
            events: list[Row] = self._notes
            self._notes = []
        for incident in incidents:
            # The phase as last written; a change shows at the write that made it.
            before = self.phases.get(incident["id"])
            if incident["phase"] != before:
                self.phases[incident["id"]] = incident["phase"]
                change = f"{before} -> {incident['phase']}" if before else incident["phase"]
                events.append((parse_time(incident["updated_at"]), "phase", change))
            for notice in incident.get("outbox", []):
                # Shown once it has waited longer than a delivery takes.
                written = parse_time(notice["created_at"])
                self.written.setdefault(notice["id"], written)
                if self.holding:
                    self.held.add(notice["id"])
                key = f"outbox#{notice['id']}"
                if key not in self.seen and (now - written).total_seconds() > LATE_SECONDS:
                    self.seen.add(key)
                    since = (written - self.t0).total_seconds()
                    events.append(
                        (
                            now,
                            "outbox",
                            f"{notice['subject']} (written at +{since:.1f}s) waits: SNS did not take it",
                        )
                    )
        for entry in items:
            # "notified" entries repeat the SNS rows.
            if (
                entry["sk"].startswith("TIMELINE#")
                and entry["sk"] not in self.seen
                and entry["kind"] != "notified"
            ):
                self.seen.add(entry["sk"])
                events.append((parse_time(entry["at"]), entry["kind"], entry["message"]))
        executions = self.cloud.sfn.list_executions(stateMachineArn=self.env["workflow_arn"])["executions"]
        for execution in executions:
            history = self.cloud.sfn.get_execution_history(
                executionArn=execution["executionArn"], maxResults=1000
            )
            for event in history["events"]:
                key = f"{execution['executionArn']}#{event['id']}"
                if key in self.seen:
                    continue
                self.seen.add(key)
                if "stateEnteredEventDetails" in event:
                    state = event["stateEnteredEventDetails"]["name"]
                    self.entered.setdefault(execution["executionArn"], []).append(state)
                    events.append((event["timestamp"], "workflow", state))
                elif event["type"] in (
                    "ExecutionSucceeded",
                    "ExecutionFailed",
                    "ExecutionTimedOut",
                    "ExecutionAborted",
                ):
                    events.append((event["timestamp"], "workflow", event["type"]))
        while True:
            answer = self.cloud.sqs.receive_message(QueueUrl=self.env["queue_url"], MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                at = parse_time(envelope["Timestamp"])
                notice_id = envelope.get("MessageAttributes", {}).get("notice_id", {}).get("Value")
                written = self.written.get(notice_id or "")
                late = round((at - written).total_seconds(), 1) if written else None
                late = late if late is not None and late > LATE_SECONDS else None
                notice = {
                    "subject": envelope.get("Subject", ""),
                    "body": envelope.get("Message", ""),
                    "id": notice_id,
                    "late_s": late,
                    "held": notice_id in self.held,
                }
                self.notices.append(notice)
                events.append(
                    (at, "SNS", notice["subject"] + (f" (late: written {late:.1f}s before)" if late else ""))
                )
                self.cloud.sqs.delete_message(
                    QueueUrl=self.env["queue_url"], ReceiptHandle=message["ReceiptHandle"]
                )
        for at, source, text in sorted(events, key=lambda e: e[0]):
            self.line(at.astimezone(dt.UTC), source, text)
        return incidents, executions


# --- the reconciler ---------------------------------------------------------


def scheduled_event(env: dict) -> dict:
    """EventBridge's ``Scheduled Event`` of the reconcile rule, now."""
    event = json.loads((ROOT / "events/reconcile-scheduled.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["time"] = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    event["resources"] = [f"arn:aws:events:{provision.REGION}:123456789012:rule/{env['name']}-reconcile"]
    return event


def execution_ended_event(env: dict, execution: dict) -> dict:
    """The ``Step Functions Execution Status Change`` of an execution that ended."""
    event = json.loads((ROOT / "events/reconcile-execution-ended.json").read_text())
    stopped = execution.get("stopDate") or utcnow()
    event["id"] = str(uuid.uuid4())
    event["time"] = stopped.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event["resources"] = [execution["executionArn"]]
    event["detail"].update(
        executionArn=execution["executionArn"],
        stateMachineArn=env["workflow_arn"],
        name=execution["name"],
        status=execution["status"],
        startDate=int(execution["startDate"].timestamp() * 1000),
        stopDate=int(stopped.timestamp() * 1000),
        input=json.dumps({"incident_id": execution["name"], "region": FAILED}),
    )
    return event


class Reconciler:
    """``reconcile`` as the stack runs it: on its schedule (every
    RECONCILE_EVERY_SECONDS instead of every minute) and on every recovery
    execution that ends FAILED, TIMED_OUT or ABORTED (the template's
    EventBridge rule), one run at a time, through the emulator serving at
    the time. Each repair is a timeline row. It is started once the alarm
    has been handled, so that its own Route 53 reads do not take the values
    of a scripted health sequence that the confirmation is meant to read."""

    def __init__(self, functions: Functions, env: dict, timeline: Timeline) -> None:
        self.functions, self.env, self.timeline = functions, env, timeline
        self.repairs: list[str] = []
        self.failures: list[dict] = []
        self.faulted: list[dict] = []
        self.runs = 0
        self._pending: list[dict] = []
        self._signalled: set[str] = set()
        self._busy = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def idle(self) -> bool:
        """No run in flight and none waiting."""
        with self._lock:
            return not self._busy and not self._pending

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="reconcile", daemon=True)
        self._thread.start()

    def execution_ended(self, execution: dict) -> None:
        """EventBridge's rule: one run per execution that ended without succeeding."""
        with self._lock:
            if execution["executionArn"] in self._signalled:
                return
            self._signalled.add(execution["executionArn"])
            self._pending.append(execution_ended_event(self.env, execution))
        self._wake.set()

    def stop(self, wait: float) -> None:
        """No more runs; waits up to ``wait`` seconds for one in flight."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(wait)

    def _loop(self) -> None:
        due = time.monotonic() + RECONCILE_EVERY_SECONDS
        while not self._stop.is_set() and not self.functions.closing.is_set():
            self._wake.wait(max(0.0, due - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                event = self._pending.pop(0) if self._pending else None
                if event is None and time.monotonic() < due:
                    continue
                self._busy = True
            try:
                if event is None:
                    due = time.monotonic() + RECONCILE_EVERY_SECONDS
                    event = scheduled_event(self.env)
                self._run(event)
            finally:
                with self._lock:
                    self._busy = False

    def _run(self, event: dict) -> None:
        if event.get("detail-type") == "Step Functions Execution Status Change":
            detail = event["detail"]
            self.timeline.note(
                utcnow(),
                "reconcile",
                f"run by EventBridge: execution {detail['name']} ended {detail['status']}",
            )
        emulator = self.functions.serving
        try:
            answer = emulator.invoke("reconcile", event)
        except (OSError, http.client.HTTPException, ValueError) as error:
            answer = no_answer(error)
        self.runs += 1
        if "errorType" in answer:
            # A run that fails while a dependency is down is the fault's
            # symptom (reconcile fails the run on what it cannot repair, so
            # that it shows in the function's errors), not a problem.
            broken = emulator is self.functions.faulty
            (self.faulted if broken else self.failures).append(answer)
            during = " (the dependency is down)" if broken else ""
            self.timeline.note(
                utcnow(),
                "reconcile",
                f"failed{during}: {answer['errorType']}: {answer.get('errorMessage', '')}",
            )
            return
        at = parse_time(answer["at"]) if answer.get("at") else utcnow()
        for region in answer.get("regions", []):
            for repair in region.get("repairs", []):
                self.repairs.append(f"{region['region']}: {repair}")
                self.timeline.note(at, "reconcile", f"{region['region']}: {repair}")
            if region.get("error"):
                self.timeline.note(at, "reconcile", f"{region['region']}: not reconciled: {region['error']}")


# --- a run ------------------------------------------------------------------


def alarm_event(alarm_name: str, now: dt.datetime) -> dict:
    event = json.loads((ROOT / "events/confirm-outage-alarm-action.json").read_text())
    event["alarmData"]["alarmName"] = alarm_name
    event["time"] = now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    event["alarmData"]["state"]["timestamp"] = event["time"]
    return event


def alarm_invocation(functions: Functions, alarm: dict, first: Emulator, timeline: Timeline) -> list[dict]:
    """One alarm action: Lambda's asynchronous invocation of confirm-outage
    and, when an attempt fails, Lambda's retries of it, each through the
    emulator serving by then. Every attempt's answer, the last one last.

    Lambda retries with the same request id, which resumes at once what the
    attempt left; ``cargo lambda watch`` gives every invocation a request id
    of its own, so here a retry is another request for the open incident:
    it joins, and the reconciler takes the confirmation over once it has
    been idle for TAKEOVER_AFTER_SECONDS (the path of a retry that comes
    too late, or of a second alarm)."""
    attempts: list[dict] = []
    emulator = first
    for attempt in range(LAMBDA_RETRIES + 1):
        try:
            answer = emulator.invoke("confirm-outage", copy.deepcopy(alarm))
        except (OSError, http.client.HTTPException, ValueError) as error:
            answer = no_answer(error)
        attempts.append(answer)
        if "errorType" not in answer or functions.closing.is_set():
            break
        retry = attempt < LAMBDA_RETRIES
        then = (
            f"Lambda retries it in {LAMBDA_RETRY_SECONDS:g} s"
            if retry
            else "Lambda gives up (dead-letter queue)"
        )
        timeline.note(
            utcnow(),
            "alarm",
            f"confirm-outage failed: {answer['errorType']}: {answer.get('errorMessage', '')}; {then}",
        )
        if not retry or functions.closing.wait(LAMBDA_RETRY_SECONDS):
            break
        emulator = functions.serving
    return attempts


def drill_waits(profile: Path = short_waits.PROFILE) -> dict[str, str]:
    """The functions' waits in a drill: the short-wait profile, then the drill's own."""
    return short_waits.read_profile(profile) | DRILL_WAITS


def template_defaults(document: dict) -> dict[str, str]:
    """Template parameter -> its Default; a parameter without one (Regions)
    is left out."""
    return {
        k: str(v["Default"])
        for k, v in (document.get("Parameters") or {}).items()
        if isinstance(v, dict) and "Default" in v
    }


def parameters_by_variable(document: dict) -> dict[str, str]:
    """Function variable -> the template parameter that sets it, from the
    template's ``Globals`` (``VARIABLE: !Ref Parameter``)."""
    function = (document.get("Globals") or {}).get("Function") or {}
    variables = (function.get("Environment") or {}).get("Variables") or {}
    return {
        variable: value["Ref"]
        for variable, value in variables.items()
        if isinstance(value, dict) and list(value) == ["Ref"]
    }


def shortened(waits: dict[str, str], document: dict) -> list[str]:
    """``VARIABLE <default on the stack> -> <drill value>`` for each wait."""
    parameters = parameters_by_variable(document)
    defaults = template_defaults(document)
    lines = []
    for variable, value in waits.items():
        parameter = parameters.get(variable)
        before = defaults.get(parameter, "?") if parameter else FUNCTION_DEFAULTS.get(variable, "?")
        lines.append(f"{variable} {before} -> {value}")
    return lines


def seconds_between(incident: dict | None, start: str, end: str) -> float | None:
    if not incident or not incident.get(start) or not incident.get(end):
        return None
    return round((parse_time(incident[end]) - parse_time(incident[start])).total_seconds(), 2)


def provision_environment(
    name: str, regions: tuple[str, ...], config: dict[str, str], env_file: Path | None = None
) -> dict:
    """A new environment of the local cloud (``scripts/local-cloud provision``)
    with ``config`` for its functions; RuntimeError with provision's words."""
    provisioned = subprocess.run(
        [str(ROOT / "scripts/local-cloud"), "provision", "--name", name, "--regions", ",".join(regions)]
        + (["--env-file", str(env_file)] if env_file else [])
        + [a for k, v in config.items() for a in ("--env", f"{k}={v}")],
        check=False,
        capture_output=True,
        text=True,
    )
    if provisioned.returncode != 0:
        raise RuntimeError(f"provisioning {name} failed: {provisioned.stderr.strip()}")
    return json.loads(provisioned.stdout)


def run(scenario: Scenario, profile: str = "debug") -> int:
    cloud = Cloud()
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S")
    name = f"drill-{scenario.name}-{stamp}-{os.getpid()}"
    work = ROOT / "target" / "drill" / name
    work.mkdir(parents=True, exist_ok=True)
    waits = drill_waits()
    config = waits | scenario.config
    env = provision_environment(name, scenario.regions, config, work / "functions.env")
    regions = {r["name"]: r for r in env["regions"]}
    document = provision.load_template()
    defaults = template_defaults(document)

    print(f"drill {scenario.name}: {scenario.summary}")
    print(
        f"  environment {name}: {', '.join(regions)};"
        " the platform: deployment loft, 3 ready pods, DERP peers online"
    )
    print("  waits shortened for the drill (function configuration; the workflow gets its waits")
    print(f"  through the execution input confirm-outage writes): {'; '.join(shortened(waits, document))}")
    print(
        "  played by the drill on the same short clock:"
        f" reconcile every {RECONCILE_EVERY_SECONDS:g} s once the alarm was"
        f" handled (ReconcileSchedule {defaults.get('ReconcileSchedule', '?')}),"
    )
    print(
        f"  and on every execution that ends {', '.join(ENDED_BADLY)};"
        " Lambda's retry of a failed alarm invocation"
        f" after {LAMBDA_RETRY_SECONDS:g} s (about 1 min, then 2 min)"
    )
    if scenario.config:
        print(f"  scenario configuration: {', '.join(f'{k}={v}' for k, v in scenario.config.items())}")

    functions = Functions(cloud, env, work, scenario.fault, scenario.alarms, profile)
    try:
        return follow(scenario, cloud, env, regions, functions, work, profile)
    finally:
        functions.stop()


def reached(phase: str, until: str) -> bool:
    """Whether an incident in ``phase`` has got as far as ``until``: an open
    phase or any later one, a closed phase itself."""
    if until in OPEN_PHASES:
        return phase not in OPEN_PHASES[: OPEN_PHASES.index(until)]
    return phase == until


def fault_ends(fault: Fault, incident: dict) -> bool:
    """Whether ``incident`` ends ``fault``: it reached the fault's phase and,
    for a fault that holds notices back, a notice of that phase waits."""
    if not reached(incident["phase"], fault.until):
        return False
    return not fault.holds_notices or any(n.get("phase") == fault.until for n in incident.get("outbox", []))


def patch_clusters(scenario: Scenario, cloud: Cloud, regions: dict) -> None:
    for region, patch in scenario.clusters.items():
        cloud.call("PATCH", f"/clusters/{regions[region]['cluster']}/scenario", patch)


def take_out_permissions(scenario: Scenario, cloud: Cloud, regions: dict) -> None:
    for region, removals in scenario.rbac.items():
        for role, verb, resource in removals:
            cloud.call(
                "DELETE",
                f"/clusters/{regions[region]['cluster']}/rbac/{role}/verbs/{verb}?resource={resource}",
            )
            print(f"  RBAC of {region}: {verb} on {resource} taken out of {role}")


def evaluate_readiness(functions: Functions) -> dict:
    """evaluate-readiness by hand, as a person (or its schedule) runs it;
    prints its report. Its probes reach the functions through the emulator
    serving the environment."""
    answer = functions.serving.invoke("evaluate-readiness", {"reason": "drill: before any outage"})
    if "errorType" in answer:
        raise RuntimeError(
            f"evaluate-readiness failed: {answer['errorType']}: {answer.get('errorMessage', '')}"
        )
    print(f"  readiness: {answer.get('summary')}")
    for check in answer.get("findings", []):
        print(f"    {check['status'].upper():<5} {check['kind']} ({check['scope']}): {check['detail']}")
        print(f"          fix: {check.get('fix')}")
    return answer


def readiness_summary(answer: dict | None) -> dict | None:
    if answer is None:
        return None
    keys = ("kind", "scope", "status", "detail", "fix")
    return {
        "status": answer.get("status"),
        "summary": answer.get("summary"),
        "findings": [{k: c.get(k) for k in keys} for c in answer.get("findings", [])],
    }


def cluster_patches(cloud: Cloud, regions: dict) -> dict[str, list[str]]:
    """Per region, the paths of the PATCHes its cluster accepted."""
    patches = {}
    for region, entry in regions.items():
        requests = cloud.call("GET", f"/clusters/{entry['cluster']}/requests")["requests"]
        patches[region] = [r["path"] for r in requests if r["method"] == "PATCH" and r["status"] < 300]
    return patches


def verdict(scenario: Scenario, outcome: str, problems: list[str]) -> bool:
    """Prints the report's last lines: whether the drill went as expected."""
    for problem in problems:
        print(f"  PROBLEM      {problem}")
    ok = outcome == scenario.expect and not problems
    print(f"  result       {'as expected' if ok else 'NOT as expected'}")
    return ok


def readiness_drill(scenario: Scenario, cloud: Cloud, env: dict, regions: dict, answer: dict) -> int:
    """A drill that is the evaluation alone: its report, judged."""
    pages = cloud.dynamodb.get_paginator("scan").paginate(TableName=env["table"])
    items = [plain(i) for page in pages for i in page["Items"]]
    incidents = [i for i in items if i["sk"] == "INCIDENT"]
    patches = cluster_patches(cloud, regions)
    result = Result(None, len(incidents), [], [], patches, [], readiness=answer)
    problems = scenario.checks(result)
    outcome = "not_ready" if answer.get("status") == "fail" else "ready"
    print()
    print(f"report ({scenario.name}):")
    print(f"  outcome      {outcome} (expected {scenario.expect})")
    print(f"  incidents    {len(incidents)}")
    print(f"  changed      {'; '.join(f'{r}: {len(p)} PATCH' for r, p in patches.items())}")
    ok = verdict(scenario, outcome, problems)
    summary = {
        "scenario": scenario.name,
        "outcome": outcome,
        "incidents": [],
        "readiness": readiness_summary(answer),
        "changed": {r: len(p) for r, p in patches.items()},
    }
    print(json.dumps(summary), flush=True)
    return 0 if ok else 1


def follow(
    scenario: Scenario, cloud: Cloud, env: dict, regions: dict, functions: Functions, work: Path, profile: str
) -> int:
    fault = scenario.fault
    approve = scenario.config.get("APPROVAL_MODE") == "approve"
    approvers = Approvers(env, work, scenario.replies, profile) if approve else None
    # Until its fault ends, a broken dependency breaks it for every function.
    functions.serve(
        functions.faulty if fault and fault.until != FIRST_ATTEMPT and functions.faulty else functions.healthy
    )
    started = time.monotonic()
    found = functions.warm_up(regions[FAILED]["alarm_names"][0])
    print(
        f"  every function started before the failure ({time.monotonic() - started:.1f} s);"
        f" reconcile before the failure: {found}"
    )
    if scenario.readiness == READINESS_ONLY:
        patch_clusters(scenario, cloud, regions)
        take_out_permissions(scenario, cloud, regions)
        return readiness_drill(scenario, cloud, env, regions, evaluate_readiness(functions))
    take_out_permissions(scenario, cloud, regions)
    readiness = evaluate_readiness(functions) if scenario.readiness == READINESS_FIRST else None
    patch_clusters(scenario, cloud, regions)
    t0 = dt.datetime.now(dt.UTC)
    for region, status in scenario.health.items():
        cloud.route53.change_tags_for_resource(
            ResourceType="healthcheck",
            ResourceId=regions[region]["health_check_id"],
            AddTags=[{"Key": HEALTH_TAG, "Value": status}],
        )
    # CloudWatch moves the alarm when the health check fails; moto does not.
    alarm_names = [regions[region]["alarm_names"][0] for region in scenario.failing]
    for alarm_name in alarm_names:
        cloud.cloudwatch.set_alarm_state(
            AlarmName=alarm_name,
            StateValue="ALARM",
            StateReason="Threshold Crossed: the drill broke the region (HealthCheckStatus < 1)",
        )
    timeline = Timeline(cloud, env, t0)
    broke = ", ".join(f"{r}: {json.dumps(p)}" for r, p in scenario.clusters.items()) or "health check only"
    health = "; ".join(f"{r} {scenario.health[r]}" for r in scenario.failing)
    timeline.line(t0, "drill", f"failure injected ({broke}; health {health})")
    if fault:
        timeline.line(t0, "drill", fault.describe())

    first = functions.faulty if fault and functions.faulty else functions.healthy
    calls = len(alarm_names) * scenario.alarms
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(calls, 50))
    invocations = []
    for alarm_name in alarm_names:
        timeline.line(
            t0, "alarm", f"{alarm_name} OK -> ALARM" + (f" x{scenario.alarms}" if scenario.alarms > 1 else "")
        )
        alarm = alarm_event(alarm_name, t0)
        invocations += [
            pool.submit(alarm_invocation, functions, alarm, first, timeline) for _ in range(scenario.alarms)
        ]
    reconciler = Reconciler(functions, env, timeline)

    deadline = time.monotonic() + TIMEOUT_SECONDS
    incidents: list[dict] = []
    executions: list[dict] = []
    quiet_since: float | None = None
    fault_over = fault is None or fault.until == FIRST_ATTEMPT
    timeline.holding = not fault_over and fault is not None and fault.holds_notices
    stopped = False
    try:
        while time.monotonic() < deadline:
            time.sleep(0.3)
            # No reconcile run in flight or finished while the table is read.
            settled_before = reconciler.idle, reconciler.runs
            incidents, executions = timeline.poll()
            answered = all(f.done() for f in invocations)
            if answered and not reconciler.started:
                reconciler.start()
                timeline.note(
                    utcnow(), "reconcile", f"scheduled every {RECONCILE_EVERY_SECONDS:g} s from now"
                )
            if not fault_over and fault and any(fault_ends(fault, i) for i in incidents):
                functions.serve(functions.healthy)
                fault_over = True
                timeline.holding = False
                timeline.note(utcnow(), "drill", f"{fault.service} is back: the functions reach it again")
            if scenario.stop_in and not stopped:
                for execution in executions:
                    if execution["status"] == "RUNNING" and scenario.stop_in in timeline.entered.get(
                        execution["executionArn"], []
                    ):
                        timeline.note(
                            utcnow(),
                            "drill",
                            f"a person stops execution {execution['name']}"
                            f" in {scenario.stop_in} (StopExecution)",
                        )
                        cloud.sfn.stop_execution(
                            executionArn=execution["executionArn"],
                            cause="stopped by a person during the drill",
                        )
                        stopped = True
            if approvers:
                approvers.step(timeline.last_items, timeline, regions, cloud)
            for execution in executions:
                if execution["status"] in ENDED_BADLY:
                    reconciler.execution_ended(execution)
            closed = bool(incidents) and all(
                not i.get("outbox") and i["phase"] not in OPEN_PHASES for i in incidents
            )
            running = any(e["status"] == "RUNNING" for e in executions)
            if answered and not running and (closed or not incidents):
                newest = max(incidents, key=lambda i: i["detected_at"]) if incidents else None
                now_at = newest["phase"] if newest else "no_incident"
                there = now_at == scenario.expect
                if quiet_since is None and not there:
                    timeline.note(
                        utcnow(),
                        "drill",
                        f"nothing in flight, the outcome is {now_at}: the reconciler has"
                        f" {QUIET_LIMIT_SECONDS:g} s to act",
                    )
                quiet_since = quiet_since or time.monotonic()
                quiet = time.monotonic() - quiet_since
                # The last notices in flight; the reconciler's chance to act
                # (never ended in the middle of one of its runs).
                settled = settled_before == (True, reconciler.runs) and reconciler.idle
                if settled and ((there and quiet > 1.5) or quiet > QUIET_LIMIT_SECONDS):
                    break
            else:
                quiet_since = None
        timed_out = time.monotonic() >= deadline
    finally:
        reconciler.stop(wait=0)
    # A run in flight finishes (and is shown) before the report.
    reconciler.stop(wait=120)
    pool.shutdown(wait=False, cancel_futures=True)
    attempts = [f.result() for f in invocations if f.done()]
    answers = [a[-1] for a in attempts if a]
    incidents, executions = timeline.poll()
    items = timeline.last_items

    incidents.sort(key=lambda i: i["detected_at"])
    incident = incidents[-1] if incidents else None
    outcome = "timeout" if timed_out else (incident["phase"] if incident else "no_incident")
    patches = cluster_patches(cloud, regions)
    result = Result(
        incident,
        len(incidents),
        executions,
        timeline.notices,
        patches,
        answers,
        all_incidents=incidents,
        entries=[i for i in items if i["sk"].startswith("TIMELINE#")],
        repairs=reconciler.repairs,
        attempts=[a for tries in attempts for a in tries],
        leases=sum(i["sk"].startswith("LEASE") for i in items),
        readiness=readiness,
        replies=approvers.given if approvers else [],
        identities=approvers.identities if approvers else {},
    )
    problems = scenario.checks(result)
    errors = [a for a in answers if "errorType" in a]
    if errors:
        problems.append(
            f"{len(errors)} confirm-outage invocations failed (after Lambda's retries): {errors[0]}"
        )
    if reconciler.failures:
        problems.append(f"{len(reconciler.failures)} reconcile runs failed: {reconciler.failures[0]}")

    print()
    print(f"report ({scenario.name}):")
    print(f"  outcome      {outcome} (expected {scenario.expect})")
    if incident:
        print(
            f"  incident     {incident['id']} ({incident['region']}),"
            f" verdict {incident.get('verdict')}, opened by {_source(incident)}"
        )
        decided = [
            a["remedy"]["remedy"] + (" (dry run: not applied)" if a.get("dry_run") else "")
            for a in incident.get("actions", [])
        ]
        print(f"  decided      {', '.join(decided) or 'no remedy'}")
        if incident.get("escalation"):
            print(f"  escalation   {incident['escalation']}")
    if len(incidents) > 1:
        print(
            f"  incidents    {len(incidents)}: "
            + " | ".join(f"{i['id']} {i['phase']} (opened by {_source(i)})" for i in incidents)
        )
    failed = _failed_attempts(result)
    if failed:
        print(
            f"  attempts     {len(result.attempts)} confirm-outage attempts,"
            f" {len(failed)} failed: {', '.join(failed)}"
        )
    for execution in executions:
        print(f"  workflow     {execution['name']}: {execution['status']}")
    faulted = f", {len(reconciler.faulted)} failed while a dependency was down" if reconciler.faulted else ""
    print(
        f"  reconciler   {reconciler.runs} runs, {len(reconciler.repairs)} repairs{faulted}"
        + "".join(f"\n               {r}" for r in reconciler.repairs)
    )
    print(f"  leases       {result.leases} left")
    print(f"  changed      {'; '.join(f'{r}: {len(p)} PATCH' for r, p in patches.items())}")
    print(
        f"  notices      {len(timeline.notices)}: "
        + " | ".join(
            n["subject"] + (f" (late {n['late_s']:.1f}s)" if n["late_s"] else "") for n in timeline.notices
        )
    )
    if approvers:
        for request in (n for n in timeline.notices if APPROVAL_NEEDED in n["subject"]):
            for i, line in enumerate(request["body"].strip().splitlines()):
                print(f"  {'request' if i == 0 else '':<12} {line}".rstrip())
        for given in approvers.given:
            answered = f"{given['person']} {given['verdict']}: exit {given['code']}"
            print(f"  answered     {answered}: {given['said']}")
    ok = verdict(scenario, outcome, problems)
    summary = {
        "scenario": scenario.name,
        "outcome": outcome,
        "incident_id": incident["id"] if incident else None,
        "actions": _actions(result),
        "notifications": len(timeline.notices),
        "detect_to_action_s": seconds_between(incident, "detected_at", "acted_at"),
        "time_to_recover_s": seconds_between(incident, "detected_at", "recovered_at"),
        "incidents": [
            {"id": i["id"], "phase": i["phase"], "trigger": _source(i), "escalation": i.get("escalation")}
            for i in incidents
        ],
        "repairs": reconciler.repairs,
        "notices": [
            {"subject": n["subject"], "late_s": n["late_s"], "held": n["held"]} for n in timeline.notices
        ],
        "leases": result.leases,
        "failed_attempts": failed,
    }
    if readiness is not None:
        summary["readiness"] = readiness_summary(readiness)
    if approvers:
        summary["replies"] = [
            {k: g[k] for k in ("person", "verdict", "code", "said", "state")} for g in approvers.given
        ]
    print(json.dumps(summary), flush=True)
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/drill", description="Failover drill on the local cloud.")
    parser.add_argument("scenario", nargs="?", default="crashloop")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    parser.add_argument("--release", action="store_true", help="on release builds of the functions")
    args = parser.parse_args(argv)
    by_name = {s.name: s for s in SCENARIOS}
    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:<22} {s.summary} (expects {s.expect})")
        return 0
    if args.scenario not in by_name:
        print(f"drill: unknown scenario {args.scenario!r}; scenarios: {', '.join(by_name)}", file=sys.stderr)
        return 2
    return run(by_name[args.scenario], "release" if args.release else "debug")


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


if __name__ == "__main__":
    # A terminated drill cleans up like an interrupted one; SIGINT too when
    # it was started with SIGINT ignored (a background job).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("drill: interrupted", file=sys.stderr)
        sys.exit(130)
    # An emulator or a function that did not start, a bad profile or template.
    except (RuntimeError, short_waits.ProfileError, provision.Failure) as error:
        print(f"drill: {error}", file=sys.stderr)
        sys.exit(1)
