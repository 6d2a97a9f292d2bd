//! Property: whatever happens, in whatever order (alarms and Lambda's
//! retries of them, drills, workflow steps, stopped or failed executions,
//! reconciler runs, SNS, Route 53, Step Functions and DynamoDB faults, a
//! function dying between two writes, health and platform changes, time),
//! the incident records stay safe after every step; and once the faults
//! stop, a few reconciler runs leave every region healthy with nothing open,
//! or with its last incident escalated, and every notice delivered.
//!
//! `cargo test -p failover-core -- --nocapture lifecycle` prints how many
//! sequences ran. A failure prints the shrunk sequence with what each step
//! did, and proptest saves its seed in
//! `functions/core/proptest-regressions/lifecycle_props.txt`: every later
//! run replays the saved seeds first, so the same command reproduces it
//! (delete the line once it is fixed). `PROPTEST_RNG_SEED=<u64>` fixes the
//! seed of a whole run.
//!
//! Steps run one at a time: two invocations racing on one record are the
//! version-conditional writes' business, not this model's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestCaseError, TestRunner};

use crate::app::confirm_outage::confirm_outage;
use crate::app::context::Context;
use crate::app::escalate_incident::{EscalateRequest, Failure, escalate_incident};
use crate::app::ports::Clock;
use crate::app::reconcile::reconcile;
use crate::app::restore_platform::{RestoreRequest, restore_platform};
use crate::app::verify_recovery::{VerifyRequest, verify_recovery};
use crate::config::Settings;
use crate::config::tests::sample_vars;
use crate::error::{Error, RetryPolicy};
use crate::fakes::{
    FakeAlarms, FakeClock, FakePlatform, MemoryStore, RecordingMetrics, RecordingNotifier,
    RecordingWorkflow, ScriptedHealth, WriteFault,
};
use crate::model::diagnosis::{ClusterReach, DeploymentView, Diagnosis, PodView};
use crate::model::incident::{Incident, Lane};
use crate::model::phase::Phase;
use crate::model::remedy::Remedy;
use crate::model::trigger::{AlarmState, Target, Trigger, TriggerSource};
use crate::model::workflow::{ExecutionStatus, Timing};
use crate::rules::guardrails::Gate;
use crate::rules::recovery::Recovery;

struct Region {
    name: &'static str,
    check: &'static str,
    alarm: &'static str,
}

/// The regions of `sample_vars()`.
const REGIONS: [Region; 2] = [
    Region {
        name: "us-east-1",
        check: "hc-a",
        alarm: "alarm-a",
    },
    Region {
        name: "eu-west-1",
        check: "hc-b",
        alarm: "alarm-b",
    },
];

#[derive(Debug, Clone)]
enum Step {
    /// The region's alarm goes to ALARM and its action invokes confirm-outage.
    Alarm {
        region: usize,
    },
    /// The alarm goes back to OK; its action invokes confirm-outage too.
    AlarmOk {
        region: usize,
    },
    /// A person starts a dry run of the region by hand.
    Drill {
        region: usize,
    },
    /// Lambda retries an invocation of confirm-outage that failed, with its
    /// request id (at most twice, one then two minutes later).
    Retry {
        pick: usize,
    },
    /// Step Functions runs the next step of one running execution.
    Workflow {
        pick: usize,
    },
    /// A running execution ends outside its catch: stopped by a person,
    /// timed out, or failed.
    EndExecution {
        pick: usize,
        status: Ended,
    },
    Reconcile,
    Fault {
        fault: Fault,
        on: bool,
    },
    /// The next invocation dies after this many successful writes.
    CrashAfter {
        writes: usize,
    },
    /// Route 53's next answers for the region (the last one sticks).
    Health {
        region: usize,
        answers: Vec<bool>,
    },
    Platform {
        region: usize,
        state: PlatformState,
    },
    /// The remedy took: the region's platform serves and Route 53 sees it.
    Heals {
        region: usize,
    },
    Advance {
        seconds: u64,
    },
}

/// The guardrails of one sequence.
#[derive(Debug, Clone, Copy)]
struct Rails {
    restarts_per_incident: u32,
    restarts_per_window: u32,
    cooldown_seconds: u32,
}

#[derive(Debug, Clone)]
struct Case {
    rails: Rails,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy)]
enum Ended {
    Aborted,
    TimedOut,
    Failed,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Sns,
    Route53,
    StepFunctionsStart,
    /// Every DynamoDB write fails.
    Store,
    /// Route 53's checkers stop reporting: every observation is stale.
    StaleHealth,
}

#[derive(Debug, Clone, Copy)]
enum PlatformState {
    Serving,
    CrashLoop,
    /// Crash looping, and the rollout exceeded its progress deadline.
    RolloutStuck,
    ScaledToZero,
    DeploymentMissing,
    ClusterDown,
}

fn step() -> impl Strategy<Value = Step> {
    let region = || 0..REGIONS.len();
    let ended = prop_oneof![
        Just(Ended::Aborted),
        Just(Ended::TimedOut),
        Just(Ended::Failed)
    ];
    let fault = prop_oneof![
        Just(Fault::Sns),
        Just(Fault::Route53),
        Just(Fault::StepFunctionsStart),
        Just(Fault::Store),
        Just(Fault::StaleHealth),
    ];
    let state = prop_oneof![
        Just(PlatformState::Serving),
        Just(PlatformState::CrashLoop),
        Just(PlatformState::RolloutStuck),
        Just(PlatformState::ScaledToZero),
        Just(PlatformState::DeploymentMissing),
        Just(PlatformState::ClusterDown),
    ];
    let seconds = prop_oneof![1..=30u64, 31..=300u64, 301..=2400u64];
    prop_oneof![
        3 => region().prop_map(|region| Step::Alarm { region }),
        1 => region().prop_map(|region| Step::AlarmOk { region }),
        1 => region().prop_map(|region| Step::Drill { region }),
        2 => (0..4usize).prop_map(|pick| Step::Retry { pick }),
        8 => (0..3usize).prop_map(|pick| Step::Workflow { pick }),
        1 => (0..3usize, ended).prop_map(|(pick, status)| Step::EndExecution { pick, status }),
        2 => Just(Step::Reconcile),
        2 => (fault, any::<bool>()).prop_map(|(fault, on)| Step::Fault { fault, on }),
        1 => (0..8usize).prop_map(|writes| Step::CrashAfter { writes }),
        2 => (region(), vec(any::<bool>(), 1..=3))
            .prop_map(|(region, answers)| Step::Health { region, answers }),
        1 => (region(), state).prop_map(|(region, state)| Step::Platform { region, state }),
        1 => region().prop_map(|region| Step::Heals { region }),
        3 => seconds.prop_map(|seconds| Step::Advance { seconds }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let rails = (
        1..=3u32,
        1..=4u32,
        prop_oneof![Just(30u32), Just(120), Just(300)],
    )
        .prop_map(
            |(restarts_per_incident, restarts_per_window, cooldown_seconds)| Rails {
                restarts_per_incident,
                restarts_per_window,
                cooldown_seconds,
            },
        );
    (rails, vec(step(), 1..=30)).prop_map(|(rails, steps)| Case { rails, steps })
}

fn diagnosis(state: PlatformState) -> Diagnosis {
    let pod = |ready: bool| PodView {
        name: "loft-0".into(),
        phase: "Running".into(),
        ready,
        waiting_reason: (!ready).then(|| "CrashLoopBackOff".into()),
        restarts: if ready { 0 } else { 5 },
        unschedulable: false,
    };
    let reachable = |replicas: u32, ready: u32, exceeded: bool| Diagnosis {
        cluster: ClusterReach::Reachable,
        deployment: Some(DeploymentView {
            replicas,
            ready,
            available: ready,
            updated: replicas,
            generation: 2,
            observed_generation: 2,
            paused: false,
            progress_deadline_exceeded: exceeded,
        }),
        pods: (0..replicas).map(|_| pod(ready == replicas)).collect(),
        nodes_ready: 3,
        nodes_not_ready: 0,
        ingress_load_balancers: Some(vec!["lb".into()]),
    };
    match state {
        PlatformState::Serving => reachable(3, 3, false),
        PlatformState::CrashLoop => reachable(3, 0, false),
        PlatformState::RolloutStuck => reachable(3, 0, true),
        PlatformState::ScaledToZero => reachable(0, 0, false),
        PlatformState::DeploymentMissing => Diagnosis {
            deployment: None,
            ..reachable(0, 0, false)
        },
        PlatformState::ClusterDown => {
            Diagnosis::unreached(ClusterReach::NotActive("FAILED".into()))
        }
    }
}

struct Fakes {
    settings: Settings,
    health: ScriptedHealth,
    store: MemoryStore,
    notifier: RecordingNotifier,
    metrics: RecordingMetrics,
    clock: FakeClock,
    workflow: RecordingWorkflow,
    alarms: FakeAlarms,
    platform: FakePlatform,
}

impl Fakes {
    fn deps(&self) -> Context<'_> {
        crate::fakes::context(
            &self.settings,
            &self.health,
            &self.store,
            &self.notifier,
            &self.clock,
            &self.metrics,
        )
    }
}

/// An invocation of confirm-outage, for Lambda to retry.
struct Request {
    trigger: Trigger,
    id: String,
    failed: bool,
    retries: u32,
    last_at: DateTime<Utc>,
}

/// Where one execution of the recovery workflow is (template.yaml's
/// state machine, reduced to its tasks).
struct Execution {
    stage: Stage,
    /// When Step Functions runs its next task: an execution may run late
    /// (the sequence moves the clock on its own), never early.
    due: DateTime<Utc>,
    /// Retries of the current task so far.
    retries: u32,
    timing: Timing,
}

#[derive(Clone)]
enum Stage {
    Restore,
    Verify,
    /// The catch-all, with what the failed task answered.
    Escalate(Failure),
}

/// A change made to a region's platform, and the recorded action it applied.
struct Touch {
    region: String,
    incident_id: String,
    stamp: String,
    at: DateTime<Utc>,
    dry_run: bool,
}

struct World {
    fakes: Fakes,
    /// What Route 53 was last scripted to answer per region.
    answers: [Vec<bool>; 2],
    store_down: bool,
    stale_health: bool,
    crash_after: Option<usize>,
    invocations: usize,
    requests: Vec<Request>,
    executions: BTreeMap<String, Execution>,
    touches: Vec<Touch>,
    scales_seen: usize,
    restarts_seen: usize,
    /// What each step did, for the failure message.
    trace: Vec<String>,
}

/// Sequences run (cases and shrinking), and what they reached.
static SEQUENCES: AtomicUsize = AtomicUsize::new(0);
static STEPS: AtomicUsize = AtomicUsize::new(0);
static INCIDENTS: AtomicUsize = AtomicUsize::new(0);
static PLATFORM_CHANGES: AtomicUsize = AtomicUsize::new(0);
static FAILED_INVOCATIONS: AtomicUsize = AtomicUsize::new(0);
static MOST_ROUNDS_TO_SETTLE: AtomicUsize = AtomicUsize::new(0);
static CLOSED: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
const CLOSED_PHASES: [Phase; 4] = [
    Phase::Recovered,
    Phase::Dismissed,
    Phase::Reported,
    Phase::Escalated,
];

const START: &str = "2026-11-22T10:00:00Z";

impl World {
    /// us-east-1 is down (crash looping, its alarm in ALARM); eu-west-1 serves.
    fn new(rails: Rails) -> Self {
        let answers = [vec![false], vec![true]];
        let health = ScriptedHealth::default();
        for (region, answers) in REGIONS.iter().zip(&answers) {
            health.set(region.check, answers);
        }
        let platform = FakePlatform::seeing(diagnosis(PlatformState::Serving));
        platform
            .regional
            .lock()
            .unwrap()
            .insert(REGIONS[0].name.into(), diagnosis(PlatformState::CrashLoop));
        let alarms = FakeAlarms::default();
        alarms.set(REGIONS[0].alarm, AlarmState::Alarm);
        alarms.set(REGIONS[1].alarm, AlarmState::Ok);
        Self {
            fakes: Fakes {
                settings: settings(rails),
                health,
                store: MemoryStore::default(),
                notifier: RecordingNotifier::default(),
                metrics: RecordingMetrics::default(),
                clock: FakeClock::at(START),
                workflow: RecordingWorkflow::default(),
                alarms,
                platform,
            },
            answers,
            store_down: false,
            stale_health: false,
            crash_after: None,
            invocations: 0,
            requests: Vec::new(),
            executions: BTreeMap::new(),
            touches: Vec::new(),
            scales_seen: 0,
            restarts_seen: 0,
            trace: Vec::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.fakes.clock.now()
    }

    fn advance_to(&self, at: DateTime<Utc>) {
        if let Ok(by) = at.signed_duration_since(self.now()).to_std() {
            self.fakes.clock.advance(by);
        }
    }

    /// A Lambda request id: its first 8 characters name the incidents it opens.
    fn fresh_id(&mut self) -> String {
        self.invocations += 1;
        format!("{:08x}-7e57-4000-8000-000000000000", self.invocations)
    }

    /// Sets up the faults one invocation meets.
    fn invoking(&mut self) {
        let now = self.now();
        *self.fakes.health.now.lock().unwrap() = Some(if self.stale_health {
            now - chrono::Duration::minutes(10)
        } else {
            now
        });
        let after = if self.store_down {
            Some(0)
        } else {
            self.crash_after.take()
        };
        *self.fakes.store.write_fault.lock().unwrap() = after.map(|after| WriteFault {
            after,
            error: Error::unavailable("DynamoDB", "the write did not happen"),
        });
    }

    /// The next invocation is a new process: a crash does not carry over.
    fn invoked<T>(&mut self, what: &str, result: &Result<T, Error>) {
        *self.fakes.store.write_fault.lock().unwrap() = None;
        if result.is_err() {
            FAILED_INVOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        let outcome = match result {
            Ok(_) => "ok".to_owned(),
            Err(error) => format!("error {error}"),
        };
        self.trace
            .push(format!("  {} {what}: {outcome}", self.now()));
    }

    async fn run(&mut self, step: &Step) -> Result<(), String> {
        self.trace.push(format!("{} {step:?}", self.now()));
        match step {
            Step::Alarm { region } => {
                self.fakes
                    .alarms
                    .set(REGIONS[*region].alarm, AlarmState::Alarm);
                self.trigger(alarm(*region, AlarmState::Alarm)).await;
            }
            Step::AlarmOk { region } => {
                self.fakes
                    .alarms
                    .set(REGIONS[*region].alarm, AlarmState::Ok);
                self.trigger(alarm(*region, AlarmState::Ok)).await;
            }
            Step::Drill { region } => {
                let trigger = Trigger {
                    source: TriggerSource::Manual,
                    target: Target::Region(REGIONS[*region].name.into()),
                    state: AlarmState::Alarm,
                    reason: "drill".into(),
                    dry_run: true,
                };
                self.trigger(trigger).await;
            }
            Step::Retry { pick } => self.retry(*pick).await,
            Step::Workflow { pick } => {
                let running = self.running();
                if !running.is_empty() {
                    self.advance_execution(&running[pick % running.len()])
                        .await?;
                }
            }
            Step::EndExecution { pick, status } => {
                let running = self.running();
                if !running.is_empty() {
                    let id = &running[pick % running.len()];
                    let status = match status {
                        Ended::Aborted => ExecutionStatus::Aborted,
                        Ended::TimedOut => ExecutionStatus::TimedOut,
                        Ended::Failed => ExecutionStatus::Failed,
                    };
                    self.end_execution(id, status);
                }
            }
            Step::Reconcile => self.reconcile().await,
            Step::Fault { fault, on } => match fault {
                Fault::Sns => *self.fakes.notifier.failing.lock().unwrap() = *on,
                Fault::Route53 => *self.fakes.health.failing.lock().unwrap() = *on,
                Fault::StepFunctionsStart => *self.fakes.workflow.failing.lock().unwrap() = *on,
                Fault::Store => self.store_down = *on,
                Fault::StaleHealth => self.stale_health = *on,
            },
            Step::CrashAfter { writes } => self.crash_after = Some(*writes),
            Step::Health { region, answers } => {
                self.fakes.health.set(REGIONS[*region].check, answers);
                self.answers[*region].clone_from(answers);
            }
            Step::Platform { region, state } => {
                self.fakes
                    .platform
                    .regional
                    .lock()
                    .unwrap()
                    .insert(REGIONS[*region].name.into(), diagnosis(*state));
            }
            Step::Heals { region } => {
                self.fakes.health.set(REGIONS[*region].check, &[true]);
                self.answers[*region] = vec![true];
                self.fakes.platform.regional.lock().unwrap().insert(
                    REGIONS[*region].name.into(),
                    diagnosis(PlatformState::Serving),
                );
            }
            Step::Advance { seconds } => self.fakes.clock.advance(Duration::from_secs(*seconds)),
        }
        self.check()
    }

    async fn trigger(&mut self, trigger: Trigger) {
        let id = self.fresh_id();
        self.invoking();
        let result = confirm_outage(&self.fakes.deps(), &self.fakes.workflow, &trigger, &id).await;
        self.invoked("confirm-outage", &result);
        self.requests.push(Request {
            trigger,
            id,
            failed: result.is_err(),
            retries: 0,
            last_at: self.now(),
        });
    }

    async fn retry(&mut self, pick: usize) {
        let retriable: Vec<usize> = (0..self.requests.len())
            .filter(|i| self.requests[*i].failed && self.requests[*i].retries < 2)
            .collect();
        if retriable.is_empty() {
            return;
        }
        let index = retriable[pick % retriable.len()];
        let request = &self.requests[index];
        let wait = chrono::Duration::minutes(if request.retries == 0 { 1 } else { 2 });
        self.advance_to(request.last_at + wait);
        let (trigger, id) = (request.trigger.clone(), request.id.clone());
        self.invoking();
        let result = confirm_outage(&self.fakes.deps(), &self.fakes.workflow, &trigger, &id).await;
        self.invoked("confirm-outage retried", &result);
        let now = self.now();
        let request = &mut self.requests[index];
        request.failed = result.is_err();
        request.retries += 1;
        request.last_at = now;
    }

    async fn reconcile(&mut self) {
        let id = self.fresh_id();
        self.invoking();
        let result = reconcile(
            &self.fakes.deps(),
            &self.fakes.workflow,
            &self.fakes.alarms,
            "schedule",
            &id,
        )
        .await;
        self.invoked("reconcile", &result);
    }

    /// The executions Step Functions is running, oldest first; each gets
    /// the driver's state when first seen.
    fn running(&mut self) -> Vec<String> {
        let now = self.now();
        let statuses = self.fakes.workflow.statuses.lock().unwrap().clone();
        let started = self.fakes.workflow.started.lock().unwrap().clone();
        let mut running = Vec::new();
        for input in started {
            if statuses.get(&input.incident_id) != Some(&ExecutionStatus::Running) {
                continue;
            }
            self.executions
                .entry(input.incident_id.clone())
                .or_insert(Execution {
                    stage: Stage::Restore,
                    due: now,
                    retries: 0,
                    timing: input.timing,
                });
            running.push(input.incident_id);
        }
        running
    }

    fn end_execution(&mut self, id: &str, status: ExecutionStatus) {
        self.fakes.workflow.end(id, status);
        self.executions.remove(id);
        self.trace
            .push(format!("  execution {id} {}", status.as_str()));
    }

    /// Runs the execution's next task as Step Functions would: its retries
    /// (2, 4, 8, 16 s) on a passing error, then its catch, which escalates.
    async fn advance_execution(&mut self, id: &str) -> Result<(), String> {
        let Some(execution) = self.executions.get(id) else {
            return Ok(());
        };
        let (stage, timing) = (execution.stage.clone(), execution.timing);
        self.advance_to(execution.due);
        let nonce = self.fresh_id();
        self.invoking();
        let deps = self.fakes.deps();
        let platform = &self.fakes.platform;
        let next = match stage {
            Stage::Restore => {
                let request = RestoreRequest {
                    incident_id: Some(id.to_owned()),
                    region: None,
                    dry_run: false,
                    timing: Some(timing),
                };
                let result = restore_platform(&deps, platform, &request, &nonce).await;
                self.invoked("restore-platform", &result);
                self.record_touches(id)?;
                result.map(|report| match report.decision {
                    Gate::Act { .. } | Gate::Skip => {
                        Next::Run(Stage::Verify, report.timing.settle_seconds, report.timing)
                    }
                    Gate::Wait { seconds, .. } => Next::Run(Stage::Restore, seconds, report.timing),
                    Gate::Report { .. } => Next::End(ExecutionStatus::Succeeded),
                    // Auto mode (these settings) never asks for approval.
                    Gate::Escalate { .. } | Gate::Approve { .. } => {
                        Next::End(ExecutionStatus::Failed)
                    }
                })
            }
            Stage::Verify => {
                let request = VerifyRequest {
                    incident_id: id.to_owned(),
                    timing: Some(timing),
                };
                let result = verify_recovery(&deps, platform, platform, &request, &nonce).await;
                self.invoked("verify-recovery", &result);
                result.map(|report| match report.outcome {
                    // check-derp-peers runs next; its failure is caught to Recovered.
                    Recovery::Recovered { .. } => Next::End(ExecutionStatus::Succeeded),
                    Recovery::KeepWaiting { wait_seconds, .. } => {
                        Next::Run(Stage::Verify, wait_seconds, timing)
                    }
                    Recovery::RestoreAgain { .. } => Next::Run(Stage::Restore, 0, timing),
                    Recovery::Failed { .. } => Next::End(ExecutionStatus::Failed),
                })
            }
            Stage::Escalate(failure) => {
                let request = EscalateRequest {
                    incident_id: id.to_owned(),
                    failure,
                };
                let result = escalate_incident(&deps.records, &request, &nonce).await;
                self.invoked("escalate-incident", &result);
                // The Escalated state is a Fail state.
                result.map(|_| Next::End(ExecutionStatus::Failed))
            }
        };
        let now = self.now();
        match next {
            Ok(Next::End(status)) => self.end_execution(id, status),
            Ok(Next::Run(stage, after, timing)) => {
                self.executions.insert(
                    id.to_owned(),
                    Execution {
                        stage,
                        due: now + seconds(after),
                        retries: 0,
                        timing,
                    },
                );
            }
            Err(error) => {
                let Some(execution) = self.executions.get_mut(id) else {
                    return Ok(());
                };
                let escalating = matches!(execution.stage, Stage::Escalate(_));
                // template.yaml's Retry: Escalate retries every error 6
                // times, the other tasks only passing ones, 4 times.
                let retries = if escalating { 6 } else { 4 };
                let passing = escalating || error.retry_policy() == RetryPolicy::Retry;
                if passing && execution.retries < retries {
                    execution.retries += 1;
                    execution.due = now + seconds(2 << (execution.retries - 1));
                } else if escalating {
                    // Reconcile escalates an execution that failed here.
                    self.end_execution(id, ExecutionStatus::Failed);
                } else {
                    let cause = serde_json::json!({
                        "errorType": error.kind(),
                        "errorMessage": error.to_string(),
                    });
                    *execution = Execution {
                        stage: Stage::Escalate(Failure {
                            error: error.kind().into(),
                            cause: cause.to_string(),
                        }),
                        due: now,
                        retries: 0,
                        timing: execution.timing,
                    };
                }
            }
        }
        Ok(())
    }

    /// Attributes the platform changes a restore of `incident_id` made to
    /// the recorded action each applied: a restart carries its action's
    /// stamp; a scale applies the incident's latest scale decision.
    /// Restamping with the same value changes nothing, so it is not a change.
    fn record_touches(&mut self, incident_id: &str) -> Result<(), String> {
        let incident = self
            .fakes
            .store
            .incidents
            .lock()
            .unwrap()
            .get(incident_id)
            .cloned();
        let restarted = self.fakes.platform.restarted.lock().unwrap().clone();
        let scaled = self.fakes.platform.scaled.lock().unwrap().clone();
        let mut changes: Vec<(String, Option<String>)> = restarted[self.restarts_seen..]
            .iter()
            .map(|(region, stamp)| (region.clone(), Some(stamp.clone())))
            .collect();
        changes.extend(scaled[self.scales_seen..].iter().map(|(region, _)| {
            let latest = incident.as_ref().and_then(|i| {
                i.actions
                    .iter()
                    .rev()
                    .find(|a| matches!(a.remedy, Remedy::Scale { .. }))
            });
            (region.clone(), latest.map(|a| a.stamp.clone()))
        }));
        self.restarts_seen = restarted.len();
        self.scales_seen = scaled.len();
        for (region, stamp) in changes {
            let action = incident.as_ref().and_then(|incident| {
                let stamp = stamp.as_deref()?;
                incident.actions.iter().find(|a| a.stamp == stamp)
            });
            let (Some(incident), Some(action)) = (&incident, action) else {
                return Err(format!(
                    "{region}'s platform was changed (stamp {stamp:?}) by a restore of {incident_id} that recorded no such action first"
                ));
            };
            if incident.region != region {
                return Err(format!(
                    "a restore of {incident_id} ({}) changed {region}",
                    incident.region
                ));
            }
            if self
                .touches
                .iter()
                .any(|t| t.incident_id == incident.id && t.stamp == action.stamp)
            {
                continue;
            }
            PLATFORM_CHANGES.fetch_add(1, Ordering::Relaxed);
            self.touches.push(Touch {
                region,
                incident_id: incident.id.clone(),
                stamp: action.stamp.clone(),
                at: action.at,
                dry_run: incident.dry_run || action.dry_run,
            });
        }
        Ok(())
    }

    /// The invariants that hold after every step.
    fn check(&self) -> Result<(), String> {
        let incidents = self.fakes.store.incidents.lock().unwrap();
        let leases = self.fakes.store.leases.lock().unwrap();

        let mut open: BTreeMap<(String, Lane), Vec<&Incident>> = BTreeMap::new();
        for incident in incidents.values().filter(|i| i.phase.is_open()) {
            open.entry((incident.region.clone(), incident.lane()))
                .or_default()
                .push(incident);
        }
        for ((region, lane), held) in &open {
            if held.len() > 1 {
                let ids: Vec<&str> = held.iter().map(|i| i.id.as_str()).collect();
                return Err(format!(
                    "{region} has {} open {} incidents: {ids:?}",
                    held.len(),
                    lane.as_str()
                ));
            }
            let holder = leases.get(&(region.clone(), *lane));
            if holder != Some(&held[0].id) {
                return Err(format!(
                    "open incident {} does not hold the {} lease of {region} (it names {holder:?}): nothing would find it",
                    held[0].id,
                    lane.as_str()
                ));
            }
        }
        for ((region, lane), id) in leases.iter() {
            match incidents.get(id) {
                Some(i) if i.phase.is_open() && &i.region == region && i.lane() == *lane => {}
                Some(i) => {
                    return Err(format!(
                        "the {} lease of {region} names {id}, which is {} ({}, {})",
                        lane.as_str(),
                        i.phase.as_str(),
                        i.region,
                        i.lane().as_str()
                    ));
                }
                None => {
                    return Err(format!(
                        "the {} lease of {region} names {id}, which does not exist",
                        lane.as_str()
                    ));
                }
            }
        }

        let rails = &self.fakes.settings.guardrails;
        let per_incident = rails.restarts_per_incident as usize;
        let per_window = rails.restarts_per_window as usize;
        for incident in incidents.values() {
            let applied = incident.applied().count();
            if applied > per_incident {
                return Err(format!(
                    "{} recorded {applied} applied actions; the budget is {per_incident}",
                    incident.id
                ));
            }
            for action in incident.applied() {
                if !self
                    .touches
                    .iter()
                    .any(|t| t.incident_id == incident.id && t.stamp == action.stamp)
                {
                    return Err(format!(
                        "{} records the action of {} as applied, but the platform never saw it",
                        incident.id, action.stamp
                    ));
                }
            }
            let touched = self
                .touches
                .iter()
                .filter(|t| t.incident_id == incident.id)
                .count();
            if touched > per_incident {
                return Err(format!(
                    "{} changed its region's platform {touched} times; the budget is {per_incident}",
                    incident.id
                ));
            }
        }
        if let Some(touch) = self.touches.iter().find(|t| t.dry_run) {
            return Err(format!(
                "the dry run {} changed {}'s platform",
                touch.incident_id, touch.region
            ));
        }
        for region in &REGIONS {
            let recorded: Vec<DateTime<Utc>> = incidents
                .values()
                .filter(|i| i.region == region.name)
                .flat_map(|i| i.applied().map(|a| a.at))
                .collect();
            let changed: Vec<DateTime<Utc>> = self
                .touches
                .iter()
                .filter(|t| t.region == region.name)
                .map(|t| t.at)
                .collect();
            for (what, times) in [("applied actions", recorded), ("platform changes", changed)] {
                let most = most_within(times, rails.window);
                if most > per_window {
                    return Err(format!(
                        "{} had {most} {what} within {} min; the budget is {per_window}",
                        region.name,
                        rails.window.as_secs() / 60
                    ));
                }
            }
        }
        Ok(())
    }

    /// Faults stop and the world holds still (health at its lasting answer,
    /// each alarm following its health check, as CloudWatch's would); then
    /// every execution runs to its end (Step Functions keeps running them:
    /// stopping them instead would only hand each incident to the
    /// reconciler's escalation), then each round lets a few minutes pass,
    /// runs the reconciler, and runs what it started.
    async fn settle(&mut self) -> Result<(), String> {
        *self.fakes.notifier.failing.lock().unwrap() = false;
        *self.fakes.health.failing.lock().unwrap() = false;
        *self.fakes.workflow.failing.lock().unwrap() = false;
        self.store_down = false;
        self.stale_health = false;
        self.crash_after = None;
        for (index, region) in REGIONS.iter().enumerate() {
            let lasting = self.lasting_health(index);
            self.fakes.health.set(region.check, &[lasting]);
            self.answers[index] = vec![lasting];
            let state = if lasting {
                AlarmState::Ok
            } else {
                AlarmState::Alarm
            };
            self.fakes.alarms.set(region.alarm, state);
        }
        self.trace.push(format!("{} faults stop", self.now()));
        self.drive().await?;
        let mut verdict = Err(String::new());
        for round in 1..=10 {
            self.fakes.clock.advance(Duration::from_secs(180));
            self.trace.push(format!("{} Reconcile", self.now()));
            self.reconcile().await;
            self.check()?;
            self.drive().await?;
            verdict = self.converged();
            if verdict.is_ok() {
                MOST_ROUNDS_TO_SETTLE.fetch_max(round, Ordering::Relaxed);
                break;
            }
        }
        verdict
    }

    fn lasting_health(&self, region: usize) -> bool {
        self.answers[region].last().copied().unwrap_or(true)
    }

    /// Runs every execution, the one due first next, until none runs.
    async fn drive(&mut self) -> Result<(), String> {
        for _ in 0..2000 {
            let running = self.running();
            let Some(next) = running.iter().min_by_key(|id| self.executions[*id].due) else {
                return Ok(());
            };
            let next = next.clone();
            self.advance_execution(&next).await?;
            self.check()?;
        }
        Err("the recovery workflows still run after 2000 tasks".into())
    }

    fn converged(&self) -> Result<(), String> {
        let incidents = self.fakes.store.incidents.lock().unwrap();
        if let Some(open) = incidents.values().find(|i| i.phase.is_open()) {
            return Err(format!("{} is still {}", open.id, open.phase.as_str()));
        }
        for (index, region) in REGIONS.iter().enumerate() {
            if self.lasting_health(index) {
                continue;
            }
            let last = incidents
                .values()
                .filter(|i| i.region == region.name && i.lane() == Lane::Live)
                .max_by_key(|i| i.closed_at);
            if last.is_none_or(|i| i.phase != Phase::Escalated) {
                return Err(format!(
                    "{} is down, and its last incident is {:?}, not escalated",
                    region.name,
                    last.map(|i| (&i.id, i.phase))
                ));
            }
        }
        if let Some(owing) = incidents.values().find(|i| !i.outbox.is_empty()) {
            return Err(format!(
                "{} still holds {} undelivered notice(s)",
                owing.id,
                owing.outbox.len()
            ));
        }
        let sent: BTreeSet<String> = self
            .fakes
            .notifier
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.id.clone())
            .collect();
        let stored = self.fakes.store.outboxed.lock().unwrap();
        let lost: Vec<&String> = stored.difference(&sent).collect();
        if !lost.is_empty() {
            return Err(format!("notices never delivered: {lost:?}"));
        }
        Ok(())
    }

    fn tally(&self) {
        let incidents = self.fakes.store.incidents.lock().unwrap();
        INCIDENTS.fetch_add(incidents.len(), Ordering::Relaxed);
        for incident in incidents.values() {
            if let Some(at) = CLOSED_PHASES.iter().position(|p| *p == incident.phase) {
                CLOSED[at].fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

enum Next {
    /// Run `stage` after this many seconds, with these waits.
    Run(Stage, u64, Timing),
    End(ExecutionStatus),
}

/// `sample_vars()` with the sequence's guardrails. Polls a minute apart
/// rather than 15 s keep a case cheap: a verification that runs to its
/// 15 min deadline takes 15 polls, not 60, and decides the same.
fn settings(rails: Rails) -> Settings {
    let mut vars = sample_vars();
    vars.extend([
        ("VERIFY_POLL_SECONDS", "60".to_owned()),
        (
            "RESTARTS_PER_INCIDENT",
            rails.restarts_per_incident.to_string(),
        ),
        ("RESTARTS_PER_WINDOW", rails.restarts_per_window.to_string()),
        (
            "ACTION_COOLDOWN_SECONDS",
            rails.cooldown_seconds.to_string(),
        ),
    ]);
    Settings::from_vars(vars).unwrap()
}

fn seconds(n: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(n).unwrap())
}

fn alarm(region: usize, state: AlarmState) -> Trigger {
    Trigger {
        source: TriggerSource::AlarmAction,
        target: Target::Alarm {
            name: REGIONS[region].alarm.into(),
            health_check_id: Some(REGIONS[region].check.into()),
        },
        state,
        reason: "Threshold Crossed".into(),
        dry_run: false,
    }
}

/// The most of `times` that fall within one `window` (both ends included,
/// as the guardrails count them).
fn most_within(mut times: Vec<DateTime<Utc>>, window: Duration) -> usize {
    times.sort();
    let window = chrono::Duration::from_std(window).unwrap();
    (0..times.len())
        .map(|last| {
            times[..=last]
                .iter()
                .filter(|t| times[last] - **t <= window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

async fn lifecycle(case: &Case) -> Result<(), String> {
    let mut world = World::new(case.rails);
    let outcome = async {
        for step in &case.steps {
            world.run(step).await?;
        }
        world.settle().await
    }
    .await;
    STEPS.fetch_add(case.steps.len(), Ordering::Relaxed);
    world.tally();
    outcome.map_err(|why| format!("{why}\nwhat happened:\n{}", world.trace.join("\n")))
}

#[test]
fn lifecycle_keeps_its_invariants_and_settles_once_faults_stop() {
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 10_000,
        // ChaCha, the default, takes most of the run in a debug build.
        rng_algorithm: RngAlgorithm::XorShift,
        source_file: Some(file!()),
        ..ProptestConfig::default()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let result = runner.run(&case(), |case| {
        SEQUENCES.fetch_add(1, Ordering::Relaxed);
        runtime
            .block_on(lifecycle(&case))
            .map_err(TestCaseError::fail)
    });
    let closed: Vec<String> = CLOSED_PHASES
        .iter()
        .zip(&CLOSED)
        .map(|(phase, n)| format!("{} {}", n.load(Ordering::Relaxed), phase.as_str()))
        .collect();
    eprintln!(
        "lifecycle: {} sequences ({} steps) in {:.1?}, settled in at most {} reconciler runs: {} incidents ({}), {} platform changes, {} failed invocations",
        SEQUENCES.load(Ordering::Relaxed),
        STEPS.load(Ordering::Relaxed),
        started.elapsed(),
        MOST_ROUNDS_TO_SETTLE.load(Ordering::Relaxed),
        INCIDENTS.load(Ordering::Relaxed),
        closed.join(", "),
        PLATFORM_CHANGES.load(Ordering::Relaxed),
        FAILED_INVOCATIONS.load(Ordering::Relaxed),
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
