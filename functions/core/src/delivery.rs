//! Delivering an incident's pending notice exactly where it is safe to.

use crate::confirm_outage::Deps;
use crate::error::{Error, Result};
use crate::incident::{EntryKind, Incident, Journal};

/// Publishes the incident's pending notice, then clears it (releasing the
/// lease if the incident is closed). A crash in between leaves the notice
/// pending for the next trigger: delivery is at least once.
pub(crate) async fn deliver(
    deps: &Deps<'_>,
    incident: Incident,
    journal: &mut Journal,
) -> Result<(Incident, bool)> {
    let Some(notice) = incident.pending_notice.clone() else {
        return Ok((incident, false));
    };
    deps.notifier.publish(&notice).await?;
    let mut latest = incident;
    for _ in 0..3 {
        let mut cleared = latest.clone();
        cleared.pending_notice = None;
        let entry = journal.entry(
            &cleared,
            deps.clock.now(),
            EntryKind::Notified,
            format!("notified: {}", notice.subject),
        );
        match deps.store.update(&cleared, &[entry]).await {
            Ok(stored) => return Ok((stored, true)),
            Err(Error::Conflict(_)) => match deps.store.get(&latest.id).await? {
                Some(current)
                    if current
                        .pending_notice
                        .as_ref()
                        .is_some_and(|n| n.id == notice.id) =>
                {
                    latest = current
                }
                Some(current) => return Ok((current, true)),
                None => {
                    return Err(Error::Conflict(format!(
                        "incident {} vanished while clearing its notice",
                        latest.id
                    )));
                }
            },
            Err(other) => return Err(other),
        }
    }
    Err(Error::Conflict(format!(
        "incident {} kept changing while clearing its notice",
        latest.id
    )))
}
