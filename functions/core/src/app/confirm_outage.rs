//! Use case: is the outage a trigger reports real? Opens one incident per
//! region, records what was seen, and tells people.

use crate::app::context::{Context, read};
use futures::future::join_all;
use serde::Serialize;

use crate::app::commit::{Delivered, commit, deliver, release_dangling};
use crate::app::ports::{Opened, Workflow};
use crate::config::RegionSettings;
use crate::error::{Error, Result};
use crate::model::health::{Health, HealthReading};
use crate::model::incident::{EntryKind, Incident, Journal, Lane};
use crate::model::metric::Metric;
use crate::model::phase::Phase;
use crate::model::trigger::{AlarmState, Trigger};
use crate::model::verdict::Verdict;
use crate::model::workflow::{Timing, WorkflowInput};
use crate::notices::verdict::verdict_notice;
use crate::rules::confirmation::{Admission, admit, judge, keep_sampling};
use crate::rules::trigger::resolve;

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
    /// Notices left in the incident's outbox (SNS refused them); the next
    /// step or the reconciler delivers them.
    #[serde(skip_serializing_if = "crate::app::commit::is_zero")]
    pub undelivered: usize,
    /// The recovery workflow this invocation started (or found running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    pub summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<HealthReading>,
}

/// `request` is the invocation's request id: unique to it, and the same on
/// Lambda's retries of it.
pub async fn confirm_outage(
    deps: &Context<'_>,
    workflow: &dyn Workflow,
    trigger: &Trigger,
    request: &str,
) -> Result<Report> {
    let region = resolve(deps.settings, trigger)?;
    let dry_run = deps.settings.dry_run || trigger.dry_run;
    let lane = Lane::of(dry_run);
    let mut journal = Journal::new(request);
    let holder = match trigger.state {
        AlarmState::Alarm => {
            release_dangling(&deps.records, &region.name, lane, &mut journal).await?;
            deps.records.store.leaseholder(&region.name, lane).await?
        }
        AlarmState::Ok | AlarmState::InsufficientData => None,
    };
    let now = deps.records.clock.now();
    let admission = admit(
        trigger.state,
        holder.as_ref(),
        now,
        deps.settings.takeover_after,
        request,
    );
    match (admission, holder) {
        (Admission::Ignore, _) => Ok(Report {
            verdict: Verdict::NotAlarm,
            region: region.name.clone(),
            incident_id: None,
            phase: None,
            dry_run,
            notified: false,
            undelivered: 0,
            execution_arn: None,
            summary: format!("{} is not an alarm: nothing to do", trigger.describe()),
            readings: Vec::new(),
        }),
        (Admission::Open, _) => {
            open(
                deps,
                workflow,
                region,
                trigger,
                dry_run,
                request,
                &mut journal,
            )
            .await
        }
        (Admission::Join, Some(incident)) => join(deps, incident, trigger, &mut journal).await,
        (Admission::TakeOver, Some(incident)) => {
            let why = format!(
                "{} took over the confirmation left unfinished since {}",
                trigger.describe(),
                incident.updated_at.to_rfc3339()
            );
            take_over(deps, workflow, region, incident, trigger, why, &mut journal).await
        }
        (Admission::Resume, Some(incident)) => {
            resume(deps, workflow, region, incident, trigger, &mut journal).await
        }
        (admission, None) => Err(Error::Internal(format!(
            "admission {admission:?} without an incident for {}",
            region.name
        ))),
    }
}

async fn open(
    deps: &Context<'_>,
    workflow: &dyn Workflow,
    region: &RegionSettings,
    trigger: &Trigger,
    dry_run: bool,
    request: &str,
    journal: &mut Journal,
) -> Result<Report> {
    let incident = Incident::detect(
        &region.name,
        trigger,
        dry_run,
        deps.records.clock.now(),
        request,
    );
    let first = journal.entry(
        &incident,
        incident.detected_at,
        EntryKind::Detected,
        format!("detected by {}", trigger.describe()),
    );
    match deps.records.store.open(&incident, &first).await? {
        Opened::New => {
            deps.records.metrics.record(Metric::IncidentOpened {
                region: incident.region.clone(),
            });
            confirm(deps, workflow, region, incident, journal).await
        }
        Opened::Existing(holder) => join(deps, *holder, trigger, journal).await,
    }
}

/// Claims an unfinished confirmation before sampling, so concurrent
/// takeovers do not all sample: the one whose write lands confirms, the
/// others join. `why` goes on the timeline.
async fn take_over(
    deps: &Context<'_>,
    workflow: &dyn Workflow,
    region: &RegionSettings,
    mut incident: Incident,
    trigger: &Trigger,
    why: String,
    journal: &mut Journal,
) -> Result<Report> {
    let now = deps.records.clock.now();
    let entry = journal.entry(&incident, now, EntryKind::TakenOver, why);
    incident.updated_at = now;
    match deps.records.store.update(&incident, &[entry]).await {
        Ok(claimed) => confirm(deps, workflow, region, claimed, journal).await,
        Err(Error::Conflict(_)) => {
            let current = deps.records.store.named(&incident.id).await?;
            join(deps, current, trigger, journal).await
        }
        Err(other) => Err(other),
    }
}

/// A retry of the request that opened the incident: a confirmation still
/// unfinished is done again; a confirmed outage gets its notice and its
/// workflow (a start is idempotent).
async fn resume(
    deps: &Context<'_>,
    workflow: &dyn Workflow,
    region: &RegionSettings,
    incident: Incident,
    trigger: &Trigger,
    journal: &mut Journal,
) -> Result<Report> {
    let why = format!(
        "{} retried: finishing what its first attempt left ({})",
        trigger.describe(),
        incident.phase.as_str()
    );
    if incident.phase == Phase::Confirming {
        return take_over(deps, workflow, region, incident, trigger, why, journal).await;
    }
    let entry = journal.entry(
        &incident,
        deps.records.clock.now(),
        EntryKind::TakenOver,
        why,
    );
    deps.records.store.append(&entry).await?;
    let delivered = deliver(&deps.records, incident, journal).await;
    let execution_arn = if delivered.incident.phase == Phase::Confirmed {
        Some(start_recovery(deps, workflow, &delivered.incident, journal).await?)
    } else {
        None
    };
    let verdict = delivered.incident.verdict.unwrap_or(Verdict::Duplicate);
    Ok(Report {
        execution_arn,
        ..report(verdict, &delivered)
    })
}

async fn confirm(
    deps: &Context<'_>,
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
            deps.records.clock.sleep(policy.interval).await;
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
        // Read at once: one round trip for every other region, not one each.
        let readings = join_all(
            deps.settings
                .regions
                .iter()
                .filter(|r| r.name != region.name)
                .map(|other| read(deps, other)),
        )
        .await;
        for reading in readings {
            let reading = reading?;
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
    let now = deps.records.clock.now();
    incident.conclude(verdict, target.into_iter().chain(others).collect(), now)?;
    let notice = verdict_notice(&incident, deps.settings, now);
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
    let delivered = commit(&deps.records, incident, entries, Some(notice), journal).await?;
    let execution_arn = if delivered.incident.phase == Phase::Confirmed {
        Some(start_recovery(deps, workflow, &delivered.incident, journal).await?)
    } else {
        None
    };
    Ok(Report {
        execution_arn,
        ..report(verdict, &delivered)
    })
}

/// Starts the incident's recovery workflow (a start of one already there
/// changes nothing). A start lost with a failed invocation is made by the
/// invocation's retry or by the reconciler.
pub(crate) async fn start_recovery(
    deps: &Context<'_>,
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
        deps.records.clock.now(),
        EntryKind::WorkflowStarted,
        message,
    );
    deps.records.store.append(&entry).await?;
    Ok(started.execution_arn)
}

/// Another trigger for an incident someone is working on: on the timeline,
/// nothing more (the reconciler repairs an incident nobody works on).
async fn join(
    deps: &Context<'_>,
    incident: Incident,
    trigger: &Trigger,
    journal: &mut Journal,
) -> Result<Report> {
    let entry = journal.entry(
        &incident,
        deps.records.clock.now(),
        EntryKind::TriggerJoined,
        format!("{} joined the open incident", trigger.describe()),
    );
    deps.records.store.append(&entry).await?;
    Ok(report(Verdict::Duplicate, &Delivered { incident, sent: 0 }))
}

fn report(verdict: Verdict, delivered: &Delivered) -> Report {
    let incident = &delivered.incident;
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
        notified: delivered.notified(),
        undelivered: delivered.undelivered(),
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

    use crate::app::ports::{Clock, IncidentStore};
    use crate::config::Settings;
    use crate::config::tests::sample_vars;
    use crate::fakes::{
        FakeClock, MemoryStore, RecordingMetrics, RecordingNotifier, RecordingWorkflow,
        ScriptedHealth,
    };
    use crate::model::notice::Severity;
    use crate::model::trigger::{Target, TriggerSource};

    struct World {
        settings: Settings,
        health: ScriptedHealth,
        store: MemoryStore,
        notifier: RecordingNotifier,
        metrics: RecordingMetrics,
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
                metrics: RecordingMetrics::default(),
                clock,
                workflow: RecordingWorkflow::default(),
            }
        }

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

        async fn run(&self, trigger: &Trigger, nonce: &str) -> Result<Report> {
            // Observations are stamped with the fake clock's time, so they are fresh.
            *self.health.now.lock().unwrap() = Some(self.clock.now());
            confirm_outage(&self.deps(), &self.workflow, trigger, nonce).await
        }

        fn started(&self) -> Vec<String> {
            let started = self.workflow.started.lock().unwrap();
            started.iter().map(|s| s.incident_id.clone()).collect()
        }

        fn sent(&self) -> Vec<crate::model::notice::Notice> {
            self.notifier.sent.lock().unwrap().clone()
        }

        fn lease(&self) -> Option<String> {
            self.store.lease("us-east-1")
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
                incident.outbox,
                Vec::new(),
                "{}: the notice was delivered and cleared",
                case.name
            );
            let lane = Lane::of(case.dry_run);
            let held = world.store.leaseholder("us-east-1", lane).await.unwrap();
            assert_eq!(held.is_some(), case.lease_held, "{}", case.name);
            if case.dry_run {
                assert_eq!(world.lease(), None, "{}: never the live lease", case.name);
            }
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
                deadline_seconds: 60,
                approval_seconds: None,
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
    async fn an_sns_outage_holds_nothing_back_and_the_notice_waits_in_the_outbox() {
        let world = World::new(&[false], &[true], &[]);
        *world.notifier.failing.lock().unwrap() = true;
        let report = world.run(&alarm(AlarmState::Alarm), "req1").await.unwrap();
        assert_eq!(report.verdict, Verdict::Confirmed);
        assert!(!report.notified);
        assert_eq!(report.undelivered, 1);
        let stuck = world.store.only_incident();
        assert_eq!(
            world.started(),
            vec![stuck.id.clone()],
            "the workflow starts anyway"
        );
        assert_eq!(stuck.outbox.len(), 1, "the notice is kept");
        assert_eq!(
            world.metrics.names(),
            ["IncidentsOpened", "Verdicts", "NoticesUndelivered"]
        );

        *world.notifier.failing.lock().unwrap() = false;
        let delivered = deliver(
            &world.deps().records,
            stuck.clone(),
            &mut Journal::new("next"),
        )
        .await;
        assert_eq!(delivered.sent, 1);
        assert_eq!(world.sent()[0].id, stuck.outbox[0].id);
        assert!(world.store.only_incident().outbox.is_empty());
        assert_eq!(
            world.store.kinds().last().map(String::as_str),
            Some("Notified")
        );
    }

    #[tokio::test]
    async fn a_closed_incident_releases_its_lease_even_with_an_undelivered_notice() {
        let world = World::new(&[true], &[true], &[]);
        *world.notifier.failing.lock().unwrap() = true;
        let report = world.run(&alarm(AlarmState::Alarm), "req1").await.unwrap();
        assert_eq!(report.verdict, Verdict::Transient);
        assert_eq!(world.lease(), None, "closed: the region is free");
        assert_eq!(world.store.only_incident().outbox.len(), 1);
        assert_eq!(
            world.store.undelivered("us-east-1").await.unwrap().len(),
            1,
            "the reconciler finds it"
        );

        *world.notifier.failing.lock().unwrap() = false;
        world.clock.advance(Duration::from_secs(5));
        let next = world.run(&alarm(AlarmState::Alarm), "req2").await.unwrap();
        assert_eq!(
            next.verdict,
            Verdict::Transient,
            "a new incident opens at once"
        );
        assert_eq!(world.store.incidents.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_retry_of_the_same_request_finishes_the_confirmation_at_once() {
        // Lambda retries a failed async invocation about 60 s later with the
        // same request id: well inside the takeover time.
        for failure in ["route53", "stepfunctions"] {
            let world = World::new(&[false], &[true], &[]);
            match failure {
                "route53" => *world.health.failing.lock().unwrap() = true,
                _ => *world.workflow.failing.lock().unwrap() = true,
            }
            let error = world
                .run(&alarm(AlarmState::Alarm), "req1")
                .await
                .unwrap_err();
            assert_eq!(
                error.retry_policy(),
                crate::error::RetryPolicy::Retry,
                "{failure}"
            );
            assert!(world.lease().is_some(), "{failure}");

            *world.health.failing.lock().unwrap() = false;
            *world.workflow.failing.lock().unwrap() = false;
            world.clock.advance(Duration::from_secs(60));
            let retry = world.run(&alarm(AlarmState::Alarm), "req1").await.unwrap();
            assert_eq!(retry.verdict, Verdict::Confirmed, "{failure}: {retry:?}");
            assert!(retry.execution_arn.is_some(), "{failure}");
            let incident = world.store.only_incident();
            assert_eq!(world.started(), vec![incident.id.clone()], "{failure}");
            assert_eq!(world.sent().len(), 1, "{failure}: one verdict notice");
            assert!(incident.outbox.is_empty(), "{failure}");
            assert!(
                world.store.kinds().contains(&"TakenOver".to_owned()),
                "{failure}: the retry is on the timeline"
            );

            // A different trigger inside the window still only joins.
            let other = world.run(&alarm(AlarmState::Alarm), "req2").await.unwrap();
            assert_eq!(other.verdict, Verdict::Duplicate, "{failure}");
        }
    }

    #[tokio::test]
    async fn a_lease_naming_a_vanished_incident_is_released_and_the_outage_confirmed() {
        let world = World::new(&[false], &[true], &[]);
        world
            .store
            .leases
            .lock()
            .unwrap()
            .insert(("us-east-1".into(), Lane::Live), "expired-incident".into());
        let report = world.run(&alarm(AlarmState::Alarm), "req1").await.unwrap();
        assert_eq!(report.verdict, Verdict::Confirmed);
        assert_eq!(world.lease(), report.incident_id);
    }

    #[tokio::test]
    async fn a_dry_run_never_takes_the_live_lease_and_a_real_alarm_meanwhile_is_real() {
        let world = World::new(&[false], &[true], &[]);
        let rehearsal = world.run(&manual(true), "dry1").await.unwrap();
        assert!(rehearsal.dry_run);
        assert_eq!(world.lease(), None, "the live lease stays free");
        let real = world.run(&alarm(AlarmState::Alarm), "req1").await.unwrap();
        assert_eq!(real.verdict, Verdict::Confirmed);
        assert!(!real.dry_run);
        assert_ne!(real.incident_id, rehearsal.incident_id);
        assert_eq!(world.lease(), real.incident_id);
        assert_eq!(
            world.started().len(),
            2,
            "each incident has its own workflow"
        );
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
