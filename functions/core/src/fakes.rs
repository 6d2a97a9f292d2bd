//! In-memory ports for use-case tests: this crate's own, and (with the
//! `fakes` feature, a dev-dependency only) the handler tests of the function
//! crates. Never part of a function binary.

// A poisoned lock or an unparsable fixture here is a broken test: panicking
// is the right answer, so the workspace's ban on unwrap does not apply.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::app::context::{Context, Records};
use crate::app::ports::{
    Alarms, Clock, HealthChecks, IncidentHistory, IncidentStore, Lease, Metrics, Notifier, Opened,
};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::diagnosis::{ClusterReach, DeploymentView, Diagnosis, PodView};
use crate::model::health::CheckerObservation;
use crate::model::incident::{Incident, Lane, TimelineEntry};
use crate::model::metric::Metric;
use crate::model::notice::Notice;
use crate::model::readiness::{AlarmConfig, HealthCheckConfig};
use crate::model::trigger::AlarmState;
use crate::model::workflow::ExecutionStatus;

pub struct FakeClock(Mutex<DateTime<Utc>>);

impl FakeClock {
    pub fn at(time: &str) -> Self {
        Self(Mutex::new(time.parse().unwrap()))
    }
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += chrono::Duration::from_std(by).unwrap();
    }
}

#[async_trait]
impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    async fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }
}

/// Per health check, a script of answers: `true` = all 8 checkers succeed.
/// Each call takes the next answer; the last one sticks.
#[derive(Default)]
pub struct ScriptedHealth {
    scripts: Mutex<HashMap<String, VecDeque<bool>>>,
    pub calls: Mutex<Vec<String>>,
    /// Route 53 throttles every call while set.
    pub failing: Mutex<bool>,
    pub now: Mutex<Option<DateTime<Utc>>>,
    /// What `GetHealthCheck` answers; a check not here does not exist.
    pub configs: Mutex<BTreeMap<String, HealthCheckConfig>>,
}

impl ScriptedHealth {
    pub fn script(self, health_check_id: &str, answers: &[bool]) -> Self {
        self.scripts
            .lock()
            .unwrap()
            .insert(health_check_id.into(), answers.iter().copied().collect());
        self
    }

    /// Replaces the script of one health check mid-test.
    pub fn set(&self, health_check_id: &str, answers: &[bool]) {
        self.scripts
            .lock()
            .unwrap()
            .insert(health_check_id.into(), answers.iter().copied().collect());
    }
}

#[async_trait]
impl HealthChecks for ScriptedHealth {
    async fn observe(&self, health_check_id: &str) -> Result<Vec<CheckerObservation>> {
        self.calls.lock().unwrap().push(health_check_id.into());
        if *self.failing.lock().unwrap() {
            return Err(Error::unavailable("Route 53", "Throttling: Rate exceeded"));
        }
        let mut scripts = self.scripts.lock().unwrap();
        let Some(script) = scripts.get_mut(health_check_id) else {
            return Err(Error::rejected(
                "Route 53",
                format!("no health check {health_check_id}"),
            ));
        };
        let healthy = if script.len() > 1 {
            script.pop_front().unwrap()
        } else {
            *script.front().unwrap()
        };
        let at = self.now.lock().unwrap().unwrap_or_else(Utc::now);
        let status = if healthy {
            "Success: HTTP Status Code 200"
        } else {
            "Failure: HTTP Status Code 503"
        };
        Ok((0..8)
            .map(|i| CheckerObservation::from_status(format!("checker-{i}"), status, at))
            .collect())
    }

    async fn config(&self, health_check_id: &str) -> Result<Option<HealthCheckConfig>> {
        if *self.failing.lock().unwrap() {
            return Err(Error::unavailable("Route 53", "Throttling: Rate exceeded"));
        }
        Ok(self.configs.lock().unwrap().get(health_check_id).cloned())
    }
}

#[derive(Default)]
pub struct MemoryStore {
    pub watches: Mutex<BTreeMap<String, String>>,
    /// (region, lane) -> incident id.
    pub leases: Mutex<BTreeMap<(String, Lane), String>>,
    pub incidents: Mutex<BTreeMap<String, Incident>>,
    pub timeline: Mutex<Vec<TimelineEntry>>,
    /// The region and time of every action that may have changed the
    /// platform, as the store keeps them across incidents.
    pub actions: Mutex<Vec<(String, DateTime<Utc>, String)>>,
    /// Writes that fail, as if the function died or DynamoDB refused them.
    pub write_fault: Mutex<Option<WriteFault>>,
    /// The id of every notice ever stored in an outbox: each must be
    /// delivered at least once.
    pub outboxed: Mutex<BTreeSet<String>>,
    /// The action slot: who took it last, and when.
    pub slot: Mutex<Option<(String, DateTime<Utc>)>>,
    /// The task token of each incident's waiting execution.
    pub tokens: Mutex<BTreeMap<String, crate::model::approval::TaskToken>>,
}

/// The next `after` writes (open, update, append, release, heartbeat) work;
/// every one after them fails with `error` until the fault is cleared.
#[derive(Debug, Clone)]
pub struct WriteFault {
    pub after: usize,
    pub error: Error,
}

impl MemoryStore {
    fn write(&self) -> Result<()> {
        match self.write_fault.lock().unwrap().as_mut() {
            Some(fault) if fault.after == 0 => Err(fault.error.clone()),
            Some(fault) => {
                fault.after -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
    pub fn only_incident(&self) -> Incident {
        let incidents = self.incidents.lock().unwrap();
        assert_eq!(incidents.len(), 1, "{incidents:?}");
        incidents.values().next().unwrap().clone()
    }
    pub fn kinds(&self) -> Vec<String> {
        self.timeline
            .lock()
            .unwrap()
            .iter()
            .map(|e| format!("{:?}", e.kind))
            .collect()
    }
    fn record_outbox(&self, incident: &Incident) {
        self.outboxed
            .lock()
            .unwrap()
            .extend(incident.outbox.iter().map(|n| n.id.clone()));
    }
    /// The incident holding the region's live lease, if any.
    pub fn lease(&self, region: &str) -> Option<String> {
        self.leases
            .lock()
            .unwrap()
            .get(&(region.to_owned(), Lane::Live))
            .cloned()
    }
}

#[async_trait]
impl IncidentStore for MemoryStore {
    async fn claim_action_slot(
        &self,
        region: &str,
        at: DateTime<Utc>,
        spread: Duration,
    ) -> Result<crate::app::ports::ActionSlot> {
        self.write()?;
        let mut slot = self.slot.lock().unwrap();
        if let Some((holder, taken)) = slot.as_ref()
            && holder != region
            && at
                .signed_duration_since(*taken)
                .to_std()
                .unwrap_or_default()
                < spread
        {
            return Ok(crate::app::ports::ActionSlot::Held {
                region: holder.clone(),
                at: *taken,
            });
        }
        *slot = Some((region.to_owned(), at));
        Ok(crate::app::ports::ActionSlot::Claimed)
    }

    async fn lease(&self, region: &str, lane: Lane) -> Result<Lease> {
        let Some(id) = self
            .leases
            .lock()
            .unwrap()
            .get(&(region.to_owned(), lane))
            .cloned()
        else {
            return Ok(Lease::Free);
        };
        Ok(match self.incidents.lock().unwrap().get(&id).cloned() {
            Some(incident) if incident.phase.is_open() => Lease::Held(Box::new(incident)),
            incident => Lease::Dangling {
                incident_id: id,
                incident: incident.map(Box::new),
            },
        })
    }
    async fn release(&self, region: &str, lane: Lane, incident_id: &str) -> Result<bool> {
        self.write()?;
        let mut leases = self.leases.lock().unwrap();
        let key = (region.to_owned(), lane);
        if leases.get(&key).is_some_and(|id| id == incident_id) {
            leases.remove(&key);
            return Ok(true);
        }
        Ok(false)
    }
    async fn get(&self, incident_id: &str) -> Result<Option<Incident>> {
        Ok(self.incidents.lock().unwrap().get(incident_id).cloned())
    }
    async fn open(&self, incident: &Incident, first: &TimelineEntry) -> Result<Opened> {
        self.write()?;
        let mut leases = self.leases.lock().unwrap();
        let key = (incident.region.clone(), incident.lane());
        if let Some(holder) = leases.get(&key) {
            return match self.incidents.lock().unwrap().get(holder) {
                Some(holder) => Ok(Opened::Existing(Box::new(holder.clone()))),
                None => Err(Error::Conflict(format!(
                    "the lease names {holder}, which is gone"
                ))),
            };
        }
        let mut incidents = self.incidents.lock().unwrap();
        if incidents.contains_key(&incident.id) {
            // DynamoDB's put is conditional on the item not existing.
            return Err(Error::Conflict(format!("incident {} exists", incident.id)));
        }
        leases.insert(key, incident.id.clone());
        incidents.insert(incident.id.clone(), incident.clone());
        self.record_outbox(incident);
        self.timeline.lock().unwrap().push(first.clone());
        Ok(Opened::New)
    }
    async fn update(&self, incident: &Incident, entries: &[TimelineEntry]) -> Result<Incident> {
        self.write()?;
        let mut incidents = self.incidents.lock().unwrap();
        let stored = incidents
            .get_mut(&incident.id)
            .ok_or_else(|| Error::Conflict("missing".into()))?;
        if stored.version != incident.version {
            return Err(Error::Conflict(format!(
                "version {} != {}",
                stored.version, incident.version
            )));
        }
        *stored = Incident {
            version: incident.version + 1,
            ..incident.clone()
        };
        self.record_outbox(stored);
        if stored.is_closing() {
            let mut leases = self.leases.lock().unwrap();
            let key = (stored.region.clone(), stored.lane());
            if leases.get(&key) == Some(&stored.id) {
                leases.remove(&key);
            }
        }
        let mut actions = self.actions.lock().unwrap();
        for action in stored.actions.iter().filter(|a| a.may_have_acted()) {
            let record = (stored.region.clone(), action.at, stored.id.clone());
            if !actions.contains(&record) {
                actions.push(record);
            }
        }
        self.timeline
            .lock()
            .unwrap()
            .extend(entries.iter().cloned());
        Ok(stored.clone())
    }
    async fn append(&self, entry: &TimelineEntry) -> Result<()> {
        self.write()?;
        self.timeline.lock().unwrap().push(entry.clone());
        Ok(())
    }
    async fn watch_state(&self, watch: &str) -> Result<Option<String>> {
        Ok(self.watches.lock().unwrap().get(watch).cloned())
    }
    async fn save_watch_state(&self, watch: &str, state: &str) -> Result<()> {
        self.write()?;
        self.watches
            .lock()
            .unwrap()
            .insert(watch.into(), state.into());
        Ok(())
    }
    async fn actions_since(
        &self,
        region: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let mut times: Vec<_> = self
            .actions
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, at, _)| r == region && *at >= since)
            .map(|(_, at, _)| *at)
            .collect();
        times.sort();
        Ok(times)
    }
    async fn undelivered(&self, region: &str) -> Result<Vec<Incident>> {
        Ok(self
            .incidents
            .lock()
            .unwrap()
            .values()
            .filter(|i| i.region == region && !i.outbox.is_empty())
            .cloned()
            .collect())
    }
    async fn last_closed(&self, region: &str, lane: Lane) -> Result<Option<Incident>> {
        Ok(self
            .incidents
            .lock()
            .unwrap()
            .values()
            .filter(|i| i.region == region && i.lane() == lane && i.closed_at.is_some())
            .max_by_key(|i| i.closed_at)
            .cloned())
    }
}

#[derive(Default)]
pub struct RecordingNotifier {
    pub sent: Mutex<Vec<Notice>>,
    pub failing: Mutex<bool>,
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn publish(&self, notice: &Notice) -> Result<()> {
        if *self.failing.lock().unwrap() {
            return Err(Error::unavailable("SNS", "connection refused"));
        }
        self.sent.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// The in-memory store's history.
#[async_trait]
impl IncidentHistory for MemoryStore {
    async fn incident_ids(
        &self,
        region: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<String>> {
        let incidents = self
            .incidents
            .lock()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(incidents
            .values()
            .filter(|i| i.region == region)
            .filter(|i| match (since, i.closed_at) {
                (Some(since), Some(closed)) => closed >= since,
                _ => true,
            })
            .map(|i| i.id.clone())
            .collect())
    }

    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>> {
        let timeline = self
            .timeline
            .lock()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(timeline
            .iter()
            .filter(|e| e.incident_id == incident_id)
            .cloned()
            .collect())
    }
}

/// Keeps every figure recorded, in order.
#[derive(Default)]
pub struct RecordingMetrics {
    pub recorded: Mutex<Vec<Metric>>,
}

impl RecordingMetrics {
    pub fn all(&self) -> Vec<Metric> {
        self.recorded.lock().unwrap().clone()
    }

    /// The names of the figures recorded, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.all().iter().map(Metric::name).collect()
    }
}

impl Metrics for RecordingMetrics {
    fn record(&self, metric: Metric) {
        self.recorded.lock().unwrap().push(metric);
    }
}

/// Step Functions as far as the use cases see it: starts by name, once;
/// an execution runs until a test ends it.
#[derive(Default)]
pub struct RecordingWorkflow {
    pub started: Mutex<Vec<crate::model::workflow::WorkflowInput>>,
    pub statuses: Mutex<BTreeMap<String, ExecutionStatus>>,
    /// Starts fail while set.
    pub failing: Mutex<bool>,
}

impl RecordingWorkflow {
    pub fn end(&self, incident_id: &str, status: ExecutionStatus) {
        self.statuses
            .lock()
            .unwrap()
            .insert(incident_id.to_owned(), status);
    }
}

#[async_trait]
impl crate::app::ports::Workflow for RecordingWorkflow {
    async fn start(
        &self,
        input: &crate::model::workflow::WorkflowInput,
    ) -> Result<crate::model::workflow::Started> {
        if *self.failing.lock().unwrap() {
            return Err(Error::unavailable("Step Functions", "throttled"));
        }
        let mut started = self.started.lock().unwrap();
        let new = !started.iter().any(|s| s.incident_id == input.incident_id);
        if new {
            started.push(input.clone());
            self.end(&input.incident_id, ExecutionStatus::Running);
        }
        Ok(crate::model::workflow::Started {
            execution_arn: format!(
                "arn:aws:states:us-east-1:123456789012:execution:recovery:{}",
                input.incident_id
            ),
            new,
        })
    }
    async fn status(&self, incident_id: &str) -> Result<Option<ExecutionStatus>> {
        Ok(self.statuses.lock().unwrap().get(incident_id).copied())
    }
}

#[async_trait]
impl crate::app::ports::TaskTokens for MemoryStore {
    async fn keep(
        &self,
        incident_id: &str,
        token: &crate::model::approval::TaskToken,
    ) -> Result<()> {
        self.write()?;
        self.tokens
            .lock()
            .unwrap()
            .insert(incident_id.to_owned(), token.clone());
        Ok(())
    }

    async fn token(&self, incident_id: &str) -> Result<Option<crate::model::approval::TaskToken>> {
        Ok(self.tokens.lock().unwrap().get(incident_id).cloned())
    }
}

/// Step Functions' callbacks: which token was told what. A token told once
/// is gone, as `SendTaskSuccess` answers a second time.
#[derive(Default)]
pub struct RecordingCallbacks {
    pub told: Mutex<Vec<(String, crate::app::ports::Outcome)>>,
    /// Tokens whose execution no longer waits.
    pub gone: Mutex<BTreeSet<String>>,
    /// Callbacks fail while set.
    pub failing: Mutex<bool>,
}

#[async_trait]
impl crate::app::ports::Callbacks for RecordingCallbacks {
    async fn resume(
        &self,
        token: &crate::model::approval::TaskToken,
        outcome: crate::app::ports::Outcome,
    ) -> Result<crate::app::ports::Resumed> {
        if *self.failing.lock().unwrap() {
            return Err(Error::unavailable("Step Functions", "throttled"));
        }
        if !self.gone.lock().unwrap().insert(token.expose().to_owned()) {
            return Ok(crate::app::ports::Resumed::Gone);
        }
        self.told
            .lock()
            .unwrap()
            .push((token.expose().to_owned(), outcome));
        Ok(crate::app::ports::Resumed::Resumed)
    }
}

/// Alarms as a test sets them: by state alone (acting on nothing), or
/// configured whole.
#[derive(Default)]
pub struct FakeAlarms(pub Mutex<BTreeMap<String, AlarmConfig>>);

impl FakeAlarms {
    pub fn set(&self, name: &str, state: AlarmState) {
        let mut alarms = self.0.lock().unwrap();
        let alarm = alarms
            .entry(name.to_owned())
            .or_insert_with(|| AlarmConfig {
                name: name.to_owned(),
                arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
                actions_enabled: true,
                alarm_actions: Vec::new(),
                state,
            });
        alarm.state = state;
    }

    pub fn configure(&self, alarm: AlarmConfig) {
        self.0.lock().unwrap().insert(alarm.name.clone(), alarm);
    }
}

#[async_trait]
impl Alarms for FakeAlarms {
    async fn states(&self, names: &[String]) -> Result<Vec<(String, AlarmState)>> {
        Ok(self
            .configs(names)
            .await?
            .into_iter()
            .map(|a| (a.name, a.state))
            .collect())
    }

    async fn configs(&self, names: &[String]) -> Result<Vec<AlarmConfig>> {
        let alarms = self.0.lock().unwrap();
        Ok(names
            .iter()
            .filter_map(|n| alarms.get(n).cloned())
            .collect())
    }
}

/// The regions' platforms as a test sets them; records what was done to them.
pub struct FakePlatform {
    /// What every region without a diagnosis of its own looks like.
    pub diagnosis: Mutex<crate::model::diagnosis::Diagnosis>,
    /// Per region, what it looks like instead.
    pub regional: Mutex<BTreeMap<String, crate::model::diagnosis::Diagnosis>>,
    pub peers: Mutex<Vec<crate::model::peers::PeerView>>,
    /// (region, replicas) of every scale.
    pub scaled: Mutex<Vec<(String, u32)>>,
    /// (region, stamp) of every rollout restart.
    pub restarted: Mutex<Vec<(String, String)>>,
}

impl FakePlatform {
    pub fn seeing(diagnosis: crate::model::diagnosis::Diagnosis) -> Self {
        Self {
            diagnosis: Mutex::new(diagnosis),
            regional: Mutex::default(),
            peers: Mutex::default(),
            scaled: Mutex::default(),
            restarted: Mutex::default(),
        }
    }
    /// The replicas of every scale and the stamp of every restart, in any region.
    pub fn changes(&self) -> (Vec<u32>, Vec<String>) {
        (
            self.scaled.lock().unwrap().iter().map(|c| c.1).collect(),
            self.restarted
                .lock()
                .unwrap()
                .iter()
                .map(|c| c.1.clone())
                .collect(),
        )
    }
}

#[async_trait]
impl crate::app::ports::Platform for FakePlatform {
    async fn diagnose(
        &self,
        region: &crate::config::RegionSettings,
    ) -> Result<crate::model::diagnosis::Diagnosis> {
        let regional = self.regional.lock().unwrap().get(&region.name).cloned();
        Ok(regional.unwrap_or_else(|| self.diagnosis.lock().unwrap().clone()))
    }
    async fn scale(&self, region: &crate::config::RegionSettings, replicas: u32) -> Result<()> {
        self.scaled
            .lock()
            .unwrap()
            .push((region.name.clone(), replicas));
        Ok(())
    }
    async fn restart(
        &self,
        region: &crate::config::RegionSettings,
        restarted_at: &str,
    ) -> Result<()> {
        self.restarted
            .lock()
            .unwrap()
            .push((region.name.clone(), restarted_at.to_owned()));
        Ok(())
    }
}

#[async_trait]
impl crate::app::ports::Peers for FakePlatform {
    async fn peers(
        &self,
        _region: &crate::config::RegionSettings,
    ) -> Result<Vec<crate::model::peers::PeerView>> {
        Ok(self.peers.lock().unwrap().clone())
    }
}

/// The us-east-1 alarm going to ALARM.
pub fn alarm_trigger() -> crate::model::trigger::Trigger {
    use crate::model::trigger::{AlarmState, Target, Trigger, TriggerSource};
    Trigger {
        source: TriggerSource::AlarmAction,
        target: Target::Alarm {
            name: "alarm-a".into(),
            health_check_id: None,
        },
        state: AlarmState::Alarm,
        reason: String::new(),
        dry_run: false,
    }
}

/// An open incident in us-east-1 as confirm-outage leaves it, stored.
pub async fn confirmed_incident(
    store: &MemoryStore,
    detected_at: DateTime<Utc>,
    confirmed_at: DateTime<Utc>,
) -> Incident {
    confirmed_incident_from(store, "confirm1", detected_at, confirmed_at).await
}

/// The same, opened by the request `nonce` (which ends the incident's id).
pub async fn confirmed_incident_from(
    store: &MemoryStore,
    nonce: &str,
    detected_at: DateTime<Utc>,
    confirmed_at: DateTime<Utc>,
) -> Incident {
    use crate::model::incident::{EntryKind, Journal};
    let mut incident = Incident::detect("us-east-1", &alarm_trigger(), false, detected_at, nonce);
    let first = Journal::new(nonce).entry(&incident, detected_at, EntryKind::Detected, "detected");
    store.open(&incident, &first).await.unwrap();
    incident
        .conclude(
            crate::model::verdict::Verdict::Confirmed,
            Vec::new(),
            confirmed_at,
        )
        .unwrap();
    store.update(&incident, &[]).await.unwrap()
}

/// A reachable cluster whose deployment wants `replicas` and has `pods`.
pub fn platform(replicas: u32, pods: Vec<PodView>) -> Diagnosis {
    let ready = pods.iter().filter(|p| p.ready).count();
    Diagnosis {
        cluster: ClusterReach::Reachable,
        deployment: Some(DeploymentView {
            replicas,
            ready: u32::try_from(ready).unwrap(),
            available: u32::try_from(ready).unwrap(),
            updated: replicas,
            generation: 2,
            observed_generation: 2,
            paused: false,
            progress_deadline_exceeded: false,
        }),
        pods,
        nodes_ready: 3,
        nodes_not_ready: 0,
        ingress_load_balancers: Some(vec!["lb".into()]),
    }
}

/// A platform pod: ready, or waiting for `reason`.
pub fn pod(name: &str, ready: bool, reason: Option<&str>) -> PodView {
    PodView {
        name: name.into(),
        phase: "Running".into(),
        ready,
        waiting_reason: reason.map(Into::into),
        restarts: if ready { 0 } else { 6 },
        unschedulable: false,
    }
}

/// Three ready pods of three.
pub fn healthy_platform() -> Diagnosis {
    platform(
        3,
        (1..=3)
            .map(|i| pod(&format!("loft-{i}"), true, None))
            .collect(),
    )
}

/// Three pods of three in CrashLoopBackOff: the runbook's rollout restart.
pub fn crash_looping_platform() -> Diagnosis {
    platform(
        3,
        (1..=3)
            .map(|i| pod(&format!("loft-{i}"), false, Some("CrashLoopBackOff")))
            .collect(),
    )
}

/// When the repository's `events/` happen: their incident
/// `us-east-1-20261122-101500-3f9a2c1b` was detected then.
pub const EVENTS_TIME: &str = "2026-11-22T10:15:00Z";

/// The settings the repository's `events/` are written for: us-east-1
/// (cluster `platform-us-east-1`, check `hc-a`, alarm
/// `platform-failover-us-east-1-platform-health`) and eu-west-1, every other
/// setting at its default; `extra` adds or overrides variables.
pub fn events_settings(extra: &[(&str, &str)]) -> Settings {
    let mut vars: BTreeMap<String, String> = [
        (
            "REGIONS",
            r#"[{"name":"us-east-1","cluster":"platform-us-east-1","health_check_id":"hc-a","alarm_names":["platform-failover-us-east-1-platform-health"]},
               {"name":"eu-west-1","cluster":"platform-eu-west-1","health_check_id":"hc-b","alarm_names":["platform-failover-eu-west-1-platform-health"]}]"#,
        ),
        ("INCIDENT_TABLE", "incidents"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:notices"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::from_vars(vars).unwrap()
}

/// The context a use case borrows, over in-memory ports.
pub fn context<'a>(
    settings: &'a Settings,
    health: &'a ScriptedHealth,
    store: &'a MemoryStore,
    notifier: &'a RecordingNotifier,
    clock: &'a FakeClock,
    metrics: &'a RecordingMetrics,
) -> Context<'a> {
    Context {
        settings,
        health,
        records: Records {
            store,
            notifier,
            clock,
            metrics,
        },
    }
}

/// Every in-memory port at once, for a handler test: both regions' checks
/// healthy, both platforms healthy, nothing stored, at [`EVENTS_TIME`].
pub struct Fakes {
    pub settings: Settings,
    pub health: ScriptedHealth,
    pub store: MemoryStore,
    pub notifier: RecordingNotifier,
    pub clock: FakeClock,
    pub metrics: RecordingMetrics,
    pub workflow: RecordingWorkflow,
    pub alarms: FakeAlarms,
    pub platform: FakePlatform,
    pub readiness: FakeReadiness,
}

impl Fakes {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            health: ScriptedHealth::default()
                .script("hc-a", &[true])
                .script("hc-b", &[true]),
            store: MemoryStore::default(),
            notifier: RecordingNotifier::default(),
            clock: FakeClock::at(EVENTS_TIME),
            metrics: RecordingMetrics::default(),
            workflow: RecordingWorkflow::default(),
            alarms: FakeAlarms::default(),
            platform: FakePlatform::seeing(healthy_platform()),
            readiness: FakeReadiness::default(),
        }
    }

    /// What a use case borrows; the checkers report as of the clock's now.
    pub fn context(&self) -> Context<'_> {
        *self.health.now.lock().unwrap() = Some(self.clock.now());
        context(
            &self.settings,
            &self.health,
            &self.store,
            &self.notifier,
            &self.clock,
            &self.metrics,
        )
    }

    /// What a probe of `function` borrows, reviewing `wanted`.
    pub fn prober<'a>(
        &'a self,
        function: &'a str,
        wanted: &'a [crate::model::readiness::Access],
        reads_standby: bool,
    ) -> crate::app::probe::Prober<'a> {
        crate::app::probe::Prober {
            function,
            settings: &self.settings,
            reviews: &self.readiness,
            standby: reads_standby
                .then_some(&self.readiness as &dyn crate::app::ports::StandbyClusters),
            wanted,
        }
    }

    pub fn records(&self) -> Records<'_> {
        Records {
            store: &self.store,
            notifier: &self.notifier,
            clock: &self.clock,
            metrics: &self.metrics,
        }
    }

    /// The open, confirmed incident the repository's `events/` name.
    pub async fn events_incident(&self) -> Incident {
        let at = self.clock.now();
        confirmed_incident_from(&self.store, "3f9a2c1b", at, at).await
    }

    /// The subjects of every notice published, in order.
    pub fn subjects(&self) -> Vec<String> {
        self.notifier
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.subject.clone())
            .collect()
    }
}

/// The payload of one of the repository's sample events (`events/<file>`),
/// as Lambda hands it to a function.
pub fn event_payload(file: &str) -> serde_json::Value {
    let path = format!("{}/../../events/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The readiness evaluation's own reads, as a test sets them: who may
/// invoke confirm-outage, each function's probe, each region's cluster.
#[derive(Default)]
pub struct FakeReadiness {
    pub alarm_sources: Mutex<Vec<String>>,
    /// A function with no probe here cannot be invoked.
    pub probes: Mutex<BTreeMap<String, crate::model::readiness::Probe>>,
    /// A region with no facts here cannot be read.
    pub clusters: Mutex<BTreeMap<String, crate::model::readiness::ClusterFacts>>,
    /// Accesses every review answers as denied.
    pub denied: Mutex<Vec<crate::model::readiness::Access>>,
}

#[async_trait]
impl crate::app::ports::InvokePolicy for FakeReadiness {
    async fn alarm_sources(&self) -> Result<Vec<String>> {
        Ok(self.alarm_sources.lock().unwrap().clone())
    }
}

#[async_trait]
impl crate::app::ports::Probes for FakeReadiness {
    async fn probe(&self, function: &str) -> Result<crate::model::readiness::Probe> {
        self.probes
            .lock()
            .unwrap()
            .get(function)
            .cloned()
            .ok_or_else(|| Error::unavailable("Lambda", format!("{function} timed out")))
    }
}

#[async_trait]
impl crate::app::ports::StandbyClusters for FakeReadiness {
    async fn facts(
        &self,
        region: &crate::config::RegionSettings,
    ) -> Result<crate::model::readiness::ClusterFacts> {
        self.clusters
            .lock()
            .unwrap()
            .get(&region.name)
            .cloned()
            .ok_or_else(|| Error::unavailable("EKS", format!("{} did not answer", region.cluster)))
    }
}

#[async_trait]
impl crate::app::ports::AccessReviews for FakeReadiness {
    async fn review(
        &self,
        region: &crate::config::RegionSettings,
        wanted: &[crate::model::readiness::Access],
    ) -> crate::model::readiness::RegionAccess {
        let denied = self.denied.lock().unwrap();
        crate::model::readiness::RegionAccess {
            region: region.name.clone(),
            describe_error: None,
            answers: wanted
                .iter()
                .map(|access| crate::model::readiness::AccessAnswer {
                    access: access.clone(),
                    allowed: !denied.contains(access),
                    reason: String::new(),
                })
                .collect(),
            review_error: None,
        }
    }
}

/// The readiness reports, kept in memory.
#[derive(Default)]
pub struct MemoryReports {
    pub history: Mutex<Vec<crate::model::readiness::Report>>,
    pub failing: Mutex<bool>,
}

#[async_trait]
impl crate::app::ports::ReadinessReports for MemoryReports {
    async fn latest(&self) -> Result<Option<crate::model::readiness::Report>> {
        if *self.failing.lock().unwrap() {
            return Err(Error::unavailable("DynamoDB", "throttled"));
        }
        Ok(self.history.lock().unwrap().last().cloned())
    }

    async fn save(&self, report: &crate::model::readiness::Report) -> Result<()> {
        if *self.failing.lock().unwrap() {
            return Err(Error::unavailable("DynamoDB", "throttled"));
        }
        self.history.lock().unwrap().push(report.clone());
        Ok(())
    }
}
