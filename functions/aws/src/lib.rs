//! AWS adapters of the failover orchestrator: the ports of
//! `failover-core` implemented over Route 53, DynamoDB, SNS, Step Functions,
//! CloudWatch and Lambda, the decoding of the events AWS delivers, and the
//! Lambda plumbing every function shares.

mod action_slot;
pub mod alarm_event;
pub mod approve_event;
mod callbacks;
mod clock;
mod cloudwatch;
mod dynamodb;
pub mod escalate_event;
mod incident_history;
mod invoke_policy;
mod lambda;
pub mod lambda_invoke;
pub mod metrics;
pub mod peers_event;
pub mod probe_event;
mod probes;
pub mod readiness_event;
mod readiness_reports;
pub mod reconcile_event;
pub mod restore_event;
mod route53;
pub mod sdk_error;
#[cfg(test)]
mod sdk_mock;
mod sns;
mod stepfunctions;
mod task_tokens;
pub mod verify_event;

pub use callbacks::StepFunctionsCallbacks;
pub use clock::SystemClock;
pub use cloudwatch::CloudWatchAlarms;
pub use dynamodb::DynamoIncidentStore;
pub use invoke_policy::{ALARMS_PRINCIPAL, ANY_SOURCE, LambdaInvokePolicy};
pub use lambda::{
    WARM_UP_WITHIN, answer, cold_start, failure, in_span, init_tracing, log_subscriber, may_log,
    record,
};
pub use metrics::EmfMetrics;
pub use probes::{CLUSTER_READER, LambdaProbes};
pub use route53::Route53HealthChecks;
pub use sns::SnsNotifier;
pub use stepfunctions::StepFunctionsWorkflow;

use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use failover_core::app::context::{Context, Records};
use failover_core::config::Settings;

/// The AWS configuration of the Lambda environment. `AWS_ENDPOINT_URL` and
/// `AWS_ENDPOINT_URL_<SERVICE>` redirect the clients (the local cloud uses
/// them); credentials and region come from the Lambda environment.
///
/// Every call has a connect and a read timeout and the whole operation,
/// retries included, a bound: a stalled service fails the step with a
/// retryable error long before Lambda's own timeout would kill it.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .read_timeout(std::time::Duration::from_secs(10))
        .operation_attempt_timeout(std::time::Duration::from_secs(10))
        .operation_timeout(std::time::Duration::from_secs(25))
        .build();
    aws_config_loader().timeout_config(timeouts).load().await
}

/// Where every AWS configuration starts, the functions' and the tools':
/// one HTTPS client, rustls over ring (the crypto the Kubernetes client
/// uses too, so a binary links one crypto library, not two), verifying
/// certificates against the system's roots.
pub fn aws_config_loader() -> aws_config::ConfigLoader {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https)
}

/// The adapters one function needs, built once per cold start.
pub struct AwsPorts {
    pub health: Route53HealthChecks,
    pub store: DynamoIncidentStore,
    pub notifier: SnsNotifier,
    pub clock: SystemClock,
    pub metrics: EmfMetrics,
}

impl AwsPorts {
    /// `config` comes from [`load_aws_config`].
    pub fn new(config: &aws_config::SdkConfig, settings: &Settings) -> Self {
        Self {
            health: Route53HealthChecks::new(aws_sdk_route53::Client::new(config)),
            store: DynamoIncidentStore::new(
                aws_sdk_dynamodb::Client::new(config),
                &settings.incident_table,
                settings.retention,
            ),
            notifier: SnsNotifier::new(
                aws_sdk_sns::Client::new(config),
                &settings.notify_topic_arn,
            ),
            clock: SystemClock,
            metrics: EmfMetrics,
        }
    }

    /// What a step that reads the regions' health borrows.
    pub fn context<'a>(&'a self, settings: &'a Settings) -> Context<'a> {
        Context {
            settings,
            health: &self.health,
            records: self.records(),
        }
    }

    /// Opens the incident table's connection during the cold start, so the
    /// first invocation does not pay its TLS handshake on the small share of
    /// a CPU a small function runs with (its init phase gets more): a read of
    /// the first region's live lease. Best effort, within [`WARM_UP_WITHIN`]:
    /// a failure here is the first invocation's to meet and report.
    pub async fn warm_up(&self, settings: &Settings) {
        let Some(region) = settings.regions.first() else {
            return;
        };
        match tokio::time::timeout(WARM_UP_WITHIN, self.store.warm_up(&region.name)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::info!("cold start: the incident table did not answer: {error}")
            }
            Err(_) => tracing::info!(
                "cold start: the incident table did not answer within {} s",
                WARM_UP_WITHIN.as_secs()
            ),
        }
    }

    /// What every step writes through.
    pub fn records(&self) -> Records<'_> {
        Records {
            store: &self.store,
            notifier: &self.notifier,
            clock: &self.clock,
            metrics: &self.metrics,
        }
    }
}
