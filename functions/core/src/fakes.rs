//! In-memory ports for use-case tests.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::health::CheckerObservation;
use crate::incident::{Incident, TimelineEntry};
use crate::notice::Notice;
use crate::ports::{Clock, HealthChecks, IncidentStore, Notifier, Opened};

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
    pub now: Mutex<Option<DateTime<Utc>>>,
}

impl ScriptedHealth {
    pub fn script(self, health_check_id: &str, answers: &[bool]) -> Self {
        self.scripts
            .lock()
            .unwrap()
            .insert(health_check_id.into(), answers.iter().copied().collect());
        self
    }
}

#[async_trait]
impl HealthChecks for ScriptedHealth {
    async fn observe(&self, health_check_id: &str) -> Result<Vec<CheckerObservation>> {
        self.calls.lock().unwrap().push(health_check_id.into());
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
}

#[derive(Default)]
pub struct MemoryStore {
    pub watches: Mutex<BTreeMap<String, String>>,
    pub leases: Mutex<BTreeMap<String, String>>,
    pub incidents: Mutex<BTreeMap<String, Incident>>,
    pub timeline: Mutex<Vec<TimelineEntry>>,
}

impl MemoryStore {
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
}

#[async_trait]
impl IncidentStore for MemoryStore {
    async fn leaseholder(&self, region: &str) -> Result<Option<Incident>> {
        let id = self.leases.lock().unwrap().get(region).cloned();
        Ok(id.and_then(|id| self.incidents.lock().unwrap().get(&id).cloned()))
    }
    async fn get(&self, incident_id: &str) -> Result<Option<Incident>> {
        Ok(self.incidents.lock().unwrap().get(incident_id).cloned())
    }
    async fn open(&self, incident: &Incident, first: &TimelineEntry) -> Result<Opened> {
        let mut leases = self.leases.lock().unwrap();
        if let Some(holder) = leases.get(&incident.region) {
            return Ok(Opened::Existing(Box::new(
                self.incidents.lock().unwrap()[holder].clone(),
            )));
        }
        leases.insert(incident.region.clone(), incident.id.clone());
        self.incidents
            .lock()
            .unwrap()
            .insert(incident.id.clone(), incident.clone());
        self.timeline.lock().unwrap().push(first.clone());
        Ok(Opened::New)
    }
    async fn update(&self, incident: &Incident, entries: &[TimelineEntry]) -> Result<Incident> {
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
        if !stored.phase.is_open() && stored.pending_notice.is_none() {
            self.leases.lock().unwrap().remove(&stored.region);
        }
        self.timeline
            .lock()
            .unwrap()
            .extend(entries.iter().cloned());
        Ok(stored.clone())
    }
    async fn append(&self, entry: &TimelineEntry) -> Result<()> {
        self.timeline.lock().unwrap().push(entry.clone());
        Ok(())
    }
    async fn watch_state(&self, watch: &str) -> Result<Option<String>> {
        Ok(self.watches.lock().unwrap().get(watch).cloned())
    }
    async fn save_watch_state(&self, watch: &str, state: &str) -> Result<()> {
        self.watches
            .lock()
            .unwrap()
            .insert(watch.into(), state.into());
        Ok(())
    }
    async fn actions_since(&self, region: &str, since: DateTime<Utc>) -> Result<u32> {
        let incidents = self.incidents.lock().unwrap();
        let applied = incidents
            .values()
            .filter(|i| i.region == region)
            .flat_map(|i| i.actions.iter())
            .filter(|a| a.applied && a.at >= since)
            .count();
        Ok(applied as u32)
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

/// Step Functions as far as the use cases see it: starts by name, once.
#[derive(Default)]
pub struct RecordingWorkflow {
    pub started: Mutex<Vec<crate::workflow::WorkflowInput>>,
}

#[async_trait]
impl crate::ports::Workflow for RecordingWorkflow {
    async fn start(
        &self,
        input: &crate::workflow::WorkflowInput,
    ) -> Result<crate::workflow::Started> {
        let mut started = self.started.lock().unwrap();
        let new = !started.iter().any(|s| s.incident_id == input.incident_id);
        if new {
            started.push(input.clone());
        }
        Ok(crate::workflow::Started {
            execution_arn: format!(
                "arn:aws:states:us-east-1:123456789012:execution:recovery:{}",
                input.incident_id
            ),
            new,
        })
    }
}

/// A region's platform as a test sets it; records what was done to it.
pub struct FakePlatform {
    pub diagnosis: Mutex<crate::diagnosis::Diagnosis>,
    pub peers: Mutex<Vec<crate::recovery::PeerView>>,
    pub scaled: Mutex<Vec<u32>>,
    pub restarted: Mutex<Vec<String>>,
}

impl FakePlatform {
    pub fn seeing(diagnosis: crate::diagnosis::Diagnosis) -> Self {
        Self {
            diagnosis: Mutex::new(diagnosis),
            peers: Mutex::default(),
            scaled: Mutex::default(),
            restarted: Mutex::default(),
        }
    }
    pub fn changes(&self) -> (Vec<u32>, Vec<String>) {
        (
            self.scaled.lock().unwrap().clone(),
            self.restarted.lock().unwrap().clone(),
        )
    }
}

#[async_trait]
impl crate::ports::Platform for FakePlatform {
    async fn diagnose(
        &self,
        _region: &crate::config::RegionSettings,
    ) -> Result<crate::diagnosis::Diagnosis> {
        Ok(self.diagnosis.lock().unwrap().clone())
    }
    async fn scale(&self, _region: &crate::config::RegionSettings, replicas: u32) -> Result<()> {
        self.scaled.lock().unwrap().push(replicas);
        Ok(())
    }
    async fn restart(
        &self,
        _region: &crate::config::RegionSettings,
        restarted_at: &str,
    ) -> Result<()> {
        self.restarted.lock().unwrap().push(restarted_at.to_owned());
        Ok(())
    }
}

#[async_trait]
impl crate::ports::Peers for FakePlatform {
    async fn peers(
        &self,
        _region: &crate::config::RegionSettings,
    ) -> Result<Vec<crate::recovery::PeerView>> {
        Ok(self.peers.lock().unwrap().clone())
    }
}

/// The us-east-1 alarm going to ALARM.
pub fn alarm_trigger() -> crate::trigger::Trigger {
    use crate::trigger::{AlarmState, Target, Trigger, TriggerSource};
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
    use crate::incident::{EntryKind, Journal};
    let mut incident = Incident::detect(
        "us-east-1",
        &alarm_trigger(),
        false,
        detected_at,
        "confirm1",
    );
    let first =
        Journal::new("confirm1").entry(&incident, detected_at, EntryKind::Detected, "detected");
    store.open(&incident, &first).await.unwrap();
    incident.conclude(crate::verdict::Verdict::Confirmed, Vec::new(), confirmed_at);
    store.update(&incident, &[]).await.unwrap()
}
