//! The one way an incident's change is stored and told: the state, its
//! timeline entries and its notice in one conditional write, then one
//! attempt to deliver. A notice SNS does not take stays in the incident's
//! outbox for the next step or the reconciler: telling never gates progress.

use crate::app::context::Records;
use crate::app::ports::Lease;
use crate::error::{Error, Result};
use crate::model::incident::{EntryKind, Incident, Journal, Lane, TimelineEntry};
use crate::model::metric::Metric;
use crate::model::notice::Notice;

/// What a commit or a delivery left.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Delivered {
    pub incident: Incident,
    /// Notices this attempt published.
    pub sent: usize,
}

impl Delivered {
    pub fn notified(&self) -> bool {
        self.sent > 0
    }

    /// Notices still in the outbox.
    pub fn undelivered(&self) -> usize {
        self.incident.outbox.len()
    }
}

/// For reports: `undelivered` is left out when nothing is.
pub(crate) fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Stores the transition, then tries once to deliver the outbox (oldest
/// notice first). Only the write can fail the step.
pub(crate) async fn commit(
    records: &Records<'_>,
    mut incident: Incident,
    entries: Vec<TimelineEntry>,
    notice: Option<Notice>,
    journal: &mut Journal,
) -> Result<Delivered> {
    incident.outbox.extend(notice);
    let stored = records.store.update(&incident, &entries).await?;
    for metric in crate::rules::metrics::of_change(&stored, &entries) {
        records.metrics.record(metric);
    }
    Ok(deliver(records, stored, journal).await)
}

/// Publishes the outbox in order until SNS refuses one, then removes what
/// was published (re-reading on a concurrent write). Never fails: what is
/// not delivered, or not yet removed, stays and is delivered again later
/// with the same `notice_id` (at least once).
pub(crate) async fn deliver(
    records: &Records<'_>,
    incident: Incident,
    journal: &mut Journal,
) -> Delivered {
    let mut published = Vec::new();
    for notice in &incident.outbox {
        if records.notifier.publish(notice).await.is_err() {
            records.metrics.record(Metric::NoticeUndelivered);
            break;
        }
        published.push(notice.clone());
    }
    let sent = published.len();
    if published.is_empty() {
        return Delivered { incident, sent };
    }
    let mut latest = incident;
    for _ in 0..3 {
        let mut cleared = latest.clone();
        cleared
            .outbox
            .retain(|n| !published.iter().any(|p| p.id == n.id));
        if cleared.outbox.len() == latest.outbox.len() {
            return Delivered {
                incident: latest,
                sent,
            };
        }
        let now = records.clock.now();
        if !cleared.phase.is_open() {
            // A change after closing: never the closing write again.
            cleared.updated_at = now.max(latest.updated_at + chrono::Duration::milliseconds(1));
        }
        let entries: Vec<TimelineEntry> = published
            .iter()
            .filter(|p| latest.outbox.iter().any(|n| n.id == p.id))
            .map(|p| {
                journal.entry(
                    &cleared,
                    now,
                    EntryKind::Notified,
                    format!("notified: {}", p.subject),
                )
            })
            .collect();
        match records.store.update(&cleared, &entries).await {
            Ok(stored) => {
                return Delivered {
                    incident: stored,
                    sent,
                };
            }
            Err(Error::Conflict(_)) => match records.store.get(&latest.id).await {
                Ok(Some(current)) => latest = current,
                _ => break,
            },
            Err(_) => break,
        }
    }
    Delivered {
        incident: latest,
        sent,
    }
}

/// Releases a lease that names a closed or vanished incident, on that
/// incident's timeline when it is still there. True if it released one.
pub(crate) async fn release_dangling(
    records: &Records<'_>,
    region: &str,
    lane: Lane,
    journal: &mut Journal,
) -> Result<bool> {
    let Lease::Dangling {
        incident_id,
        incident,
    } = records.store.lease(region, lane).await?
    else {
        return Ok(false);
    };
    let released = records.store.release(region, lane, &incident_id).await?;
    if let (true, Some(incident)) = (released, incident) {
        let entry = journal.entry(
            &incident,
            records.clock.now(),
            EntryKind::Repaired,
            format!(
                "released the {} lease of {region}: the incident was already {}",
                lane.as_str(),
                incident.phase.as_str()
            ),
        );
        records.store.append(&entry).await?;
    }
    Ok(released)
}
