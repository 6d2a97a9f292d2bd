use async_trait::async_trait;
use chrono::{DateTime, Utc};
use failover_core::Result;
use failover_core::health::CheckerObservation;
use failover_core::ports::HealthChecks;

use crate::sdk_error::classify;

/// `GetHealthCheckStatus`: one observation per Route 53 checker.
#[derive(Debug, Clone)]
pub struct Route53HealthChecks {
    client: aws_sdk_route53::Client,
}

impl Route53HealthChecks {
    pub fn new(client: aws_sdk_route53::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl HealthChecks for Route53HealthChecks {
    async fn observe(&self, health_check_id: &str) -> Result<Vec<CheckerObservation>> {
        let answer = self
            .client
            .get_health_check_status()
            .health_check_id(health_check_id)
            .send()
            .await
            .map_err(|e| classify("Route 53", e))?;
        Ok(answer
            .health_check_observations()
            .iter()
            .map(|observation| {
                let report = observation.status_report();
                // An observation without a time cannot be shown fresh: it counts as stale.
                let checked_at = report
                    .and_then(|r| r.checked_time())
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()))
                    .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
                CheckerObservation::from_status(
                    observation
                        .region()
                        .map(|r| r.as_str())
                        .unwrap_or("unknown"),
                    report.and_then(|r| r.status()).unwrap_or_default(),
                    checked_at,
                )
            })
            .collect())
    }
}
