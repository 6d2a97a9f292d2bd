//! What a use case borrows for one invocation: only the ports it calls.

use crate::app::ports::{Clock, HealthChecks, IncidentStore, Metrics, Notifier};
use crate::config::{RegionSettings, Settings};
use crate::error::Result;
use crate::model::health::HealthReading;
use crate::rules::health::read_health;

/// What every step writes through: the incident store, the notifier that
/// delivers its notices, the clock that stamps them, and the metrics that
/// count them.
pub struct Records<'a> {
    pub store: &'a dyn IncidentStore,
    pub notifier: &'a dyn Notifier,
    pub clock: &'a dyn Clock,
    pub metrics: &'a dyn Metrics,
}

/// The context of a step that also reads the regions' health: confirming an
/// outage, restoring and verifying a platform, reconciling.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub health: &'a dyn HealthChecks,
    pub records: Records<'a>,
}

/// Route 53's verdict on `region` now.
pub(crate) async fn read(deps: &Context<'_>, region: &RegionSettings) -> Result<HealthReading> {
    let observations = deps.health.observe(&region.health_check_id).await?;
    Ok(read_health(
        &region.name,
        &observations,
        deps.records.clock.now(),
        &deps.settings.confirmation,
    ))
}
