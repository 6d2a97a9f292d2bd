//! The small traits the use cases need from the world. Adapters implement
//! them over AWS; in-memory fakes implement them for use-case tests.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::config::RegionSettings;
use crate::diagnosis::Diagnosis;
use crate::error::Result;
use crate::health::CheckerObservation;
use crate::incident::{Incident, TimelineEntry};
use crate::notice::Notice;
use crate::recovery::PeerView;
use crate::workflow::{Started, WorkflowInput};

#[async_trait]
pub trait HealthChecks: Send + Sync {
    /// The latest observation of every Route 53 checker for one health check.
    async fn observe(&self, health_check_id: &str) -> Result<Vec<CheckerObservation>>;
}

/// What taking a region's lease found.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// The lease was free: the incident and its first entry are stored.
    New,
    /// Another incident holds the lease.
    Existing(Box<Incident>),
}

#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// The incident holding the region's lease, if any.
    async fn leaseholder(&self, region: &str) -> Result<Option<Incident>>;

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
    /// copy, returned, has the next version. A closed incident with no notice
    /// left to deliver releases the region's lease in the same write.
    async fn update(&self, incident: &Incident, entries: &[TimelineEntry]) -> Result<Incident>;

    /// Appends one entry to an incident's timeline.
    async fn append(&self, entry: &TimelineEntry) -> Result<()>;

    /// Applied actions in a region since `since`, across its incidents
    /// (written by `update` for every newly applied action).
    async fn actions_since(&self, region: &str, since: DateTime<Utc>) -> Result<u32>;

    /// The last state a watch (such as the scheduled DERP check) reported.
    async fn watch_state(&self, watch: &str) -> Result<Option<String>>;

    async fn save_watch_state(&self, watch: &str, state: &str) -> Result<()>;
}

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, notice: &Notice) -> Result<()>;
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
}
