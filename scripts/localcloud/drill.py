"""The failover drill: break one region of the local cloud, fire its alarm the
way CloudWatch does, and let the real functions and the real workflow from
``template.yaml`` recover it, showing a live timeline.

Run through ``scripts/drill`` (which installs the tools and brings the local
cloud up); ``scripts/drill --list`` names the scenarios. Each run gets its own
environment (table, topic, health checks, EKS clusters ``<env>-<region>``,
the recovery workflow), its own Lambda runtime emulator serving the
workspace's functions, and ends with one JSON line:

    {"scenario", "outcome", "incident_id", "actions", "notifications",
     "detect_to_action_s", "time_to_recover_s"}

``outcome`` is where the incident ended (``recovered``, ``escalated``,
``dismissed``, ``reported`` for a dry run), ``no_incident``, or ``timeout``.
The exit status is 0 when the outcome and the scenario's checks are what the
scenario expects, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml
from boto3.dynamodb.types import TypeDeserializer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provision  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FAILED, PEER = "us-east-1", "eu-west-1"
HEALTH_TAG = "local-cloud:status"
TIMEOUT_SECONDS = 240

# The drill's configuration: every wait a recovery has is seconds, not
# minutes. The workflow's waits reach it through its execution input, which
# confirm-outage writes from these; the template is not touched.
SHORT_WAITS = {
    "CONFIRM_SAMPLES": ("ConfirmSamples", "2"),
    "CONFIRM_INTERVAL_SECONDS": ("ConfirmIntervalSeconds", "1"),
    "ROLLOUT_SETTLE_SECONDS": ("RolloutSettleSeconds", "2"),
    "VERIFY_POLL_SECONDS": ("VerifyPollSeconds", "1"),
    "VERIFY_DEADLINE_SECONDS": ("VerifyDeadlineSeconds", "30"),
    "RECOVERY_HEALTHY_READINGS": ("RecoveryHealthyReadings", "2"),
    "ACTION_COOLDOWN_SECONDS": ("ActionCooldownSeconds", "1"),
}


@dataclass
class Result:
    """What a run saw, for the report and the scenario's checks."""

    incident: dict | None
    incidents: int
    executions: list[dict]
    notices: list[dict]
    patches: dict[str, list[str]]
    answers: list[dict]


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
    checks: Callable[[Result], list[str]] = lambda _r: []


def _patched(result: Result, region: str) -> int:
    return len(result.patches.get(region, []))


def _actions(result: Result) -> list[str]:
    incident = result.incident or {}
    return [a["remedy"]["remedy"] for a in incident.get("actions", []) if a.get("applied")]


def _check(condition: bool, problem: str) -> list[str]:
    return [] if condition else [problem]


SCENARIOS = [
    Scenario(
        "crashloop",
        "pods crash-looping -> rollout restart -> recovered",
        "recovered",
        clusters={FAILED: {"pods": "crashloop", "after_restart": "ready"}},
        checks=lambda r: _check(_actions(r) == ["rollout_restart"], f"expected one restart, got {_actions(r)}"),
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
            _actions(r) == ["rollout_restart", "rollout_restart"], f"expected 2 restarts (the budget), got {_actions(r)}"
        )
        + _check((r.incident or {}).get("escalation") == "restart_budget_spent", "not escalated for the budget"),
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
]


# --- the local cloud --------------------------------------------------------


class Cloud:
    """The clients and the admin API of the local cloud, as provision uses them."""

    def __init__(self) -> None:
        self.dynamodb = provision.client("dynamodb")
        self.route53 = provision.client("route53")
        self.sqs = provision.client("sqs")
        self.sfn = provision.client("stepfunctions")

    @staticmethod
    def call(method: str, path: str, body: object = None) -> dict:
        return provision.admin(method, path, body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Emulator:
    """``cargo lambda watch`` serving the workspace's functions to one environment."""

    def __init__(self, cloud: Cloud, env: dict, env_file: Path, log: Path) -> None:
        self.cloud, self.env = cloud, env
        self.port = free_port()
        self.process = subprocess.Popen(
            ["cargo", "lambda", "watch", "--ignore-changes", "--quiet", "-A", "127.0.0.1",
             "-P", str(self.port), "--concurrency", "8", "--env-file", str(env_file)],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"cargo lambda watch did not start (log {log})")
            time.sleep(0.1)
        cloud.call("PUT", f"/lambda/{env['name']}", {"endpoint": f"http://127.0.0.1:{self.port}"})

    def invoke(self, function: str, payload: dict) -> dict:
        url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/{function}/invocations"
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=180) as answer:
                return json.loads(answer.read().decode() or "{}")
        except urllib.error.HTTPError as error:
            return json.loads(error.read().decode() or "{}")

    def stop(self) -> None:
        try:
            self.cloud.call("DELETE", f"/lambda/{self.env['name']}")
        except provision.Failure:
            pass
        for sig, wait in ((signal.SIGINT, 3), (signal.SIGKILL, 3)):
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(wait)
                return
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue


# --- watching ---------------------------------------------------------------


def plain(item: dict) -> dict:
    deserialize = TypeDeserializer().deserialize
    return {k: deserialize(v) for k, v in item.items()}


def parse_time(text: str) -> dt.datetime:
    """RFC 3339 as the functions write it (up to nanoseconds) or SNS does."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return dt.datetime.fromisoformat(text)


class Timeline:
    """Prints what happens, once each, as seconds since the failure."""

    def __init__(self, cloud: Cloud, env: dict, t0: dt.datetime) -> None:
        self.cloud, self.env, self.t0 = cloud, env, t0
        self.seen: set[str] = set()
        self.notices: list[dict] = []
        self.phases: dict[str, str] = {}

    def line(self, at: dt.datetime, source: str, text: str) -> None:
        since = (at - self.t0).total_seconds()
        print(f"  +{since:6.1f}s  {source:<16} {text}", flush=True)

    def items(self) -> list[dict]:
        pages = self.cloud.dynamodb.get_paginator("scan").paginate(TableName=self.env["table"])
        return [plain(i) for page in pages for i in page["Items"]]

    def poll(self) -> tuple[list[dict], list[dict]]:
        items = self.items()
        incidents = [i for i in items if i["sk"] == "INCIDENT"]
        events: list[tuple[dt.datetime, str, str]] = []
        for incident in incidents:
            # The phase as last written; a change shows at the write that made it.
            before = self.phases.get(incident["id"])
            if incident["phase"] != before:
                self.phases[incident["id"]] = incident["phase"]
                change = f"{before} -> {incident['phase']}" if before else incident["phase"]
                events.append((parse_time(incident["updated_at"]), "phase", change))
        for entry in items:
            # "notified" entries repeat the SNS rows.
            if entry["sk"].startswith("TIMELINE#") and entry["sk"] not in self.seen and entry["kind"] != "notified":
                self.seen.add(entry["sk"])
                events.append((parse_time(entry["at"]), entry["kind"], entry["message"]))
        executions = self.cloud.sfn.list_executions(stateMachineArn=self.env["workflow_arn"])["executions"]
        for execution in executions:
            history = self.cloud.sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
            for event in history["events"]:
                key = f"{execution['executionArn']}#{event['id']}"
                if key in self.seen:
                    continue
                self.seen.add(key)
                if "stateEnteredEventDetails" in event:
                    events.append((event["timestamp"], "workflow", event["stateEnteredEventDetails"]["name"]))
                elif event["type"] in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
                    events.append((event["timestamp"], "workflow", event["type"]))
        while True:
            answer = self.cloud.sqs.receive_message(QueueUrl=self.env["queue_url"], MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                notice = {"subject": envelope.get("Subject", ""), "body": envelope.get("Message", "")}
                self.notices.append(notice)
                events.append((parse_time(envelope["Timestamp"]), "SNS", notice["subject"]))
                self.cloud.sqs.delete_message(QueueUrl=self.env["queue_url"], ReceiptHandle=message["ReceiptHandle"])
        for at, source, text in sorted(events, key=lambda e: e[0]):
            self.line(at.astimezone(dt.timezone.utc), source, text)
        return incidents, executions


# --- a run ------------------------------------------------------------------


def alarm_event(alarm_name: str, now: dt.datetime) -> dict:
    event = json.loads((ROOT / "events/confirm-outage-alarm-action.json").read_text())
    event["alarmData"]["alarmName"] = alarm_name
    event["time"] = now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    event["alarmData"]["state"]["timestamp"] = event["time"]
    return event


def template_defaults() -> dict[str, str]:
    document = yaml.load(provision.template_path().read_text(), Loader=provision._CfnLoader)
    return {k: str(v.get("Default")) for k, v in document["Parameters"].items()}


def seconds_between(incident: dict | None, start: str, end: str) -> float | None:
    if not incident or not incident.get(start) or not incident.get(end):
        return None
    return round((parse_time(incident[end]) - parse_time(incident[start])).total_seconds(), 1)


def run(scenario: Scenario) -> int:
    cloud = Cloud()
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%H%M%S")
    name = f"drill-{scenario.name}-{stamp}-{os.getpid()}"
    work = ROOT / "target" / "drill" / name
    work.mkdir(parents=True, exist_ok=True)
    config = {k: v for k, (_, v) in SHORT_WAITS.items()} | scenario.config
    env_file = work / "functions.env"
    provisioned = subprocess.run(
        [str(ROOT / "scripts/local-cloud"), "provision", "--name", name, "--env-file", str(env_file)]
        + [a for k, v in config.items() for a in ("--env", f"{k}={v}")],
        check=True, capture_output=True, text=True,
    )
    env = json.loads(provisioned.stdout)
    regions = {r["name"]: r for r in env["regions"]}
    defaults = template_defaults()

    print(f"drill {scenario.name}: {scenario.summary}")
    print(f"  environment {name}: {', '.join(regions)}; the platform: deployment loft, 3 ready pods, DERP peers online")
    shortened = [f"{var} {defaults.get(param, '?')} -> {value}" for var, (param, value) in SHORT_WAITS.items()]
    print("  waits shortened for the drill (function configuration; the workflow gets its waits")
    print(f"  through the execution input confirm-outage writes): {'; '.join(shortened)}")
    if scenario.config:
        print(f"  scenario configuration: {', '.join(f'{k}={v}' for k, v in scenario.config.items())}")

    emulator = Emulator(cloud, env, env_file, work / "emulator.log")
    try:
        return follow(scenario, cloud, env, regions, emulator)
    finally:
        emulator.stop()


def follow(scenario: Scenario, cloud: Cloud, env: dict, regions: dict, emulator: Emulator) -> int:
    for region, patch in scenario.clusters.items():
        cloud.call("PATCH", f"/clusters/{regions[region]['cluster']}/scenario", patch)
    t0 = dt.datetime.now(dt.timezone.utc)
    for region, status in scenario.health.items():
        cloud.route53.change_tags_for_resource(
            ResourceType="healthcheck", ResourceId=regions[region]["health_check_id"],
            AddTags=[{"Key": HEALTH_TAG, "Value": status}],
        )
    timeline = Timeline(cloud, env, t0)
    broke = ", ".join(f"{r}: {json.dumps(p)}" for r, p in scenario.clusters.items()) or "health check only"
    timeline.line(t0, "drill", f"failure injected ({broke}; health {scenario.health[FAILED]})")

    alarm = alarm_event(regions[FAILED]["alarm_names"][0], t0)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(scenario.alarms, 50))
    timeline.line(t0, "alarm", f"{regions[FAILED]['alarm_names'][0]} OK -> ALARM" + (f" x{scenario.alarms}" if scenario.alarms > 1 else ""))
    invocations = [pool.submit(emulator.invoke, "confirm-outage", copy.deepcopy(alarm)) for _ in range(scenario.alarms)]

    deadline = time.monotonic() + TIMEOUT_SECONDS
    incidents: list[dict] = []
    executions: list[dict] = []
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        time.sleep(0.3)
        incidents, executions = timeline.poll()
        answered = all(f.done() for f in invocations)
        closed = bool(incidents) and all(not i.get("outbox") and i["phase"] not in ("confirming", "confirmed", "restoring") for i in incidents)
        running = any(e["status"] == "RUNNING" for e in executions)
        if answered and not running and (closed or not incidents):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.5:  # the last notices in flight
                break
        else:
            quiet_since = None
    pool.shutdown(wait=False, cancel_futures=True)
    answers = [f.result() for f in invocations if f.done()]
    incidents, executions = timeline.poll()

    incident = max(incidents, key=lambda i: i["detected_at"]) if incidents else None
    outcome = "timeout" if time.monotonic() >= deadline else (incident["phase"] if incident else "no_incident")
    patches = {}
    for region, entry in regions.items():
        requests = cloud.call("GET", f"/clusters/{entry['cluster']}/requests")["requests"]
        patches[region] = [r["path"] for r in requests if r["method"] == "PATCH" and r["status"] < 300]
    result = Result(incident, len(incidents), executions, timeline.notices, patches, answers)
    problems = scenario.checks(result)
    errors = [a for a in answers if "errorType" in a]
    if errors:
        problems.append(f"{len(errors)} confirm-outage invocations failed: {errors[0]}")

    print()
    print(f"report ({scenario.name}):")
    print(f"  outcome      {outcome} (expected {scenario.expect})")
    if incident:
        print(f"  incident     {incident['id']} ({incident['region']}), verdict {incident.get('verdict')}")
        decided = [a["remedy"]["remedy"] + (" (dry run: not applied)" if a.get("dry_run") else "") for a in incident.get("actions", [])]
        print(f"  decided      {', '.join(decided) or 'no remedy'}")
        if incident.get("escalation"):
            print(f"  escalation   {incident['escalation']}")
    for execution in executions:
        print(f"  workflow     {execution['name']}: {execution['status']}")
    print(f"  changed      {'; '.join(f'{r}: {len(p)} PATCH' for r, p in patches.items())}")
    print(f"  notices      {len(timeline.notices)}: " + " | ".join(n["subject"] for n in timeline.notices))
    for problem in problems:
        print(f"  PROBLEM      {problem}")
    ok = outcome == scenario.expect and not problems
    print(f"  result       {'as expected' if ok else 'NOT as expected'}")
    summary = {
        "scenario": scenario.name,
        "outcome": outcome,
        "incident_id": incident["id"] if incident else None,
        "actions": _actions(result),
        "notifications": len(timeline.notices),
        "detect_to_action_s": seconds_between(incident, "detected_at", "acted_at"),
        "time_to_recover_s": seconds_between(incident, "detected_at", "recovered_at"),
    }
    print(json.dumps(summary), flush=True)
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/drill", description="Failover drill on the local cloud.")
    parser.add_argument("scenario", nargs="?", default="crashloop")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    args = parser.parse_args(argv)
    by_name = {s.name: s for s in SCENARIOS}
    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:<22} {s.summary} (expects {s.expect})")
        return 0
    if args.scenario not in by_name:
        print(f"drill: unknown scenario {args.scenario!r}; scenarios: {', '.join(by_name)}", file=sys.stderr)
        return 2
    return run(by_name[args.scenario])


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
