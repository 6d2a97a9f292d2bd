//! `confirm-outage`: decides whether a regional platform outage is real,
//! opens exactly one incident for the region, tells people, and starts the
//! incident's recovery workflow.

use failover_aws::{AwsPorts, StepFunctionsWorkflow, alarm_event, answer, cold_start, failure};
use failover_core::confirm_outage::{Deps, confirm_outage};
use failover_core::ports::Workflow;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Deps<'_>,
    workflow: &dyn Workflow,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    let trigger = alarm_event::decode(&payload).map_err(failure)?;
    let report = confirm_outage(deps, workflow, &trigger, &context.request_id)
        .await
        .map_err(failure)?;
    tracing::info!(
        verdict = report.verdict.as_str(),
        region = %report.region,
        incident_id = report.incident_id.as_deref().unwrap_or("-"),
        execution = report.execution_arn.as_deref().unwrap_or("-"),
        "{}",
        report.summary
    );
    answer(&report)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let workflow = StepFunctionsWorkflow::configured(&config, &settings)
        .inspect_err(|e| tracing::error!("cold start failed: {e}"))?;
    let ports = AwsPorts::new(&config, &settings);
    let deps = ports.deps(&settings);
    lambda_runtime::run(service_fn(|event| handler(&deps, &workflow, event))).await
}
