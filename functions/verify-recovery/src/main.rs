//! `verify-recovery`: one verification poll after a remedy. Answers recovered
//! (and closes the incident with its time to recover), keep waiting, or
//! failed (and escalates).

use failover_aws::{AwsPorts, answer, cold_start, failure, in_span, record, verify_event};
use failover_core::app::context::Context;
use failover_core::app::ports::{Peers, Platform};
use failover_core::app::verify_recovery::verify_recovery;
use failover_kube::{EksClusters, KubePlatform};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Context<'_>,
    platform: &dyn Platform,
    peers: &dyn Peers,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    in_span(&context.request_id, async {
        let request = verify_event::decode(&payload).map_err(failure)?;
        record(None, Some(&request.incident_id));
        let report = verify_recovery(deps, platform, peers, &request, &context.request_id)
            .await
            .map_err(failure)?;
        record(Some(&report.region), None);
        tracing::info!(phase = report.phase.as_str(), outcome = ?report.outcome, "verification poll");
        answer(&report)
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let ports = AwsPorts::new(&config, &settings);
    let platform = KubePlatform::new(EksClusters::new(config), settings.platform.clone());
    let deps = ports.context(&settings);
    lambda_runtime::run(service_fn(|event| {
        handler(&deps, &platform, &platform, event)
    }))
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use failover_core::app::ports::{Clock, IncidentStore};
    use failover_core::fakes::{Fakes, event_payload, events_settings};

    fn event(payload: Value) -> LambdaEvent<Value> {
        let mut context = lambda_runtime::Context::default();
        context.request_id = "verify-request".into();
        LambdaEvent::new(payload, context)
    }

    /// The events' incident open and restored; `healthy` scripts us-east-1's check.
    async fn restored(healthy: bool) -> Fakes {
        let fakes = Fakes::new(events_settings(&[("RECOVERY_HEALTHY_READINGS", "1")]));
        fakes.health.set("hc-a", &[healthy]);
        let incident = fakes.events_incident().await;
        let mut restoring = incident.clone();
        restoring.restoring(fakes.clock.now()).unwrap();
        fakes.store.update(&restoring, &[]).await.unwrap();
        fakes
    }

    #[tokio::test]
    async fn the_sample_event_closes_a_recovered_incident() {
        let fakes = restored(true).await;
        let answer = handler(
            &fakes.context(),
            &fakes.platform,
            &fakes.platform,
            event(event_payload("verify-recovery.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["outcome"], "recovered", "{answer}");
        assert_eq!(answer["phase"], "recovered", "{answer}");
        assert_eq!(answer["region"], "us-east-1", "{answer}");
        assert!(
            fakes.store.lease("us-east-1").is_none(),
            "the region is free again"
        );
    }

    #[tokio::test]
    async fn the_sample_event_keeps_waiting_while_the_check_still_fails() {
        let fakes = restored(false).await;
        let answer = handler(
            &fakes.context(),
            &fakes.platform,
            &fakes.platform,
            event(event_payload("verify-recovery.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["outcome"], "keep_waiting", "{answer}");
        assert_eq!(answer["phase"], "restoring", "{answer}");
    }

    #[tokio::test]
    async fn a_request_without_an_incident_is_refused() {
        let fakes = restored(true).await;
        let error = handler(
            &fakes.context(),
            &fakes.platform,
            &fakes.platform,
            event(serde_json::json!({"timing": {}})),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent", "{}", error.error_message);
        assert!(
            error.error_message.contains("incident_id"),
            "{}",
            error.error_message
        );
    }
}
