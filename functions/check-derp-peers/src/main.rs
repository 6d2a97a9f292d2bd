//! `check-derp-peers`: are the DERP relay peers online in every region?
//! By hand it reports; on its schedule it also tells people when the
//! answer changes.

use failover_aws::{AwsPorts, answer, cold_start, failure, in_span, peers_event, probe_event};
use failover_core::app::check_derp_peers::check_derp_peers;
use failover_core::app::context::Records;
use failover_core::app::ports::Peers;
use failover_core::app::probe::{self, Prober};
use failover_core::config::Settings;
use failover_kube::{ClusterFunction, EksClusters, KubePlatform};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    settings: &Settings,
    records: &Records<'_>,
    peers: &dyn Peers,
    prober: &Prober<'_>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    in_span(&context.request_id, async {
        if let Some(request) = probe_event::decode(&payload).map_err(failure)? {
            return answer(&probe::answer(prober, &request).await.map_err(failure)?);
        }
        let scheduled = peers_event::decode(&payload).map_err(failure)?;
        let report = check_derp_peers(settings, records, peers, scheduled)
            .await
            .map_err(failure)?;
        tracing::info!(
            verdict = report.verdict.as_str(),
            scheduled,
            notified = report.notified,
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
    let ports = AwsPorts::new(&config, &settings);
    let peers = KubePlatform::new(EksClusters::new(config), settings.platform.clone());
    tokio::join!(ports.warm_up(&settings), peers.warm_up(&settings.regions));
    let records = ports.records();
    let function = ClusterFunction::CheckDerpPeers;
    let wanted = function.needs(&settings.platform);
    let prober = Prober {
        function: function.name(),
        settings: &settings,
        reviews: &peers,
        standby: None,
        wanted: &wanted,
    };
    lambda_runtime::run(service_fn(|event| {
        handler(&settings, &records, &peers, &prober, event)
    }))
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use failover_core::fakes::{Fakes, event_payload, events_settings};
    use failover_core::model::peers::PeerView;

    fn event(payload: Value) -> LambdaEvent<Value> {
        LambdaEvent::new(payload, lambda_runtime::Context::default())
    }

    fn peer(name: &str, online: bool) -> PeerView {
        serde_json::from_value(serde_json::json!({
            "name": name, "online": online, "last_seen": null
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_sample_manual_event_reports_and_tells_no_one() {
        let fakes = Fakes::new(events_settings(&[]));
        *fakes.platform.peers.lock().unwrap() = vec![peer("derp-a", true), peer("derp-b", false)];
        let answer = handler(
            &fakes.settings,
            &fakes.records(),
            &fakes.platform,
            &fakes.prober("check-derp-peers", &[], false),
            event(event_payload("check-derp-peers-manual.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["verdict"], "degraded", "{answer}");
        assert!(answer.get("changed").is_none(), "{answer}");
        assert!(fakes.subjects().is_empty());
    }

    #[tokio::test]
    async fn the_sample_scheduled_event_tells_people_when_the_answer_changes() {
        let fakes = Fakes::new(events_settings(&[]));
        *fakes.platform.peers.lock().unwrap() = vec![peer("derp-b", false)];
        let answer = handler(
            &fakes.settings,
            &fakes.records(),
            &fakes.platform,
            &fakes.prober("check-derp-peers", &[], false),
            event(event_payload("check-derp-peers-scheduled.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["changed"], true, "{answer}");
        assert_eq!(answer["notified"], true, "{answer}");
        let subjects = fakes.subjects();
        assert!(
            subjects.iter().any(|s| s.contains("DERP relay degraded")),
            "{subjects:?}"
        );
    }

    #[tokio::test]
    async fn an_event_of_another_shape_is_refused() {
        let fakes = Fakes::new(events_settings(&[]));
        let error = handler(
            &fakes.settings,
            &fakes.records(),
            &fakes.platform,
            &fakes.prober("check-derp-peers", &[], false),
            event(serde_json::json!({"detail-type": "Something Else", "source": "aws.s3"})),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent", "{}", error.error_message);
        assert!(fakes.subjects().is_empty());
    }

    #[tokio::test]
    async fn a_probe_reviews_the_peer_listing_in_every_region() {
        let fakes = Fakes::new(events_settings(&[]));
        let wanted = ClusterFunction::CheckDerpPeers.needs(&fakes.settings.platform);
        let answer = handler(
            &fakes.settings,
            &fakes.records(),
            &fakes.platform,
            &fakes.prober("check-derp-peers", &wanted, false),
            event(event_payload("probe-permissions.json")),
        )
        .await
        .unwrap();
        assert_eq!(answer["function"], "check-derp-peers", "{answer}");
        for region in answer["regions"].as_array().unwrap() {
            let answers = region["answers"].as_array().unwrap();
            assert_eq!(answers.len(), wanted.len(), "{answer}");
            assert!(answers.iter().all(|a| a["allowed"] == true), "{answer}");
        }
        assert!(fakes.subjects().is_empty(), "a probe tells no one");
    }
}
