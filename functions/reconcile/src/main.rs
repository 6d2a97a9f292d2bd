//! `reconcile`: every minute, on every recovery workflow execution that ends
//! without succeeding, and by hand: reads every region as it is and repairs
//! what the alarm-driven path left (a lost start, a stopped workflow, a
//! stale confirmation, a dangling lease, an undelivered notice, a region
//! still down with nothing open), then saves its heartbeat.

use failover_aws::{
    AwsPorts, CloudWatchAlarms, StepFunctionsWorkflow, answer, cold_start, failure, reconcile_event,
};
use failover_core::confirm_outage::Deps;
use failover_core::ports::{Alarms, Workflow};
use failover_core::reconcile::reconcile;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Deps<'_>,
    workflow: &dyn Workflow,
    alarms: &dyn Alarms,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    let reason = reconcile_event::decode(&payload).map_err(failure)?;
    let report = reconcile(deps, workflow, alarms, &reason, &context.request_id)
        .await
        .map_err(failure)?;
    for region in &report.regions {
        for repair in &region.repairs {
            tracing::warn!(region = %region.region, "repaired: {repair}");
        }
    }
    tracing::info!(repairs = report.repairs, reason = %report.reason, "reconciled");
    answer(&report)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let workflow = StepFunctionsWorkflow::configured(&config, &settings)
        .inspect_err(|e| tracing::error!("cold start failed: {e}"))?;
    let alarms = CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(&config));
    let ports = AwsPorts::new(&config, &settings);
    let deps = ports.deps(&settings);
    lambda_runtime::run(service_fn(|event| {
        handler(&deps, &workflow, &alarms, event)
    }))
    .await
}
