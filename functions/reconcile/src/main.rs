//! `reconcile`: the level-triggered resync. Reads every region as it is and
//! repairs what the fast path left inconsistent; each repair is a timeline
//! entry. Runs on a schedule, when a recovery execution ends badly, and by hand.

use failover_aws::{
    AwsPorts, CloudWatchAlarms, StepFunctionsWorkflow, answer, cold_start, failure, in_span,
    reconcile_event,
};
use failover_core::app::context::Context;
use failover_core::app::ports::{Alarms, Workflow};
use failover_core::app::reconcile::reconcile;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Context<'_>,
    workflow: &dyn Workflow,
    alarms: &dyn Alarms,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    in_span(&context.request_id, async {
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
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let workflow = StepFunctionsWorkflow::configured(&config, &settings)
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let alarms = CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(&config));
    let ports = AwsPorts::new(&config, &settings);
    ports.warm_up(&settings).await;
    let deps = ports.context(&settings);
    lambda_runtime::run(service_fn(|event| {
        handler(&deps, &workflow, &alarms, event)
    }))
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use failover_core::app::ports::{Clock, IncidentStore};
    use failover_core::fakes::{Fakes, event_payload, events_settings};
    use failover_core::model::trigger::AlarmState;
    use failover_core::model::workflow::ExecutionStatus;

    fn event(payload: Value) -> LambdaEvent<Value> {
        let mut context = lambda_runtime::Context::default();
        context.request_id = "reconcile-request".into();
        LambdaEvent::new(payload, context)
    }

    #[tokio::test]
    async fn every_sample_event_runs_a_reconciliation_of_every_region() {
        for file in [
            "reconcile-scheduled.json",
            "reconcile-manual.json",
            "reconcile-execution-ended.json",
        ] {
            let fakes = Fakes::new(events_settings(&[]));
            let answer = handler(
                &fakes.context(),
                &fakes.workflow,
                &fakes.alarms,
                event(event_payload(file)),
            )
            .await
            .unwrap();
            assert_eq!(
                answer["repairs"], 0,
                "{file}: a quiet platform needs none: {answer}"
            );
            assert_eq!(
                answer["regions"].as_array().map(Vec::len),
                Some(2),
                "{file}"
            );
            assert!(fakes.subjects().is_empty(), "{file}");
        }
    }

    #[tokio::test]
    async fn an_incident_whose_execution_was_stopped_is_escalated() {
        let fakes = Fakes::new(events_settings(&[]));
        let incident = fakes.events_incident().await;
        let mut restoring = incident.clone();
        restoring.restoring(fakes.clock.now()).unwrap();
        fakes.store.update(&restoring, &[]).await.unwrap();
        fakes.workflow.end(&incident.id, ExecutionStatus::Aborted);
        fakes.alarms.set(
            "platform-failover-us-east-1-platform-health",
            AlarmState::Alarm,
        );
        let answer = handler(
            &fakes.context(),
            &fakes.workflow,
            &fakes.alarms,
            event(event_payload("reconcile-execution-ended.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["repairs"], 1, "{answer}");
        assert_eq!(fakes.store.only_incident().phase.as_str(), "escalated");
        assert!(
            fakes.subjects().iter().any(|s| s.contains("ESCALATION")),
            "{:?}",
            fakes.subjects()
        );
    }

    #[tokio::test]
    async fn an_event_of_another_shape_is_refused() {
        let fakes = Fakes::new(events_settings(&[]));
        let error = handler(
            &fakes.context(),
            &fakes.workflow,
            &fakes.alarms,
            event(serde_json::json!({"detail-type": "Object Created", "source": "aws.s3"})),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent", "{}", error.error_message);
    }
}
