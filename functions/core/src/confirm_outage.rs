//! Use case: is the outage a trigger reports real? Opens one incident per
//! region, records what was seen, and tells people.

use serde::Serialize;

use crate::config::{RegionSettings, Settings};
use crate::delivery::deliver;
use crate::error::{Error, Result};
use crate::health::{Health, HealthReading, read_health};
use crate::incident::{EntryKind, Incident, Journal, Phase};
use crate::notice::verdict_notice;
use crate::ports::{Clock, HealthChecks, IncidentStore, Notifier, Opened, Workflow};
use crate::trigger::{AlarmState, Trigger, resolve};
use crate::verdict::{Admission, Verdict, admit, judge, keep_sampling};
use crate::workflow::{Timing, WorkflowInput};

/// The ports and settings a use case borrows for one invocation.
pub struct Deps<'a> {
    pub settings: &'a Settings,
    pub health: &'a dyn HealthChecks,
    pub store: &'a dyn IncidentStore,
    pub notifier: &'a dyn Notifier,
    pub clock: &'a dyn Clock,
}

/// The function's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    pub dry_run: bool,
    /// Whether this invocation published a notice.
    pub notified: bool,
    /// The recovery workflow this invocation started (or found running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    pub summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<HealthReading>,
}

/// `nonce` is unique to the invocation (the Lambda request id).
pub async fn confirm_outage(
    deps: &Deps<'_>,
    workflow: &dyn Workflow,
    trigger: &Trigger,
    nonce: &str,
) -> Result<Report> {
    let region = resolve(deps.settings, trigger)?;
    let dry_run = deps.settings.dry_run || trigger.dry_run;
    let mut journal = Journal::new(nonce);
    let holder = match trigger.state {
        AlarmState::Alarm => deps.store.leaseholder(&region.name).await?,
        AlarmState::Ok | AlarmState::InsufficientData => None,
    };
    let now = deps.clock.now();
    match (
        admit(
            trigger.state,
            holder.as_ref(),
            now,
            deps.settings.takeover_after,
        ),
        holder,
    ) {
        (Admission::Ignore, _) => Ok(Report {
            verdict: Verdict::NotAlarm,
            region: region.name.clone(),
            incident_id: None,
            phase: None,
            dry_run,
            notified: false,
            execution_arn: None,
            summary: format!("{} is not an alarm: nothing to do", trigger.describe()),
            readings: Vec::new(),
        }),
        (Admission::Join, Some(incident)) => {
            join(deps, workflow, incident, trigger, &mut journal).await
        }
        (Admission::TakeOver, Some(incident)) => {
            let entry = journal.entry(
                &incident,
                now,
                EntryKind::TakenOver,
                format!("{} resumed the unfinished confirmation", trigger.describe()),
            );
            deps.store.append(&entry).await?;
            confirm(deps, workflow, region, incident, &mut journal).await
        }
        (admission @ (Admission::Flush | Admission::Open), holder) => {
            // A closed holder still owes its notice: out first, then the new incident.
            if let (Admission::Flush, Some(closed)) = (admission, holder) {
                deliver(deps, closed, &mut journal).await?;
            }
            open(
                deps,
                workflow,
                region,
                trigger,
                dry_run,
                nonce,
                &mut journal,
            )
            .await
        }
        (admission, None) => Err(Error::Conflict(format!(
            "admission {admission:?} without an incident for {}",
            region.name
        ))),
    }
}

async fn open(
    deps: &Deps<'_>,
    workflow: &dyn Workflow,
    region: &RegionSettings,
    trigger: &Trigger,
    dry_run: bool,
    nonce: &str,
    journal: &mut Journal,
) -> Result<Report> {
    let incident = Incident::detect(&region.name, trigger, dry_run, deps.clock.now(), nonce);
    let first = journal.entry(
        &incident,
        incident.detected_at,
        EntryKind::Detected,
        format!("detected by {}", trigger.describe()),
    );
    match deps.store.open(&incident, &first).await? {
        Opened::New => confirm(deps, workflow, region, incident, journal).await,
        Opened::Existing(holder) => join(deps, workflow, *holder, trigger, journal).await,
    }
}

async fn confirm(
    deps: &Deps<'_>,
    workflow: &dyn Workflow,
    region: &RegionSettings,
    mut incident: Incident,
    journal: &mut Journal,
) -> Result<Report> {
    let policy = &deps.settings.confirmation;
    let mut entries = Vec::new();
    let mut target: Vec<HealthReading> = Vec::new();
    while keep_sampling(&target, policy.samples) {
        if !target.is_empty() {
            deps.clock.sleep(policy.interval).await;
        }
        let reading = read(deps, region).await?;
        entries.push(journal.entry(
            &incident,
            reading.at,
            EntryKind::HealthSampled,
            reading.describe(),
        ));
        target.push(reading);
    }
    let mut others = Vec::new();
    if target.iter().all(|r| r.health == Health::Unhealthy) {
        for other in deps
            .settings
            .regions
            .iter()
            .filter(|r| r.name != region.name)
        {
            let reading = read(deps, other).await?;
            entries.push(journal.entry(
                &incident,
                reading.at,
                EntryKind::HealthSampled,
                reading.describe(),
            ));
            others.push(reading);
        }
    }

    let verdict = judge(&target, &others);
    let now = deps.clock.now();
    incident.conclude(verdict, target.into_iter().chain(others).collect(), now);
    incident.pending_notice = Some(verdict_notice(&incident, deps.settings, now));
    entries.push(journal.entry(
        &incident,
        now,
        EntryKind::Verdict,
        format!(
            "verdict {}: phase {}",
            verdict.as_str(),
            incident.phase.as_str()
        ),
    ));
    let stored = deps.store.update(&incident, &entries).await?;
    let (stored, notified) = deliver(deps, stored, journal).await?;
    let execution_arn = if stored.phase == Phase::Confirmed {
        Some(start_recovery(deps, workflow, &stored, journal).await?)
    } else {
        None
    };
    Ok(Report {
        execution_arn,
        ..report(verdict, &stored, notified)
    })
}

/// Starts the incident's recovery workflow. Its first step moves the
/// incident on, so one still `confirmed` long after its last write means the
/// start was lost (the invocation died); a joining trigger starts it then.
async fn start_recovery(
    deps: &Deps<'_>,
    workflow: &dyn Workflow,
    incident: &Incident,
    journal: &mut Journal,
) -> Result<String> {
    let input = WorkflowInput {
        incident_id: incident.id.clone(),
        region: incident.region.clone(),
        timing: Timing::configured(&deps.settings.verification),
    };
    let started = workflow.start(&input).await?;
    let message = if started.new {
        format!("recovery workflow started: {}", started.execution_arn)
    } else {
        format!(
            "recovery workflow already running: {}",
            started.execution_arn
        )
    };
    let entry = journal.entry(
        incident,
        deps.clock.now(),
        EntryKind::WorkflowStarted,
        message,
    );
    deps.store.append(&entry).await?;
    Ok(started.execution_arn)
}

async fn join(
    deps: &Deps<'_>,
    workflow: &dyn Workflow,
    incident: Incident,
    trigger: &Trigger,
    journal: &mut Journal,
) -> Result<Report> {
    let now = deps.clock.now();
    let entry = journal.entry(
        &incident,
        now,
        EntryKind::TriggerJoined,
        format!("{} joined the open incident", trigger.describe()),
    );
    deps.store.append(&entry).await?;
    // A notice left behind by an invocation that died is delivered here; a
    // fresh one belongs to the invocation still working on it.
    let orphaned = incident.pending_notice.as_ref().is_some_and(|n| {
        now.signed_duration_since(n.created_at)
            .to_std()
            .unwrap_or_default()
            >= deps.settings.takeover_after
    });
    let (incident, notified) = if orphaned {
        deliver(deps, incident, journal).await?
    } else {
        (incident, false)
    };
    let stalled = incident.phase == Phase::Confirmed
        && incident.time_since_update(now) >= deps.settings.takeover_after;
    let execution_arn = if stalled {
        Some(start_recovery(deps, workflow, &incident, journal).await?)
    } else {
        None
    };
    Ok(Report {
        execution_arn,
        ..report(Verdict::Duplicate, &incident, notified)
    })
}

pub(crate) async fn read(deps: &Deps<'_>, region: &RegionSettings) -> Result<HealthReading> {
    let observations = deps.health.observe(&region.health_check_id).await?;
    Ok(read_health(
        &region.name,
        &observations,
        deps.clock.now(),
        &deps.settings.confirmation,
    ))
}

fn report(verdict: Verdict, incident: &Incident, notified: bool) -> Report {
    let summary = match verdict {
        Verdict::Duplicate => format!(
            "joined open incident {} (phase {})",
            incident.id,
            incident.phase.as_str()
        ),
        _ => format!(
            "{} in {}: incident {} is {}",
            verdict.as_str(),
            incident.region,
            incident.id,
            incident.phase.as_str()
        ),
    };
    Report {
        verdict,
        region: incident.region.clone(),
        incident_id: Some(incident.id.clone()),
        phase: Some(incident.phase),
        dry_run: incident.dry_run,
        notified,
        execution_arn: None,
        summary,
        readings: if verdict == Verdict::Duplicate {
            Vec::new()
        } else {
            incident.readings.clone()
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::tests::sample_vars;
    use crate::fakes::{
        FakeClock, MemoryStore, RecordingNotifier, RecordingWorkflow, ScriptedHealth,
    };
    use crate::notice::Severity;
    use crate::trigger::{Target, TriggerSource};

    struct World {
        settings: Settings,
        health: ScriptedHealth,
        store: MemoryStore,
        notifier: RecordingNotifier,
        clock: FakeClock,
        workflow: RecordingWorkflow,
    }

    impl World {
        /// `a` scripts us-east-1 (the failing region), `b` scripts eu-west-1.
        fn new(a: &[bool], b: &[bool], extra: &[(&'static str, &str)]) -> Self {
            let mut vars = sample_vars();
            vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
            let clock = FakeClock::at("2026-11-22T10:00:00Z");
            let health = ScriptedHealth::default()
                .script("hc-a", a)
                .script("hc-b", b);
            Self {
                settings: Settings::from_vars(vars).unwrap(),
                health,
                store: MemoryStore::default(),
                notifier: RecordingNotifier::default(),
                clock,
                workflow: RecordingWorkflow::default(),
            }
        }

        async fn run(&self, trigger: &Trigger, nonce: &str) -> Result<Report> {
            // Observations are stamped with the fake clock's time, so they are fresh.
            *self.health.now.lock().unwrap() = Some(self.clock.now());
            let deps = Deps {
                settings: &self.settings,
                health: &self.health,
                store: &self.store,
                notifier: &self.notifier,
                clock: &self.clock,
            };
            confirm_outage(&deps, &self.workflow, trigger, nonce).await
        }

        fn started(&self) -> Vec<String> {
            let started = self.workflow.started.lock().unwrap();
            started.iter().map(|s| s.incident_id.clone()).collect()
        }

        fn sent(&self) -> Vec<crate::notice::Notice> {
            self.notifier.sent.lock().unwrap().clone()
        }

        fn lease(&self) -> Option<String> {
            self.store.leases.lock().unwrap().get("us-east-1").cloned()
        }
    }

    fn alarm(state: AlarmState) -> Trigger {
        Trigger {
            source: TriggerSource::AlarmAction,
            target: Target::Alarm {
                name: "alarm-a".into(),
                health_check_id: Some("hc-a".into()),
            },
            state,
            reason: "Threshold Crossed".into(),
            dry_run: false,
        }
    }

    fn manual(dry_run: bool) -> Trigger {
        Trigger {
            source: TriggerSource::Manual,
            target: Target::Region("us-east-1".into()),
            dry_run,
            ..alarm(AlarmState::Alarm)
        }
    }

    #[tokio::test]
    async fn verdicts_end_to_end_over_the_ports() {
        struct Case {
            name: &'static str,
            a: &'static [bool],
            b: &'static [bool],
            trigger: Trigger,
            config: &'static [(&'static str, &'static str)],
            verdict: Verdict,
            phase: Phase,
            lease_held: bool,
            readings: usize,
            severity: Severity,
            dry_run: bool,
        }
        let cases = [
            Case {
                name: "confirmed",
                a: &[false],
                b: &[true],
                trigger: alarm(AlarmState::Alarm),
                config: &[],
                verdict: Verdict::Confirmed,
                phase: Phase::Confirmed,
                lease_held: true,
                readings: 4,
                severity: Severity::Critical,
                dry_run: false,
            },
            Case {
                name: "transient",
                a: &[false, true],
                b: &[true],
                trigger: alarm(AlarmState::Alarm),
                config: &[],
                verdict: Verdict::Transient,
                phase: Phase::Dismissed,
                lease_held: false,
                readings: 2,
                severity: Severity::Info,
                dry_run: false,
            },
            Case {
                name: "healthy at once",
                a: &[true],
                b: &[true],
                trigger: manual(false),
                config: &[],
                verdict: Verdict::Transient,
                phase: Phase::Dismissed,
                lease_held: false,
                readings: 1,
                severity: Severity::Info,
                dry_run: false,
            },
            Case {
                name: "all down",
                a: &[false],
                b: &[false],
                trigger: alarm(AlarmState::Alarm),
                config: &[],
                verdict: Verdict::AllRegionsDown,
                phase: Phase::Escalated,
                lease_held: false,
                readings: 4,
                severity: Severity::Critical,
                dry_run: false,
            },
            Case {
                name: "dry run from event",
                a: &[false],
                b: &[true],
                trigger: manual(true),
                config: &[],
                verdict: Verdict::Confirmed,
                phase: Phase::Confirmed,
                lease_held: true,
                readings: 4,
                severity: Severity::Critical,
                dry_run: true,
            },
            Case {
                name: "dry run from config",
                a: &[false],
                b: &[true],
                trigger: manual(false),
                config: &[("DRY_RUN", "true")],
                verdict: Verdict::Confirmed,
                phase: Phase::Confirmed,
                lease_held: true,
                readings: 4,
                severity: Severity::Critical,
                dry_run: true,
            },
        ];
        for case in cases {
            let world = World::new(case.a, case.b, case.config);
            let report = world.run(&case.trigger, "req1").await.unwrap();
            assert_eq!(report.verdict, case.verdict, "{}", case.name);
            assert_eq!(report.phase, Some(case.phase), "{}", case.name);
            assert_eq!(report.dry_run, case.dry_run, "{}", case.name);
            assert_eq!(report.readings.len(), case.readings, "{}", case.name);
            assert!(report.notified, "{}", case.name);
            let incident = world.store.only_incident();
            assert_eq!(
                Some(incident.id.clone()),
                report.incident_id,
                "{}",
                case.name
            );
            assert_eq!(incident.phase, case.phase, "{}", case.name);
            assert_eq!(
                incident.pending_notice, None,
                "{}: the notice was delivered and cleared",
                case.name
            );
            assert_eq!(world.lease().is_some(), case.lease_held, "{}", case.name);
            let confirmed = case.phase == Phase::Confirmed;
            assert_eq!(
                world.started(),
                if confirmed {
                    vec![incident.id.clone()]
                } else {
                    vec![]
                },
                "{}: only a confirmed outage starts the recovery workflow",
                case.name
            );
            assert_eq!(report.execution_arn.is_some(), confirmed, "{}", case.name);
            let sent = world.sent();
            assert_eq!(sent.len(), 1, "{}: one notice per transition", case.name);
            assert_eq!(sent[0].severity, case.severity, "{}", case.name);
            assert_eq!(
                sent[0].subject.contains("DRY RUN"),
                case.dry_run,
                "{}",
                case.name
            );
            let kinds = world.store.kinds();
            assert_eq!(
                kinds.first().map(String::as_str),
                Some("Detected"),
                "{}",
                case.name
            );
            assert_eq!(
                kinds.iter().filter(|k| *k == "HealthSampled").count(),
                case.readings,
                "{}",
                case.name
            );
            assert_eq!(
                kinds.last().map(String::as_str),
                Some(if confirmed {
                    "WorkflowStarted"
                } else {
                    "Notified"
                }),
                "{}",
                case.name
            );
        }
    }

    #[tokio::test]
    async fn the_workflow_gets_the_configured_waits() {
        let world = World::new(
            &[false],
            &[true],
            &[
                ("ROLLOUT_SETTLE_SECONDS", "5"),
                ("VERIFY_POLL_SECONDS", "2"),
                ("VERIFY_DEADLINE_SECONDS", "60"),
            ],
        );
        world.run(&alarm(AlarmState::Alarm), "req1").await.unwrap();
        let started = world.workflow.started.lock().unwrap().clone();
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].region, "us-east-1");
        assert_eq!(
            started[0].timing,
            Timing {
                settle_seconds: 5,
                poll_seconds: 2,
                deadline_seconds: 60
            }
        );
    }

    #[tokio::test]
    async fn confirmation_waits_the_interval_between_samples() {
        let world = World::new(
            &[false],
            &[true],
            &[("CONFIRM_SAMPLES", "3"), ("CONFIRM_INTERVAL_SECONDS", "10")],
        );
        let report = world.run(&alarm(AlarmState::Alarm), "req1").await.unwrap();
        assert_eq!(report.verdict, Verdict::Confirmed);
        assert_eq!(
            world.health.calls.lock().unwrap().as_slice(),
            ["hc-a", "hc-a", "hc-a", "hc-b"]
        );
        assert_eq!(
            world.clock.now(),
            "2026-11-22T10:00:20Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
        );
    }

    #[tokio::test]
    async fn ok_and_insufficient_data_do_nothing() {
        for state in [AlarmState::Ok, AlarmState::InsufficientData] {
            let world = World::new(&[false], &[true], &[]);
            let report = world.run(&alarm(state), "req1").await.unwrap();
            assert_eq!(report.verdict, Verdict::NotAlarm);
            assert_eq!(report.incident_id, None);
            assert!(world.store.incidents.lock().unwrap().is_empty());
            assert!(world.store.timeline.lock().unwrap().is_empty());
            assert!(
                world.health.calls.lock().unwrap().is_empty(),
                "not even Route 53 is asked"
            );
            assert!(world.sent().is_empty());
        }
    }

    #[tokio::test]
    async fn unknown_alarm_is_refused_and_changes_nothing() {
        let world = World::new(&[false], &[true], &[]);
        let trigger = Trigger {
            target: Target::Alarm {
                name: "someone-elses-alarm".into(),
                health_check_id: None,
            },
            ..alarm(AlarmState::Alarm)
        };
        let error = world.run(&trigger, "req1").await.unwrap_err();
        assert!(
            matches!(&error, Error::InvalidEvent(m) if m.contains("someone-elses-alarm")),
            "{error}"
        );
        assert!(world.store.incidents.lock().unwrap().is_empty());
        assert!(world.sent().is_empty());
    }

    #[tokio::test]
    async fn a_second_alarm_joins_the_open_incident() {
        let world = World::new(&[false], &[true], &[]);
        let first = world.run(&alarm(AlarmState::Alarm), "req1").await.unwrap();
        world.clock.advance(Duration::from_secs(5));
        let second = world.run(&manual(false), "req2").await.unwrap();
        assert_eq!(second.verdict, Verdict::Duplicate);
        assert_eq!(second.incident_id, first.incident_id);
        assert!(!second.notified);
        assert_eq!(second.execution_arn, None, "the first trigger started it");
        assert_eq!(world.started().len(), 1);
        assert_eq!(world.store.incidents.lock().unwrap().len(), 1);
        assert_eq!(world.sent().len(), 1);
        assert_eq!(
            world
                .store
                .kinds()
                .iter()
                .filter(|k| *k == "TriggerJoined")
                .count(),
            1
        );
    }

    #[tokio::test]
    async fn a_notice_that_could_not_be_published_is_delivered_by_the_next_trigger() {
        let world = World::new(&[false], &[true], &[]);
        *world.notifier.failing.lock().unwrap() = true;
        let error = world
            .run(&alarm(AlarmState::Alarm), "req1")
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Unavailable { .. }));
        assert!(world.started().is_empty());
        let stuck = world.store.only_incident();
        assert_eq!(stuck.phase, Phase::Confirmed, "the verdict is kept");
        assert!(stuck.pending_notice.is_some(), "the notice is kept");

        *world.notifier.failing.lock().unwrap() = false;
        world.clock.advance(Duration::from_secs(5));
        let early = world.run(&alarm(AlarmState::Alarm), "req2").await.unwrap();
        assert!(
            !early.notified,
            "a fresh pending notice belongs to the invocation working on it"
        );

        world.clock.advance(Duration::from_secs(200));
        let retry = world.run(&alarm(AlarmState::Alarm), "req3").await.unwrap();
        assert_eq!(retry.verdict, Verdict::Duplicate);
        assert!(retry.notified);
        assert_eq!(world.sent().len(), 1);
        assert_eq!(world.sent()[0].id, stuck.pending_notice.unwrap().id);
        assert_eq!(world.store.only_incident().pending_notice, None);
        assert_eq!(
            world.started(),
            [stuck.id],
            "the start lost with the failed invocation is made by the next trigger"
        );
        assert!(retry.execution_arn.is_some());
    }

    #[tokio::test]
    async fn a_closed_incident_with_an_undelivered_notice_is_flushed_before_a_new_one_opens() {
        let world = World::new(&[true], &[true], &[]);
        *world.notifier.failing.lock().unwrap() = true;
        world
            .run(&alarm(AlarmState::Alarm), "req1")
            .await
            .unwrap_err();
        assert!(
            world.lease().is_some(),
            "the lease is kept until the notice is out"
        );

        *world.notifier.failing.lock().unwrap() = false;
        world.clock.advance(Duration::from_secs(200));
        let report = world.run(&alarm(AlarmState::Alarm), "req2").await.unwrap();
        assert_eq!(report.verdict, Verdict::Transient);
        let sent = world.sent();
        assert_eq!(sent.len(), 2, "the old notice, then the new incident's");
        assert_ne!(sent[0].incident_id, sent[1].incident_id);
        assert_eq!(world.store.incidents.lock().unwrap().len(), 2);
        assert_eq!(world.lease(), None);
    }

    #[tokio::test]
    async fn an_abandoned_confirmation_is_taken_over() {
        let world = World::new(&[false], &[true], &[]);
        let abandoned = Incident::detect(
            "us-east-1",
            &alarm(AlarmState::Alarm),
            false,
            world.clock.now(),
            "dead0001",
        );
        let first = Journal::new("dead0001").entry(
            &abandoned,
            abandoned.detected_at,
            EntryKind::Detected,
            "detected",
        );
        world.store.open(&abandoned, &first).await.unwrap();

        world.clock.advance(Duration::from_secs(30));
        let joined = world.run(&alarm(AlarmState::Alarm), "req1").await.unwrap();
        assert_eq!(
            joined.verdict,
            Verdict::Duplicate,
            "still within the takeover time"
        );

        world.clock.advance(Duration::from_secs(200));
        let report = world.run(&alarm(AlarmState::Alarm), "req2").await.unwrap();
        assert_eq!(report.verdict, Verdict::Confirmed);
        assert_eq!(report.incident_id.as_deref(), Some(abandoned.id.as_str()));
        assert!(world.store.kinds().contains(&"TakenOver".to_owned()));
        assert_eq!(world.sent().len(), 1);
    }
}
