//! Use cases of the operator's CLI (`failoverctl`): what it reads of each
//! region and incident, and the break-glass steps a person takes by hand.
//!
//! The break-glass steps run in the operator's own process, through the same
//! store and notifier as the functions, so they work while the functions are
//! broken. Each is one transition committed like any other (state, timeline
//! entry naming who and why, notice), and a refusal changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::commit::commit;
use crate::app::context::{Context, Records, read};
use crate::app::ports::{Alarms, IncidentHistory, IncidentStore, Lease};
use crate::app::reconcile::HEARTBEAT;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::health::HealthReading;
use crate::model::incident::{
    Closing, EntryKind, Incident, Journal, Lane, REASON_LIMIT, TimelineEntry,
};
use crate::model::phase::Phase;
use crate::model::remedy::Cause;
use crate::model::trigger::AlarmState;
use crate::notices::operator::{self, HandStep};
use crate::rules::repair::{is_down, worst_alarm};

/// The region `name` of the settings; any other is refused naming the known ones.
pub fn known_region<'a>(
    settings: &'a Settings,
    name: &str,
) -> Result<&'a crate::config::RegionSettings> {
    settings.region(name).ok_or_else(|| {
        Error::InvalidEvent(operator::unknown("region", name, &settings.region_names()))
    })
}

// ---------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------

/// A lease that is not free.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaseView {
    pub lane: Lane,
    pub incident_id: String,
    /// False when it names a closed or expired incident (dangling).
    pub held: bool,
}

/// An open incident as the status shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenIncident {
    pub id: String,
    pub phase: Phase,
    pub dry_run: bool,
    pub detected_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionStatus {
    pub region: String,
    /// Route 53's verdict now.
    pub health: HealthReading,
    /// The worst state of the region's alarms; `None` when none exists.
    pub alarm: Option<AlarmState>,
    pub leases: Vec<LeaseView>,
    pub open: Vec<OpenIncident>,
}

impl RegionStatus {
    /// Down as the reconciler sees it ([`is_down`]).
    pub fn is_down(&self) -> bool {
        is_down(self.alarm, self.health.health)
    }
}

/// The reconciler's last run, from its heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heartbeat {
    pub at: DateTime<Utc>,
    pub reason: String,
    pub repairs: usize,
    /// Regions it could not read or repair, with why.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub at: DateTime<Utc>,
    /// The deployment decides and reports only.
    pub dry_run: bool,
    pub regions: Vec<RegionStatus>,
    /// `None` when it never ran (or its heartbeat expired).
    pub reconciler: Option<Heartbeat>,
}

/// Which state a status asks a person to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// Every region healthy, nothing open.
    None,
    /// An incident is open: the orchestrator is at work.
    IncidentOpen,
    /// A region is down and no open incident holds it: escalated, or not
    /// (yet) detected; a person should look.
    RegionDown,
}

impl StatusReport {
    pub fn attention(&self) -> Attention {
        if self
            .regions
            .iter()
            .any(|r| r.is_down() && r.open.is_empty())
        {
            Attention::RegionDown
        } else if self.regions.iter().any(|r| !r.open.is_empty()) {
            Attention::IncidentOpen
        } else {
            Attention::None
        }
    }
}

/// Every region as it is now: Route 53 health, alarm, leases and open
/// incidents, and the reconciler's last run. Reads only.
pub async fn status(deps: &Context<'_>, alarms: &dyn Alarms) -> Result<StatusReport> {
    let names = deps.settings.alarm_names();
    let states = alarms.states(&names).await?;
    let store = deps.records.store;
    let mut regions = Vec::new();
    for region in &deps.settings.regions {
        let mut leases = Vec::new();
        let mut open = Vec::new();
        for lane in [Lane::Live, Lane::DryRun] {
            match store.lease(&region.name, lane).await? {
                Lease::Free => {}
                Lease::Held(incident) => {
                    leases.push(LeaseView {
                        lane,
                        incident_id: incident.id.clone(),
                        held: true,
                    });
                    open.push(OpenIncident {
                        id: incident.id.clone(),
                        phase: incident.phase,
                        dry_run: incident.dry_run,
                        detected_at: incident.detected_at,
                        updated_at: incident.updated_at,
                    });
                }
                Lease::Dangling { incident_id, .. } => leases.push(LeaseView {
                    lane,
                    incident_id,
                    held: false,
                }),
            }
        }
        let alarm = worst_alarm(region, &states);
        regions.push(RegionStatus {
            region: region.name.clone(),
            health: read(deps, region).await?,
            alarm,
            leases,
            open,
        });
    }
    let reconciler = last_heartbeat(store).await?;
    Ok(StatusReport {
        at: deps.records.clock.now(),
        dry_run: deps.settings.dry_run,
        regions,
        reconciler,
    })
}

/// The reconciler's last run; `None` when it never ran (or its heartbeat expired).
pub(crate) async fn last_heartbeat(store: &dyn IncidentStore) -> Result<Option<Heartbeat>> {
    match store.watch_state(HEARTBEAT).await? {
        Some(text) => Ok(Some(heartbeat(&text)?)),
        None => Ok(None),
    }
}

/// The heartbeat the reconciler saves (its `ReconcileReport`), read back.
fn heartbeat(text: &str) -> Result<Heartbeat> {
    #[derive(Deserialize)]
    struct Saved {
        at: DateTime<Utc>,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        repairs: usize,
        #[serde(default)]
        regions: Vec<SavedRegion>,
    }
    #[derive(Deserialize)]
    struct SavedRegion {
        region: String,
        #[serde(default)]
        error: Option<String>,
    }
    let saved: Saved = serde_json::from_str(text).map_err(|e| {
        Error::Internal(format!(
            "the reconciler's heartbeat (WATCH#{HEARTBEAT}) is unreadable: {e}"
        ))
    })?;
    Ok(Heartbeat {
        at: saved.at,
        reason: saved.reason,
        repairs: saved.repairs,
        errors: saved
            .regions
            .into_iter()
            .filter_map(|r| r.error.map(|e| format!("{}: {e}", r.region)))
            .collect(),
    })
}

// ---------------------------------------------------------------------------
// incidents and their reports
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentQuery {
    /// One region, or every configured one.
    pub region: Option<String>,
    /// Only those detected at or after this.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, the newest.
    pub limit: usize,
}

/// The incidents the query asks for, newest (by detection) first.
pub async fn incidents(
    settings: &Settings,
    store: &dyn IncidentStore,
    history: &dyn IncidentHistory,
    query: &IncidentQuery,
) -> Result<Vec<Incident>> {
    let regions: Vec<&str> = match &query.region {
        Some(name) => vec![known_region(settings, name)?.name.as_str()],
        None => settings.region_names(),
    };
    let mut found = Vec::new();
    for region in regions {
        let mut ids = history.incident_ids(region, query.since).await?;
        ids.sort();
        ids.dedup();
        for id in ids {
            // Gone between the two reads: expired, nothing to show.
            if let Some(incident) = store.get(&id).await?
                && query
                    .since
                    .is_none_or(|since| incident.detected_at >= since)
            {
                found.push(incident);
            }
        }
    }
    found.sort_by(|a, b| {
        b.detected_at
            .cmp(&a.detected_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    found.truncate(query.limit);
    Ok(found)
}

/// How long an incident took to recover, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeToRecover {
    pub from_detection_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_confirmation_seconds: Option<i64>,
}

/// Everything a postmortem needs of one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentReport {
    pub incident: Incident,
    pub timeline: Vec<TimelineEntry>,
    /// Set once it recovered.
    pub time_to_recover: Option<TimeToRecover>,
}

impl IncidentReport {
    pub fn new(incident: Incident, mut timeline: Vec<TimelineEntry>) -> Self {
        timeline.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        let time_to_recover = incident.recovered_at.map(|at| TimeToRecover {
            from_detection_seconds: at.signed_duration_since(incident.detected_at).num_seconds(),
            from_confirmation_seconds: incident
                .confirmed_at
                .map(|c| at.signed_duration_since(c).num_seconds()),
        });
        Self {
            incident,
            timeline,
            time_to_recover,
        }
    }
}

/// The report of one incident; one that does not exist is refused naming it.
pub async fn report(
    store: &dyn IncidentStore,
    history: &dyn IncidentHistory,
    incident_id: &str,
) -> Result<IncidentReport> {
    let incident = store.named(incident_id).await?;
    let timeline = history.timeline(incident_id).await?;
    Ok(IncidentReport::new(incident, timeline))
}

// ---------------------------------------------------------------------------
// break glass: escalate, release
// ---------------------------------------------------------------------------

/// Who takes a step by hand and why; both go on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByHand {
    /// The caller's identity (an ARN).
    pub by: String,
    pub reason: String,
}

impl ByHand {
    /// Refuses a step without a reason, or with one longer than an
    /// incident keeps, so the timeline always says why.
    pub fn new(by: &str, reason: &str) -> Result<Self> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::InvalidEvent(
                "a reason is required (--reason \"...\"): it goes on the incident's timeline"
                    .into(),
            ));
        }
        let length = reason.chars().count();
        if length > REASON_LIMIT {
            return Err(Error::InvalidEvent(format!(
                "the reason is {length} characters, at most {REASON_LIMIT}: put long evidence in a ticket and its link here"
            )));
        }
        if by.trim().is_empty() {
            return Err(Error::Internal("the caller's identity is empty".into()));
        }
        Ok(Self {
            by: by.trim().to_owned(),
            reason: reason.to_owned(),
        })
    }
}

/// What a step by hand did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandOutcome {
    /// The open incident was closed as escalated (and its lease released).
    Escalated,
    /// The lease named a closed or expired incident and was released.
    ReleasedDangling,
    /// The lease was free: nothing was written.
    NothingToRelease,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandReport {
    pub outcome: HandOutcome,
    pub region: String,
    pub lane: Lane,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    pub notified: bool,
    #[serde(skip_serializing_if = "crate::app::commit::is_zero")]
    pub undelivered: usize,
    pub summary: String,
}

/// Closes an open incident as escalated by a person, with who and why on
/// its timeline and a critical notice; the region's lease is released in
/// the same write. A closed incident is refused and left as it is.
pub async fn escalate_by_hand(
    records: &Records<'_>,
    incident_id: &str,
    hand: &ByHand,
    nonce: &str,
) -> Result<HandReport> {
    let incident = records.store.named(incident_id).await?;
    if !incident.phase.is_open() {
        return Err(Error::InvalidEvent(operator::already_closed(&incident)));
    }
    take_over(records, incident, HandStep::Escalated, hand, nonce).await
}

/// Frees the region's lease of `lane`. An open incident holding it is
/// closed as escalated ("released by <who>: <reason>") in the write that
/// releases it; a lease naming a closed or expired incident is released on
/// that incident's timeline; a free lease is left alone, and said so.
pub async fn release(
    records: &Records<'_>,
    settings: &Settings,
    region: &str,
    lane: Lane,
    hand: &ByHand,
    nonce: &str,
) -> Result<HandReport> {
    let region = known_region(settings, region)?.name.clone();
    match records.store.lease(&region, lane).await? {
        Lease::Free => Ok(HandReport {
            outcome: HandOutcome::NothingToRelease,
            summary: operator::nothing_to_release(&region, lane),
            region,
            lane,
            incident_id: None,
            phase: None,
            notified: false,
            undelivered: 0,
        }),
        Lease::Held(incident) => {
            take_over(records, *incident, HandStep::Released, hand, nonce).await
        }
        Lease::Dangling {
            incident_id,
            incident,
        } => {
            if !records.store.release(&region, lane, &incident_id).await? {
                return Err(Error::Conflict(format!(
                    "the {} lease of {region} changed while it was being released; nothing was released: look again with `failoverctl status`",
                    lane.as_str()
                )));
            }
            let phase = incident.as_ref().map(|i| i.phase);
            let on_timeline = match incident {
                Some(incident) => {
                    let entry = Journal::new(nonce).entry(
                        &incident,
                        records.clock.now(),
                        EntryKind::Repaired,
                        operator::dangling_released(
                            lane,
                            &region,
                            &hand.by,
                            &hand.reason,
                            incident.phase.as_str(),
                        ),
                    );
                    records.store.append(&entry).await?;
                    "recorded on its timeline"
                }
                None => "it has expired, so no timeline records this",
            };
            Ok(HandReport {
                outcome: HandOutcome::ReleasedDangling,
                summary: format!(
                    "released the {} lease of {region}, which named {incident_id}, already {} ({on_timeline})",
                    lane.as_str(),
                    phase.map_or("gone", Phase::as_str),
                ),
                region,
                lane,
                incident_id: Some(incident_id),
                phase,
                notified: false,
                undelivered: 0,
            })
        }
    }
}

async fn take_over(
    records: &Records<'_>,
    mut incident: Incident,
    step: HandStep,
    hand: &ByHand,
    nonce: &str,
) -> Result<HandReport> {
    let mut journal = Journal::new(nonce);
    let now = records.clock.now();
    incident.close(Closing::Escalated(Cause::ByOperator), now)?;
    let notice = operator::taken_over(&incident, step, &hand.by, &hand.reason, now);
    let entry = journal.entry(
        &incident,
        now,
        EntryKind::Escalated,
        operator::by_hand(step, &hand.by, &hand.reason),
    );
    let delivered = commit(records, incident, vec![entry], Some(notice), &mut journal).await?;
    let stored = &delivered.incident;
    Ok(HandReport {
        outcome: HandOutcome::Escalated,
        region: stored.region.clone(),
        lane: stored.lane(),
        incident_id: Some(stored.id.clone()),
        phase: Some(stored.phase),
        notified: delivered.notified(),
        undelivered: delivered.undelivered(),
        summary: format!(
            "{} {} by hand and closed as escalated; the {} lease of {} is free",
            stored.id,
            step.as_str(),
            stored.lane().as_str(),
            stored.region
        ),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    use crate::app::ports::Clock;
    use crate::fakes::{Fakes, confirmed_incident_from, events_settings};

    const ANA: &str = "arn:aws:iam::123456789012:user/ana";

    fn fakes() -> Fakes {
        Fakes::new(events_settings(&[]))
    }

    fn hand(reason: &str) -> ByHand {
        ByHand::new(ANA, reason).unwrap()
    }

    /// Every stored item, to check that a refusal wrote nothing.
    fn snapshot(fakes: &Fakes) -> String {
        format!(
            "{:?}{:?}{:?}",
            fakes.store.incidents.lock().unwrap(),
            fakes.store.leases.lock().unwrap(),
            fakes.store.timeline.lock().unwrap()
        )
    }

    fn messages(fakes: &Fakes, incident_id: &str) -> Vec<String> {
        fakes
            .store
            .timeline
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.incident_id == incident_id)
            .map(|e| format!("{:?}: {}", e.kind, e.message))
            .collect()
    }

    #[tokio::test]
    async fn releasing_a_region_an_open_incident_holds_closes_it_in_the_same_write() {
        let fakes = fakes();
        let open = fakes.events_incident().await;
        let report = release(
            &fakes.records(),
            &fakes.settings,
            "us-east-1",
            Lane::Live,
            &hand("database failover in progress"),
            "ctl1",
        )
        .await
        .unwrap();
        assert_eq!(report.outcome, HandOutcome::Escalated);
        assert_eq!(report.incident_id.as_deref(), Some(open.id.as_str()));
        assert!(report.notified);
        let stored = fakes.store.get(&open.id).await.unwrap().unwrap();
        assert_eq!(stored.phase, Phase::Escalated);
        assert_eq!(stored.escalation, Some(Cause::ByOperator));
        assert_eq!(fakes.store.lease("us-east-1"), None, "released");
        assert!(
            messages(&fakes, &open.id).contains(&format!(
                "Escalated: released by {ANA}: database failover in progress"
            )),
            "{:?}",
            messages(&fakes, &open.id)
        );
        let subjects = fakes.subjects();
        assert_eq!(
            subjects,
            ["[CRITICAL] ESCALATION: us-east-1 incident released by hand"]
        );
        let body = fakes.notifier.sent.lock().unwrap()[0].body.clone();
        assert!(
            body.contains(ANA) && body.contains("database failover"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_dangling_lease_is_released_on_its_incident_s_timeline() {
        let fakes = fakes();
        let mut closed = fakes.events_incident().await;
        closed
            .close(Closing::Escalated(Cause::WorkflowFailed), fakes.clock.now())
            .unwrap();
        let closed = fakes.store.update(&closed, &[]).await.unwrap();
        // A lease left behind (written by hand, or by a bug), naming it.
        fakes
            .store
            .leases
            .lock()
            .unwrap()
            .insert(("us-east-1".into(), Lane::Live), closed.id.clone());
        let report = release(
            &fakes.records(),
            &fakes.settings,
            "us-east-1",
            Lane::Live,
            &hand("stuck lease"),
            "ctl1",
        )
        .await
        .unwrap();
        assert_eq!(report.outcome, HandOutcome::ReleasedDangling);
        assert!(
            report.summary.contains("already escalated"),
            "{}",
            report.summary
        );
        assert_eq!(fakes.store.lease("us-east-1"), None);
        assert!(
            messages(&fakes, &closed.id)
                .iter()
                .any(|m| m.starts_with(&format!(
                    "Repaired: released by {ANA}: stuck lease; the live lease"
                ))),
            "{:?}",
            messages(&fakes, &closed.id)
        );
        let stored = fakes.store.get(&closed.id).await.unwrap().unwrap();
        assert_eq!(stored, closed, "the closed incident itself is untouched");
        assert!(fakes.subjects().is_empty(), "no transition, no notice");
    }

    #[tokio::test]
    async fn a_free_lease_is_left_alone_and_said_so() {
        let fakes = fakes();
        let before = snapshot(&fakes);
        for lane in [Lane::Live, Lane::DryRun] {
            let report = release(
                &fakes.records(),
                &fakes.settings,
                "eu-west-1",
                lane,
                &hand("just checking"),
                "ctl1",
            )
            .await
            .unwrap();
            assert_eq!(report.outcome, HandOutcome::NothingToRelease);
            assert!(
                report.summary.contains("nothing to release"),
                "{}",
                report.summary
            );
        }
        assert_eq!(snapshot(&fakes), before, "nothing written");
        assert!(fakes.subjects().is_empty());
    }

    #[tokio::test]
    async fn an_unknown_region_is_refused_naming_the_known_ones_and_nothing_changes() {
        let fakes = fakes();
        fakes.events_incident().await;
        let before = snapshot(&fakes);
        let error = release(
            &fakes.records(),
            &fakes.settings,
            "eu-central-1",
            Lane::Live,
            &hand("x"),
            "ctl1",
        )
        .await
        .unwrap_err();
        assert_eq!(
            error,
            Error::InvalidEvent(
                "unknown region \"eu-central-1\"; known: us-east-1, eu-west-1".into()
            )
        );
        assert_eq!(snapshot(&fakes), before);
    }

    #[test]
    fn a_step_by_hand_needs_a_reason_that_fits() {
        for (reason, refused) in [
            ("", true),
            ("   ", true),
            (&"x".repeat(REASON_LIMIT + 1)[..], true),
            ("db failover", false),
        ] {
            let result = ByHand::new(ANA, reason);
            assert_eq!(result.is_err(), refused, "{reason:?}: {result:?}");
            if let Err(error) = result {
                assert_eq!(error.kind(), "InvalidEvent");
            }
        }
        assert_eq!(ByHand::new(ANA, "  why  ").unwrap().reason, "why");
    }

    #[tokio::test]
    async fn escalating_an_open_incident_closes_it_with_who_and_why() {
        let fakes = fakes();
        let open = fakes.events_incident().await;
        let report = escalate_by_hand(&fakes.records(), &open.id, &hand("paged twice"), "ctl1")
            .await
            .unwrap();
        assert_eq!(report.outcome, HandOutcome::Escalated);
        assert_eq!(report.phase, Some(Phase::Escalated));
        let stored = fakes.store.get(&open.id).await.unwrap().unwrap();
        assert_eq!(stored.escalation, Some(Cause::ByOperator));
        assert!(stored.outbox.is_empty(), "delivered");
        assert_eq!(fakes.store.lease("us-east-1"), None);
        assert!(
            messages(&fakes, &open.id)
                .contains(&format!("Escalated: escalated by {ANA}: paged twice")),
            "{:?}",
            messages(&fakes, &open.id)
        );
        assert_eq!(
            fakes.subjects(),
            ["[CRITICAL] ESCALATION: us-east-1 incident escalated by hand"]
        );
    }

    #[tokio::test]
    async fn escalating_a_closed_incident_is_refused_and_changes_nothing() {
        let fakes = fakes();
        let mut closed = fakes.events_incident().await;
        closed.close(Closing::Recovered, fakes.clock.now()).unwrap();
        let closed = fakes.store.update(&closed, &[]).await.unwrap();
        let before = snapshot(&fakes);
        let error = escalate_by_hand(&fakes.records(), &closed.id, &hand("late"), "ctl1")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "InvalidEvent");
        assert!(
            error.to_string().contains("is already recovered since"),
            "{error}"
        );
        assert_eq!(snapshot(&fakes), before);
        assert!(fakes.subjects().is_empty());

        let missing = escalate_by_hand(&fakes.records(), "nope", &hand("x"), "ctl2")
            .await
            .unwrap_err();
        assert!(missing.to_string().contains("\"nope\""), "{missing}");
    }

    #[tokio::test]
    async fn the_status_shows_health_alarm_lease_incident_and_the_reconciler() {
        let fakes = fakes();
        fakes.health.set("hc-a", &[false]);
        fakes.alarms.set(
            "platform-failover-us-east-1-platform-health",
            AlarmState::Alarm,
        );
        let quiet = status(&fakes.context(), &fakes.alarms).await.unwrap();
        assert_eq!(quiet.attention(), Attention::RegionDown, "{quiet:?}");
        assert_eq!(quiet.reconciler, None);

        let open = fakes.events_incident().await;
        fakes
            .store
            .save_watch_state(
                HEARTBEAT,
                r#"{"at":"2026-11-22T10:14:00Z","reason":"schedule","repairs":1,
                    "regions":[{"region":"us-east-1","alarm":"ALARM","health":"unhealthy","repairs":[]},
                               {"region":"eu-west-1","alarm":null,"health":"unknown","repairs":[],"error":"Route 53 is unavailable: throttled"}]}"#,
            )
            .await
            .unwrap();
        let report = status(&fakes.context(), &fakes.alarms).await.unwrap();
        assert_eq!(report.attention(), Attention::IncidentOpen);
        let east = &report.regions[0];
        assert_eq!(east.region, "us-east-1");
        assert_eq!(east.alarm, Some(AlarmState::Alarm));
        assert_eq!(east.health.health, crate::model::health::Health::Unhealthy);
        assert_eq!(
            east.leases,
            [LeaseView {
                lane: Lane::Live,
                incident_id: open.id.clone(),
                held: true
            }]
        );
        assert_eq!(east.open[0].phase, Phase::Confirmed);
        let west = &report.regions[1];
        assert!(!west.is_down() && west.open.is_empty() && west.alarm.is_none());
        let beat = report.reconciler.unwrap();
        assert_eq!((beat.reason.as_str(), beat.repairs), ("schedule", 1));
        assert_eq!(
            beat.errors,
            ["eu-west-1: Route 53 is unavailable: throttled"]
        );

        fakes.health.set("hc-a", &[true]);
        fakes.alarms.set(
            "platform-failover-us-east-1-platform-health",
            AlarmState::Ok,
        );
        let mut closed = fakes.store.get(&open.id).await.unwrap().unwrap();
        closed.close(Closing::Recovered, fakes.clock.now()).unwrap();
        fakes.store.update(&closed, &[]).await.unwrap();
        let calm = status(&fakes.context(), &fakes.alarms).await.unwrap();
        assert_eq!(calm.attention(), Attention::None, "{calm:?}");
    }

    #[tokio::test]
    async fn an_unreadable_heartbeat_is_an_error_not_a_blank() {
        let fakes = fakes();
        fakes
            .store
            .save_watch_state(HEARTBEAT, "not json")
            .await
            .unwrap();
        let error = status(&fakes.context(), &fakes.alarms).await.unwrap_err();
        assert!(error.to_string().contains("WATCH#reconciler"), "{error}");
    }

    #[tokio::test]
    async fn incidents_are_listed_newest_first_within_the_query() {
        let fakes = fakes();
        let start = fakes.clock.now();
        let mut ids = Vec::new();
        for (n, nonce) in ["aaaa0001", "bbbb0002", "cccc0003"].iter().enumerate() {
            let at = start + chrono::Duration::hours(i64::try_from(n).unwrap());
            let mut incident = confirmed_incident_from(&fakes.store, nonce, at, at).await;
            incident.close(Closing::Recovered, at).unwrap();
            ids.push(fakes.store.update(&incident, &[]).await.unwrap().id);
        }
        let query = |region: Option<&str>, since, limit| IncidentQuery {
            region: region.map(str::to_owned),
            since,
            limit,
        };
        let listed = |found: Vec<Incident>| found.into_iter().map(|i| i.id).collect::<Vec<_>>();
        let all = incidents(
            &fakes.settings,
            &fakes.store,
            &fakes.store,
            &query(None, None, 10),
        )
        .await
        .unwrap();
        assert_eq!(
            listed(all),
            [ids[2].clone(), ids[1].clone(), ids[0].clone()]
        );
        let recent = incidents(
            &fakes.settings,
            &fakes.store,
            &fakes.store,
            &query(
                Some("us-east-1"),
                Some(start + chrono::Duration::minutes(30)),
                10,
            ),
        )
        .await
        .unwrap();
        assert_eq!(listed(recent), [ids[2].clone(), ids[1].clone()]);
        let newest = incidents(
            &fakes.settings,
            &fakes.store,
            &fakes.store,
            &query(None, None, 1),
        )
        .await
        .unwrap();
        assert_eq!(listed(newest), [ids[2].clone()]);
        let west = incidents(
            &fakes.settings,
            &fakes.store,
            &fakes.store,
            &query(Some("eu-west-1"), None, 10),
        )
        .await
        .unwrap();
        assert!(west.is_empty());
        let unknown = incidents(
            &fakes.settings,
            &fakes.store,
            &fakes.store,
            &query(Some("mars-1"), None, 10),
        )
        .await
        .unwrap_err();
        assert!(unknown.to_string().contains("\"mars-1\""), "{unknown}");
    }

    #[tokio::test]
    async fn a_report_has_the_timeline_in_order_and_the_time_to_recover() {
        let fakes = fakes();
        let detected = fakes.clock.now();
        let mut incident = fakes.events_incident().await;
        fakes.clock.advance(Duration::from_secs(252));
        incident
            .close(Closing::Recovered, fakes.clock.now())
            .unwrap();
        let entry = Journal::new("v1").entry(
            &incident,
            fakes.clock.now(),
            EntryKind::Verified,
            "recovered",
        );
        fakes.store.update(&incident, &[entry]).await.unwrap();
        let report = report(&fakes.store, &fakes.store, &incident.id)
            .await
            .unwrap();
        assert_eq!(report.incident.detected_at, detected);
        assert_eq!(
            report.timeline.iter().map(|e| e.kind).collect::<Vec<_>>(),
            [EntryKind::Detected, EntryKind::Verified]
        );
        assert_eq!(
            report.time_to_recover,
            Some(TimeToRecover {
                from_detection_seconds: 252,
                from_confirmation_seconds: Some(252)
            })
        );
        let missing = super::report(&fakes.store, &fakes.store, "nope")
            .await
            .unwrap_err();
        assert_eq!(missing.kind(), "InvalidEvent");
    }
}
