//! `confirm-outage`: decides whether a regional platform outage is real,
//! opens exactly one incident for the region, and tells people.

use failover_aws::{AwsPorts, alarm_event, failure, init_tracing, load_aws_config};
use failover_core::config::Settings;
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
    serde_json::to_value(&report).map_err(|e| {
        failure(failover_core::Error::rejected(
            "confirm-outage",
            e.to_string(),
        ))
    })
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings =
        Settings::from_env().inspect_err(|e| tracing::error!("cold start failed: {e}"))?;
    let ports = AwsPorts::new(&load_aws_config().await, &settings);
    let deps = ports.deps(&settings);
    lambda_runtime::run(service_fn(|event| handler(&deps, event))).await
}
