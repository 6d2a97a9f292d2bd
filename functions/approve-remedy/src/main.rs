//! `approve-remedy`: a person in the loop. The recovery workflow invokes it
//! with its task token when a remedy waits for approval; people invoke it
//! (from the console, with `events/approve-remedy-*.json`) to approve or
//! reject. The answer never contains the token.

use failover_aws::approve_event::{self, ApproveEvent};
use failover_aws::{
    AwsPorts, StepFunctionsCallbacks, answer, cold_start, failure, in_span, record,
};
use failover_core::app::approve_remedy::{self, Waiting};
use failover_core::app::context::Records;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    records: &Records<'_>,
    waiting: &Waiting<'_>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    in_span(&context.request_id, async {
        let nonce = &context.request_id;
        let report = match approve_event::decode(&payload).map_err(failure)? {
            ApproveEvent::Wait { incident_id, token } => {
                record(None, Some(&incident_id));
                approve_remedy::wait_for_approval(records, waiting, &incident_id, &token, nonce)
                    .await
            }
            ApproveEvent::Answer(request) => {
                record(None, Some(&request.incident_id));
                approve_remedy::answer(records, waiting, &request, nonce).await
            }
        }
        .map_err(failure)?;
        record(Some(&report.region), None);
        tracing::info!(approval = report.approval.as_str(), "{}", report.summary);
        answer(&report)
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let ports = AwsPorts::new(&config, &settings);
    ports.warm_up(&settings).await;
    let callbacks = StepFunctionsCallbacks::new(aws_sdk_sfn::Client::new(&config));
    let records = ports.records();
    let waiting = Waiting {
        tokens: &ports.store,
        callbacks: &callbacks,
    };
    lambda_runtime::run(service_fn(|event| handler(&records, &waiting, event))).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use failover_core::fakes::{Fakes, RecordingCallbacks, event_payload, events_settings};

    fn event(payload: Value) -> LambdaEvent<Value> {
        let mut context = lambda_runtime::Context::default();
        context.request_id = "approve-request".into();
        LambdaEvent::new(payload, context)
    }

    #[tokio::test]
    async fn an_answer_to_nothing_asked_is_refused_and_changes_nothing() {
        let fakes = Fakes::new(events_settings(&[("APPROVAL_MODE", "approve")]));
        fakes.events_incident().await;
        let before = fakes.store.kinds();
        let callbacks = RecordingCallbacks::default();
        let waiting = Waiting {
            tokens: &fakes.store,
            callbacks: &callbacks,
        };
        let error = handler(
            &fakes.records(),
            &waiting,
            event(event_payload("approve-remedy-approve.json")),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent", "{}", error.error_message);
        assert!(
            error.error_message.contains("is not waiting for approval"),
            "{}",
            error.error_message
        );
        assert_eq!(fakes.store.kinds(), before);
        assert!(fakes.subjects().is_empty());
    }

    #[tokio::test]
    async fn the_workflow_s_wait_answers_without_its_token() {
        let fakes = Fakes::new(events_settings(&[("APPROVAL_MODE", "approve")]));
        let mut incident = fakes.events_incident().await;
        incident.approval = Some(failover_core::model::approval::Approval::asked(
            failover_core::model::remedy::Remedy::RolloutRestart,
            1,
            incident.updated_at,
            std::time::Duration::from_secs(1800),
        ));
        use failover_core::app::ports::IncidentStore;
        fakes.store.update(&incident, &[]).await.unwrap();
        let callbacks = RecordingCallbacks::default();
        let waiting = Waiting {
            tokens: &fakes.store,
            callbacks: &callbacks,
        };
        let answer = handler(
            &fakes.records(),
            &waiting,
            event(serde_json::json!({"incident_id": incident.id, "task_token": "tok-secret"})),
        )
        .await
        .unwrap();
        assert_eq!(answer["approval"], "waiting", "{answer}");
        assert!(!answer.to_string().contains("tok-secret"), "{answer}");
        let approved = handler(
            &fakes.records(),
            &waiting,
            event(event_payload("approve-remedy-approve.json")),
        )
        .await
        .unwrap();
        assert_eq!(approved["approval"], "approved", "{approved}");
        assert_eq!(approved["resumed"], true, "{approved}");
        assert!(!approved.to_string().contains("tok-secret"), "{approved}");
    }
}
