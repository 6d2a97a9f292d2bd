//! `escalate-incident`: the recovery workflow's catch-all. Records the
//! failure a step could not retry past, closes the incident as escalated and
//! tells people.

use failover_aws::{AwsPorts, answer, cold_start, escalate_event, failure};
use failover_core::confirm_outage::Deps;
use failover_core::escalate_incident::escalate_incident;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(deps: &Deps<'_>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    let request = escalate_event::decode(&payload).map_err(failure)?;
    let report = escalate_incident(deps, &request, &context.request_id)
        .await
        .map_err(failure)?;
    tracing::info!(incident_id = %report.incident_id, phase = report.phase.as_str(), "{}", report.summary);
    answer(&report)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let ports = AwsPorts::new(&config, &settings);
    let deps = ports.deps(&settings);
    lambda_runtime::run(service_fn(|event| handler(&deps, event))).await
}
