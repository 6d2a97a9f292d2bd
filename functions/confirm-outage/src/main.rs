//! `confirm-outage`: decides whether a regional platform outage is real,
//! opens exactly one incident for the region, tells people, and starts the
//! incident's recovery workflow.

use failover_aws::{
    AwsPorts, StepFunctionsWorkflow, alarm_event, answer, cold_start, failure, in_span, record,
};
use failover_core::app::confirm_outage::confirm_outage;
use failover_core::app::context::Context;
use failover_core::app::ports::Workflow;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Context<'_>,
    workflow: &dyn Workflow,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    in_span(&context.request_id, async {
        let trigger = alarm_event::decode(&payload).map_err(failure)?;
        let report = confirm_outage(deps, workflow, &trigger, &context.request_id)
            .await
            .map_err(failure)?;
        record(Some(&report.region), report.incident_id.as_deref());
        tracing::info!(
            verdict = report.verdict.as_str(),
            execution = report.execution_arn.as_deref().unwrap_or("-"),
            "{}",
            report.summary
        );
        answer(&report)
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let workflow = StepFunctionsWorkflow::configured(&config, &settings)
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let ports = AwsPorts::new(&config, &settings);
    ports.warm_up(&settings).await;
    let deps = ports.context(&settings);
    lambda_runtime::run(service_fn(|event| handler(&deps, &workflow, event))).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use failover_core::fakes::{Fakes, event_payload, events_settings};

    fn event(file: &str) -> LambdaEvent<Value> {
        let mut context = lambda_runtime::Context::default();
        context.request_id = "8d1c2b3a-request".into();
        LambdaEvent::new(event_payload(file), context)
    }

    /// us-east-1's check fails every sample, eu-west-1's passes.
    fn outage() -> Fakes {
        let fakes = Fakes::new(events_settings(&[]));
        fakes.health.set("hc-a", &[false]);
        fakes
    }

    #[tokio::test]
    async fn every_sample_alarm_event_confirms_the_outage_and_starts_the_recovery() {
        for file in [
            "confirm-outage-alarm-action.json",
            "confirm-outage-eventbridge.json",
            "confirm-outage-sns.json",
            "confirm-outage-manual.json",
        ] {
            let fakes = outage();
            let answer = handler(&fakes.context(), &fakes.workflow, event(file))
                .await
                .unwrap();
            assert_eq!(answer["verdict"], "confirmed", "{file}: {answer}");
            assert_eq!(answer["region"], "us-east-1", "{file}");
            assert_eq!(answer["notified"], true, "{file}");
            let started = fakes.workflow.started.lock().unwrap().clone();
            assert_eq!(started.len(), 1, "{file}: one recovery started");
            assert_eq!(
                Some(started[0].incident_id.as_str()),
                answer["incident_id"].as_str()
            );
            assert_eq!(
                fakes.store.only_incident().phase.as_str(),
                "confirmed",
                "{file}"
            );
        }
    }

    #[tokio::test]
    async fn a_dry_run_is_marked_as_one_from_its_answer_to_its_notices() {
        let fakes = outage();
        let answer = handler(
            &fakes.context(),
            &fakes.workflow,
            event("confirm-outage-manual-dry-run.json"),
        )
        .await
        .unwrap();
        assert_eq!(answer["dry_run"], true, "{answer}");
        assert!(fakes.store.only_incident().dry_run, "a dry-run incident");
        assert!(!fakes.subjects().is_empty());
        assert!(
            fakes.subjects().iter().all(|s| s.contains("[DRY RUN]")),
            "{:?}",
            fakes.subjects()
        );
    }

    #[tokio::test]
    async fn an_alarm_back_to_ok_opens_nothing() {
        let fakes = outage();
        let answer = handler(
            &fakes.context(),
            &fakes.workflow,
            event("confirm-outage-alarm-ok.json"),
        )
        .await
        .unwrap();
        assert_eq!(answer["verdict"], "not_alarm", "{answer}");
        assert!(fakes.store.kinds().is_empty(), "nothing written");
        assert!(fakes.subjects().is_empty());
    }

    #[tokio::test]
    async fn an_event_naming_an_unknown_alarm_is_refused_and_changes_nothing() {
        let fakes = outage();
        let mut payload = event_payload("confirm-outage-alarm-action.json");
        payload["alarmData"]["alarmName"] = "someone-elses-alarm".into();
        let error = handler(
            &fakes.context(),
            &fakes.workflow,
            LambdaEvent::new(payload, lambda_runtime::Context::default()),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent", "{}", error.error_message);
        assert!(
            error.error_message.contains("someone-elses-alarm"),
            "{}",
            error.error_message
        );
        assert!(fakes.store.kinds().is_empty());
        assert!(fakes.workflow.started.lock().unwrap().is_empty());
    }
}
