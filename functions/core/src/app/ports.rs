//! The small traits the use cases need from the world. Adapters implement
//! them over AWS; in-memory fakes implement them for use-case tests.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::config::RegionSettings;
use crate::error::Result;
use crate::model::approval::TaskToken;
use crate::model::diagnosis::Diagnosis;
use crate::model::health::CheckerObservation;
use crate::model::incident::{Incident, Lane, TimelineEntry};
use crate::model::metric::Metric;
use crate::model::notice::Notice;
use crate::model::peers::PeerView;
use crate::model::readiness::{
    Access, AlarmConfig, ClusterFacts, HealthCheckConfig, Probe, RegionAccess, Report,
};
use crate::model::trigger::AlarmState;
use crate::model::workflow::{ExecutionStatus, Started, WorkflowInput};

#[async_trait]
pub trait HealthChecks: Send + Sync {
    /// The latest observation of every Route 53 checker for one health check.
    async fn observe(&self, health_check_id: &str) -> Result<Vec<CheckerObservation>>;

    /// The health check's configuration (`GetHealthCheck`); `None` when
    /// Route 53 has no such check.
    async fn config(&self, health_check_id: &str) -> Result<Option<HealthCheckConfig>>;
}

/// What taking a region's lease found.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// The lease was free: the incident and its first entry are stored.
    New,
    /// Another incident holds the lease.
    Existing(Box<Incident>),
}

/// The one slot for acting on a platform, shared by every region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSlot {
    /// This region has it now.
    Claimed,
    /// Another region took it at `at`, less than the spread ago.
    Held { region: String, at: DateTime<Utc> },
}

/// What a region's lease (of one lane) names.
#[derive(Debug, Clone, PartialEq)]
pub enum Lease {
    Free,
    /// An open incident holds it.
    Held(Box<Incident>),
    /// It names an incident that is closed, or gone (expired): nothing
    /// holds the region, and the lease must be released.
    Dangling {
        incident_id: String,
        incident: Option<Box<Incident>>,
    },
}

#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// What the region's lease of `lane` names.
    async fn lease(&self, region: &str, lane: Lane) -> Result<Lease>;

    /// Deletes the region's lease of `lane` if it still names `incident_id`;
    /// false if it did not.
    async fn release(&self, region: &str, lane: Lane, incident_id: &str) -> Result<bool>;

    /// The open incident holding the region's lease of `lane`, if any.
    async fn leaseholder(&self, region: &str, lane: Lane) -> Result<Option<Incident>> {
        Ok(match self.lease(region, lane).await? {
            Lease::Held(incident) => Some(*incident),
            Lease::Free | Lease::Dangling { .. } => None,
        })
    }

    async fn get(&self, incident_id: &str) -> Result<Option<Incident>>;

    /// The incident an event names; one that does not exist is a bad event.
    async fn named(&self, incident_id: &str) -> Result<Incident> {
        self.get(incident_id).await?.ok_or_else(|| {
            crate::error::Error::InvalidEvent(format!("incident {incident_id:?} does not exist"))
        })
    }

    /// Takes the region's lease and stores the incident and its first entry,
    /// all or nothing.
    async fn open(&self, incident: &Incident, first: &TimelineEntry) -> Result<Opened>;

    /// Stores `incident` if the stored version is still `incident.version`
    /// (else `Error::Conflict`), with the entries, all or nothing. The stored
    /// copy, returned, has the next version. The write that closes an
    /// incident ([`Incident::is_closing`]) releases the region's lease in
    /// the same write, whatever its outbox holds. Every action that may
    /// have changed the platform ([`crate::model::incident::Action::may_have_acted`])
    /// is kept for [`Self::actions_since`].
    async fn update(&self, incident: &Incident, entries: &[TimelineEntry]) -> Result<Incident>;

    /// Appends one entry to an incident's timeline.
    async fn append(&self, entry: &TimelineEntry) -> Result<()>;

    /// When actions that may have changed the platform were taken in a
    /// region since `since`, across its incidents, oldest first (written by
    /// `update`): applied ones, and dropped ones, which may have been
    /// applied by an invocation that died before recording so.
    async fn actions_since(&self, region: &str, since: DateTime<Utc>)
    -> Result<Vec<DateTime<Utc>>>;

    /// Takes the action slot for `region` at `at`, all or nothing: granted
    /// when it is free, was last taken `spread` or longer before `at`, or
    /// was last taken by this region. Two regions restored at once never
    /// both get it.
    async fn claim_action_slot(
        &self,
        region: &str,
        at: DateTime<Utc>,
        spread: Duration,
    ) -> Result<ActionSlot>;

    /// The region's incidents, open or closed, with notices still to deliver.
    async fn undelivered(&self, region: &str) -> Result<Vec<Incident>>;

    /// The region's most recently closed incident of `lane`, while it is kept.
    async fn last_closed(&self, region: &str, lane: Lane) -> Result<Option<Incident>>;

    /// The last state a watch (such as the scheduled DERP check) reported.
    async fn watch_state(&self, watch: &str) -> Result<Option<String>>;

    async fn save_watch_state(&self, watch: &str, state: &str) -> Result<()>;
}

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, notice: &Notice) -> Result<()>;
}

/// Where the figures the orchestrator reports about itself go. Recording
/// never fails and never waits: a figure lost is a gap on a dashboard, never
/// a step held back.
pub trait Metrics: Send + Sync {
    fn record(&self, metric: Metric);
}

#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    async fn sleep(&self, duration: Duration);
}

/// The platform deployment in each region's cluster.
#[async_trait]
pub trait Platform: Send + Sync {
    /// What the region's cluster looks like now. An inactive or unreachable
    /// cluster is an answer (in `Diagnosis::cluster`), not an error.
    async fn diagnose(&self, region: &RegionSettings) -> Result<Diagnosis>;

    /// Sets the deployment's replicas through its `scale` subresource.
    async fn scale(&self, region: &RegionSettings, replicas: u32) -> Result<()>;

    /// `kubectl rollout restart`: stamps the pod template with `restarted_at`.
    /// Stamping the same value again changes nothing, so a retried decision
    /// never restarts twice.
    async fn restart(&self, region: &RegionSettings, restarted_at: &str) -> Result<()>;
}

/// The DERP relay peers each region's cluster knows.
#[async_trait]
pub trait Peers: Send + Sync {
    /// The `networkpeers.storage.loft.sh` of the region's cluster.
    async fn peers(&self, region: &RegionSettings) -> Result<Vec<PeerView>>;
}

/// The recovery workflow (Step Functions).
#[async_trait]
pub trait Workflow: Send + Sync {
    /// Starts the execution named after `input.incident_id`. One of that
    /// name already there is not an error: a retried start changes nothing.
    async fn start(&self, input: &WorkflowInput) -> Result<Started>;

    /// The status of the incident's execution; `None` if none was ever started.
    async fn status(&self, incident_id: &str) -> Result<Option<ExecutionStatus>>;
}

/// What the operator's reports read beyond the functions' port: which
/// incidents a region had, and an incident's timeline.
#[async_trait]
pub trait IncidentHistory: Send + Sync {
    /// The ids of the region's incidents that may have been detected since
    /// `since` (every one still kept without it): the open ones its leases
    /// name and the ones closed since then, in no particular order.
    async fn incident_ids(&self, region: &str, since: Option<DateTime<Utc>>)
    -> Result<Vec<String>>;

    /// The incident's timeline, oldest first.
    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>>;
}

/// The CloudWatch alarms on the regions' health checks.
#[async_trait]
pub trait Alarms: Send + Sync {
    /// The current state of each named alarm that exists.
    async fn states(&self, names: &[String]) -> Result<Vec<(String, AlarmState)>>;

    /// Each named alarm that exists, as CloudWatch describes it.
    async fn configs(&self, names: &[String]) -> Result<Vec<AlarmConfig>>;
}

/// Who may invoke confirm-outage (its resource policy).
#[async_trait]
pub trait InvokePolicy: Send + Sync {
    /// The source ARNs of the statements that let CloudWatch alarms
    /// (`lambda.alarms.cloudwatch.amazonaws.com`) invoke it.
    async fn alarm_sources(&self) -> Result<Vec<String>>;
}

/// The functions' probe mode, each invoked as itself: what it may do.
#[async_trait]
pub trait Probes: Send + Sync {
    /// The probe of the function the stack names `function` (`restore-platform`).
    async fn probe(&self, function: &str) -> Result<Probe>;
}

/// What the readiness evaluation reads of a region's standby cluster.
#[async_trait]
pub trait StandbyClusters: Send + Sync {
    /// The cluster's state, version, platform deployment and DERP peers.
    /// An inactive or unreachable cluster is an answer (in `reach`).
    async fn facts(&self, region: &RegionSettings) -> Result<ClusterFacts>;
}

/// What a function that reaches the clusters may do there.
#[async_trait]
pub trait AccessReviews: Send + Sync {
    /// A `SelfSubjectAccessReview` of each access, as this function's own
    /// identity. Never fails: what could not be asked says why.
    async fn review(&self, region: &RegionSettings, wanted: &[Access]) -> RegionAccess;
}

/// The readiness reports: the latest, and each one kept as history.
#[async_trait]
pub trait ReadinessReports: Send + Sync {
    async fn latest(&self) -> Result<Option<Report>>;

    /// Stores the report as the latest and in the history (kept as long as
    /// incidents are).
    async fn save(&self, report: &Report) -> Result<()>;
}

/// Where the task token of an execution waiting for approval is kept, apart
/// from the incident (which is printed and told; the token never is).
#[async_trait]
pub trait TaskTokens: Send + Sync {
    /// Keeps the token of the incident's waiting execution (replacing an
    /// earlier attempt's).
    async fn keep(&self, incident_id: &str, token: &TaskToken) -> Result<()>;

    async fn token(&self, incident_id: &str) -> Result<Option<TaskToken>>;
}

/// What telling a waiting workflow the outcome found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    /// It was waiting and goes on.
    Resumed,
    /// It no longer waits on that token (timed out, stopped, already told).
    Gone,
}

/// The outcome a waiting workflow is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Apply the approved remedy (restore reads the region again first).
    Approved,
    /// The incident was closed while waiting (rejected, or by hand).
    Closed,
}

impl Outcome {
    /// As the workflow's `ApprovalAnswer` choice reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Closed => "closed",
        }
    }
}

/// The workflow's callback (Step Functions `SendTaskSuccess`).
#[async_trait]
pub trait Callbacks: Send + Sync {
    async fn resume(&self, token: &TaskToken, outcome: Outcome) -> Result<Resumed>;
}
