//! `escalate-incident`: the workflow's catch-all. Closes the incident as
//! escalated, with what failed, and tells a person what to do next.

use failover_aws::{AwsPorts, answer, cold_start, escalate_event, failure, in_span, record};
use failover_core::app::context::Records;
use failover_core::app::escalate_incident::escalate_incident;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(records: &Records<'_>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    in_span(&context.request_id, async {
        let request = escalate_event::decode(&payload).map_err(failure)?;
        record(None, Some(&request.incident_id));
        let report = escalate_incident(records, &request, &context.request_id)
            .await
            .map_err(failure)?;
        record(Some(&report.region), None);
        tracing::info!(phase = report.phase.as_str(), "{}", report.summary);
        answer(&report)
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let ports = AwsPorts::new(&config, &settings);
    ports.warm_up(&settings).await;
    let records = ports.records();
    lambda_runtime::run(service_fn(|event| handler(&records, event))).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use failover_core::fakes::{Fakes, event_payload, events_settings};

    fn event(payload: Value) -> LambdaEvent<Value> {
        let mut context = lambda_runtime::Context::default();
        context.request_id = "escalate-request".into();
        LambdaEvent::new(payload, context)
    }

    #[tokio::test]
    async fn the_sample_event_escalates_the_incident_and_frees_the_region() {
        let fakes = Fakes::new(events_settings(&[]));
        fakes.events_incident().await;
        let answer = handler(
            &fakes.records(),
            event(event_payload("escalate-incident.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["phase"], "escalated", "{answer}");
        assert_eq!(
            answer["incident_id"], "us-east-1-20261122-101500-3f9a2c1b",
            "{answer}"
        );
        assert_eq!(answer["notified"], true, "{answer}");
        let subjects = fakes.subjects();
        assert!(
            subjects.iter().any(|s| s.contains("ESCALATION")),
            "{subjects:?}"
        );
        assert!(
            fakes.store.lease("us-east-1").is_none(),
            "the region is free again"
        );
    }

    #[tokio::test]
    async fn an_event_without_the_failure_is_refused_and_changes_nothing() {
        let fakes = Fakes::new(events_settings(&[]));
        fakes.events_incident().await;
        let before = fakes.store.kinds();
        let error = handler(
            &fakes.records(),
            event(serde_json::json!({"incident_id": "us-east-1-20261122-101500-3f9a2c1b"})),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent", "{}", error.error_message);
        assert!(
            error.error_message.contains("failure"),
            "{}",
            error.error_message
        );
        assert_eq!(fakes.store.kinds(), before);
        assert!(fakes.subjects().is_empty());
    }
}
