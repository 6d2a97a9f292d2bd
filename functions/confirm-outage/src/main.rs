//! `confirm-outage`: decides whether a regional platform outage is real,
//! opens exactly one incident for the region, and tells people.

use failover_aws::{AwsPorts, alarm_event, answer, cold_start, failure};
use failover_core::confirm_outage::{Deps, confirm_outage};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(deps: &Deps<'_>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    let trigger = alarm_event::decode(&payload).map_err(failure)?;
    let report = confirm_outage(deps, &trigger, &context.request_id)
        .await
        .map_err(failure)?;
    tracing::info!(
        verdict = report.verdict.as_str(),
        region = %report.region,
        incident_id = report.incident_id.as_deref().unwrap_or("-"),
        "{}",
        report.summary
    );
    answer(&report)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let ports = AwsPorts::new(&config, &settings);
    let deps = ports.deps(&settings);
    lambda_runtime::run(service_fn(|event| handler(&deps, event))).await
}
