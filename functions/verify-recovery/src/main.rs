//! `verify-recovery`: one verification poll after a remedy. Answers recovered
//! (and closes the incident with its time to recover), keep waiting, or
//! failed (and escalates).

use failover_aws::{
    AwsPorts, answer, cold_start, failure, in_span, probe_event, record, verify_event,
};
use failover_core::app::context::Context;
use failover_core::app::ports::{Peers, Platform};
use failover_core::app::probe::{self, Prober};
use failover_core::app::verify_recovery::verify_recovery;
use failover_kube::{ClusterFunction, EksClusters, KubePlatform};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Context<'_>,
    platform: &dyn Platform,
    peers: &dyn Peers,
    prober: &Prober<'_>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    in_span(&context.request_id, async {
        if let Some(request) = probe_event::decode(&payload).map_err(failure)? {
            return answer(&probe::answer(prober, &request).await.map_err(failure)?);
        }
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
    tokio::join!(
        ports.warm_up(&settings),
        platform.warm_up(&settings.regions)
    );
    let deps = ports.context(&settings);
    let function = ClusterFunction::VerifyRecovery;
    let wanted = function.needs(&settings.platform);
    // verify-recovery reads standby clusters for the readiness evaluation:
    // it has read-only access to them anyway.
    let prober = Prober {
        function: function.name(),
        settings: &settings,
        reviews: &platform,
        standby: Some(&platform),
        wanted: &wanted,
    };
    lambda_runtime::run(service_fn(|event| {
        handler(&deps, &platform, &platform, &prober, event)
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
            &fakes.prober("verify-recovery", &[], true),
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
            &fakes.prober("verify-recovery", &[], true),
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
            &fakes.prober("verify-recovery", &[], true),
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

    #[tokio::test]
    async fn a_probe_reviews_every_request_and_reads_a_standby() {
        let fakes = Fakes::new(events_settings(&[]));
        let wanted = ClusterFunction::VerifyRecovery.needs(&fakes.settings.platform);
        fakes
            .readiness
            .denied
            .lock()
            .unwrap()
            .push(wanted[0].clone());
        let prober = fakes.prober("verify-recovery", &wanted, true);
        let answer = handler(
            &fakes.context(),
            &fakes.platform,
            &fakes.platform,
            &prober,
            event(event_payload("probe-permissions.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["function"], "verify-recovery", "{answer}");
        let east = &answer["regions"][0];
        assert_eq!(east["answers"].as_array().unwrap().len(), wanted.len());
        assert_eq!(east["answers"][0]["allowed"], false, "{answer}");
        assert_eq!(east["answers"][1]["allowed"], true, "{answer}");

        let error = handler(
            &fakes.context(),
            &fakes.platform,
            &fakes.platform,
            &prober,
            event(event_payload("probe-cluster.json")),
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.error_type, "UpstreamUnavailable",
            "{}",
            error.error_message
        );
        assert!(
            fakes.store.incidents.lock().unwrap().is_empty(),
            "a probe changes nothing"
        );
    }
}
