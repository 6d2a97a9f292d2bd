//! `evaluate-readiness`: whether a recovery would work if an outage began
//! now. Reads each region's detection path, each cluster function's own
//! permissions (their probe mode), the standby clusters and the last
//! recoveries; stores the report; tells the operations topic when the
//! outcome changed. Runs on a schedule and by hand; changes nothing else.

use std::collections::BTreeMap;

use failover_aws::{
    AwsPorts, CloudWatchAlarms, LambdaInvokePolicy, LambdaProbes, SnsNotifier, answer, cold_start,
    failure, in_span, readiness_event,
};
use failover_core::app::evaluate_readiness::{Readiness, handle};
use failover_core::config::ReadinessTargets;
use failover_core::rules::readiness::PROBED;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(deps: &Readiness<'_>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    in_span(&context.request_id, async {
        let reason = readiness_event::decode(&payload).map_err(failure)?;
        let evaluation = handle(deps).await.map_err(failure)?;
        for check in &evaluation.findings {
            tracing::warn!(
                check = %check.kind,
                scope = %check.scope,
                status = %check.status,
                fix = check.fix.as_deref().unwrap_or_default(),
                "{}",
                check.detail
            );
        }
        tracing::info!(
            status = %evaluation.status,
            notified = evaluation.notified,
            reason,
            "{}",
            evaluation.summary
        );
        answer(&evaluation)
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let targets = ReadinessTargets::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let ports = AwsPorts::new(&config, &settings);
    ports.warm_up(&settings).await;
    // A probe waits for the probed function's reviews in every region,
    // which may take longer than a single AWS call is allowed; the
    // function's own timeout (the template's) still bounds the whole.
    let probe_timeouts = aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .read_timeout(std::time::Duration::from_secs(25))
        .operation_attempt_timeout(std::time::Duration::from_secs(25))
        .operation_timeout(std::time::Duration::from_secs(25))
        .build();
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&config)
            .timeout_config(probe_timeouts)
            .build(),
    );
    let alarms = CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(&config));
    let confirm_outage = targets.function("confirm-outage");
    let invoke_policy = LambdaInvokePolicy::new(lambda.clone(), &confirm_outage);
    let functions: BTreeMap<String, String> = PROBED
        .iter()
        .map(|f| ((*f).to_owned(), targets.function(f)))
        .collect();
    let probes = LambdaProbes::new(lambda, functions);
    let ops = SnsNotifier::new(aws_sdk_sns::Client::new(&config), &targets.ops_topic_arn);
    let deps = Readiness {
        settings: &settings,
        confirm_outage: &confirm_outage,
        health: &ports.health,
        alarms: &alarms,
        invoke_policy: &invoke_policy,
        probes: &probes,
        clusters: &probes,
        store: &ports.store,
        history: &ports.store,
        reports: &ports.store,
        ops: &ops,
        clock: &ports.clock,
        metrics: &ports.metrics,
    };
    lambda_runtime::run(service_fn(|event| handler(&deps, event))).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use failover_core::fakes::{
        FakeReadiness, Fakes, MemoryReports, RecordingNotifier, event_payload, events_settings,
    };

    fn event(payload: Value) -> LambdaEvent<Value> {
        LambdaEvent::new(payload, lambda_runtime::Context::default())
    }

    struct World {
        fakes: Fakes,
        readiness: FakeReadiness,
        reports: MemoryReports,
        ops: RecordingNotifier,
    }

    impl World {
        fn new() -> Self {
            Self {
                fakes: Fakes::new(events_settings(&[])),
                readiness: FakeReadiness::default(),
                reports: MemoryReports::default(),
                ops: RecordingNotifier::default(),
            }
        }

        fn deps(&self) -> Readiness<'_> {
            Readiness {
                settings: &self.fakes.settings,
                confirm_outage: "platform-failover-confirm-outage",
                health: &self.fakes.health,
                alarms: &self.fakes.alarms,
                invoke_policy: &self.readiness,
                probes: &self.readiness,
                clusters: &self.readiness,
                store: &self.fakes.store,
                history: &self.fakes.store,
                reports: &self.reports,
                ops: &self.ops,
                clock: &self.fakes.clock,
                metrics: &self.fakes.metrics,
            }
        }
    }

    #[tokio::test]
    async fn the_sample_events_evaluate_and_answer_every_check() {
        let world = World::new();
        for file in [
            "evaluate-readiness-scheduled.json",
            "evaluate-readiness-manual.json",
        ] {
            let answer = handler(&world.deps(), event(event_payload(file)))
                .await
                .unwrap();
            // Nothing is set up: the alarms, health checks, clusters and
            // probes are all missing, and each says so.
            assert_eq!(answer["status"], "fail", "{file}: {answer}");
            assert!(!answer["checks"].as_array().unwrap().is_empty(), "{answer}");
            assert!(
                answer["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|c| c["fix"].is_string()),
                "every finding has its fix: {answer}"
            );
        }
        assert_eq!(
            world.ops.sent.lock().unwrap().len(),
            1,
            "the second evaluation found the same outcome"
        );
        assert_eq!(world.reports.history.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn an_event_of_another_shape_is_refused_and_nothing_is_evaluated() {
        let world = World::new();
        let error = handler(
            &world.deps(),
            event(serde_json::json!({"region": "us-east-1"})),
        )
        .await
        .unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent", "{}", error.error_message);
        assert!(world.reports.history.lock().unwrap().is_empty());
        assert!(world.ops.sent.lock().unwrap().is_empty());
    }
}
