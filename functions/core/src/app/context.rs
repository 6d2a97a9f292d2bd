//! What a use case borrows for one invocation.

use crate::app::ports::{Clock, HealthChecks, IncidentStore, Notifier};
use crate::config::{RegionSettings, Settings};
use crate::error::Result;
use crate::model::health::HealthReading;
use crate::rules::health::read_health;

/// The ports and settings a use case borrows for one invocation.
pub struct Deps<'a> {
    pub settings: &'a Settings,
    pub health: &'a dyn HealthChecks,
    pub store: &'a dyn IncidentStore,
    pub notifier: &'a dyn Notifier,
    pub clock: &'a dyn Clock,
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
