//! `restore-platform`: diagnoses the failed region's platform and applies
//! the runbook's remedy (scale back up or rollout restart) within the
//! guardrails, or escalates.

use failover_aws::{
    AwsPorts, answer, cold_start, failure, in_span, probe_event, record, restore_event,
};
use failover_core::app::context::Context;
use failover_core::app::ports::Platform;
use failover_core::app::probe::{self, Prober};
use failover_core::app::restore_platform::restore_platform;
use failover_kube::{ClusterFunction, EksClusters, KubePlatform};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Context<'_>,
    platform: &dyn Platform,
    prober: &Prober<'_>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    in_span(&context.request_id, async {
        if let Some(request) = probe_event::decode(&payload).map_err(failure)? {
            return answer(&probe::answer(prober, &request).await.map_err(failure)?);
        }
        let request = restore_event::decode(&payload).map_err(failure)?;
        record(request.region.as_deref(), request.incident_id.as_deref());
        let report = restore_platform(deps, platform, &request, &context.request_id)
            .await
            .map_err(failure)?;
        record(Some(&report.region), Some(&report.incident_id));
        tracing::info!(phase = report.phase.as_str(), "{}", report.summary);
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
    let function = ClusterFunction::RestorePlatform;
    let wanted = function.needs(&settings.platform);
    let prober = Prober {
        function: function.name(),
        settings: &settings,
        reviews: &platform,
        standby: None,
        wanted: &wanted,
    };
    lambda_runtime::run(service_fn(|event| {
        handler(&deps, &platform, &prober, event)
    }))
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use failover_core::fakes::{Fakes, crash_looping_platform, event_payload, events_settings};

    fn event(payload: Value) -> LambdaEvent<Value> {
        let mut context = lambda_runtime::Context::default();
        context.request_id = "restore-request".into();
        LambdaEvent::new(payload, context)
    }

    /// The events' incident open, us-east-1 still failing its check, its pods crash-looping.
    async fn crash_loop() -> Fakes {
        let fakes = Fakes::new(events_settings(&[]));
        fakes.health.set("hc-a", &[false]);
        *fakes.platform.diagnosis.lock().unwrap() = crash_looping_platform();
        fakes.events_incident().await;
        fakes
    }

    #[tokio::test]
    async fn the_sample_incident_event_restarts_a_crash_looping_platform() {
        let fakes = crash_loop().await;
        let answer = handler(
            &fakes.context(),
            &fakes.platform,
            &fakes.prober("restore-platform", &[], false),
            event(event_payload("restore-platform-incident.json")),
        )
        .await
        .unwrap();
        assert_eq!(
            answer["incident_id"], "us-east-1-20261122-101500-3f9a2c1b",
            "{answer}"
        );
        assert_eq!(answer["decision"]["decision"], "act", "{answer}");
        assert_eq!(answer["phase"], "restoring", "{answer}");
        let (scaled, restarted) = fakes.platform.changes();
        assert!(scaled.is_empty());
        assert_eq!(restarted.len(), 1, "one rollout restart");
    }

    #[tokio::test]
    async fn the_sample_dry_run_event_decides_and_changes_nothing() {
        let fakes = crash_loop().await;
        let answer = handler(
            &fakes.context(),
            &fakes.platform,
            &fakes.prober("restore-platform", &[], false),
            event(event_payload("restore-platform-dry-run.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["dry_run"], true, "{answer}");
        assert_eq!(answer["decision"]["decision"], "report", "{answer}");
        assert_eq!(fakes.platform.changes(), (vec![], vec![]));
    }

    #[tokio::test]
    async fn an_unknown_incident_is_refused_and_nothing_is_changed() {
        let fakes = crash_loop().await;
        let error = handler(
            &fakes.context(),
            &fakes.platform,
            &fakes.prober("restore-platform", &[], false),
            event(serde_json::json!({"incident_id": "us-east-1-20991231-000000-missing"})),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent", "{}", error.error_message);
        assert!(
            error.error_message.contains("missing"),
            "{}",
            error.error_message
        );
        assert_eq!(fakes.platform.changes(), (vec![], vec![]));
    }

    #[tokio::test]
    async fn a_probe_reviews_every_request_and_changes_nothing() {
        let fakes = crash_loop().await;
        let wanted = ClusterFunction::RestorePlatform.needs(&fakes.settings.platform);
        let prober = fakes.prober("restore-platform", &wanted, false);
        let answer = handler(
            &fakes.context(),
            &fakes.platform,
            &prober,
            event(event_payload("probe-permissions.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["function"], "restore-platform", "{answer}");
        let regions: Vec<&str> = answer["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["region"].as_str().unwrap())
            .collect();
        assert_eq!(regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(
            answer["regions"][0]["answers"].as_array().unwrap().len(),
            wanted.len()
        );
        let (scaled, restarted) = fakes.platform.changes();
        assert!(
            scaled.is_empty() && restarted.is_empty(),
            "a probe changes nothing"
        );

        let error = handler(
            &fakes.context(),
            &fakes.platform,
            &prober,
            event(event_payload("probe-cluster.json")),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent", "{}", error.error_message);
    }
}
