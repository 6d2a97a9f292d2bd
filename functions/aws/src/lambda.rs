//! Plumbing every function binary shares.

use std::str::FromStr;

use failover_core::Error;
use failover_core::config::Settings;
use lambda_runtime::Diagnostic;
use lambda_runtime::tracing::subscriber as tracing_subscriber;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, filter_fn};
use tracing_subscriber::fmt::{self, MakeWriter};
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;

/// JSON logs when Lambda's `AWS_LAMBDA_LOG_FORMAT=JSON`, level from
/// `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (directives allowed), to standard
/// output.
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = log_subscriber(level.as_deref().unwrap_or("INFO"), json, std::io::stdout);
    if tracing::subscriber::set_global_default(logs).is_err() {
        tracing::warn!("logging was already set up");
    }
}

/// The crates whose TRACE lines are kept. Dependencies print request URLs
/// and headers at TRACE: aws-sigv4 prints the canonical request, whose query
/// string carries a presigned EKS token's session token. So at TRACE only
/// our own crates say more than at DEBUG.
const OWN_CRATES: [&str; 10] = [
    "failover_core",
    "failover_aws",
    "failover_kube",
    "confirm_outage",
    "restore_platform",
    "verify_recovery",
    "check_derp_peers",
    "escalate_incident",
    "reconcile",
    "failoverctl",
];

/// Whether a line of `target` at `level` may be logged at all.
pub fn may_log(target: &str, level: tracing::Level) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    level != tracing::Level::TRACE || OWN_CRATES.contains(&krate)
}

/// The logs of a function: `level` (or `RUST_LOG`-style directives) over
/// [`may_log`], formatted for CloudWatch, written to `writer`.
pub fn log_subscriber<W>(
    level: &str,
    json: bool,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let default = LevelFilter::from_str(level).unwrap_or(LevelFilter::INFO);
    let levels = EnvFilter::builder()
        .with_default_directive(default.into())
        .parse_lossy(level);
    let format = fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let format: Box<dyn Layer<Registry> + Send + Sync> = if json {
        Box::new(format.json())
    } else {
        Box::new(format)
    };
    tracing_subscriber::registry().with(
        format
            .with_filter(levels)
            .with_filter(filter_fn(|meta| may_log(meta.target(), *meta.level()))),
    )
}

/// Logs a failed invocation and turns it into Lambda's error answer, whose
/// `errorType` names the error and whether a retry can help.
pub fn failure(error: Error) -> Diagnostic {
    let message = error.chain();
    tracing::error!(error_type = error.kind(), retry = ?error.retry_policy(), "{message}");
    Diagnostic {
        error_type: error.kind().to_owned(),
        error_message: message,
    }
}

/// What every function does first: logs set up, configuration read and
/// checked once (a bad one stops the cold start, naming every wrong
/// variable), metrics installed, AWS configuration loaded.
pub async fn cold_start() -> Result<(Settings, aws_config::SdkConfig), Error> {
    init_tracing();
    let settings = Settings::from_env()
        .and_then(|settings| {
            crate::metrics::install(&settings.metrics_namespace).map(|()| settings)
        })
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    Ok((settings, crate::load_aws_config().await))
}

/// How long a cold start's warm-up may hold it ([`crate::AwsPorts::warm_up`],
/// and the clusters' in failover-kube). A call that is answered takes a
/// fraction of a second; a cluster that does not answer (the failed region's,
/// perhaps) must not hold up the cold start of the function sent to restore
/// it by more than this.
pub const WARM_UP_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// A function's JSON answer.
pub fn answer<T: Serialize>(report: &T) -> Result<Value, Diagnostic> {
    serde_json::to_value(report).map_err(|e| {
        failure(Error::Internal(format!(
            "the answer does not serialize: {e}"
        )))
    })
}

/// Runs one invocation inside a span carrying its request id, so every line
/// it logs (the failure too) can be found together; [`record`] adds the
/// region and incident once they are known. Its metrics are written when it
/// ends, whatever it answers.
pub async fn in_span<F>(request_id: &str, invocation: F) -> Result<Value, Diagnostic>
where
    F: Future<Output = Result<Value, Diagnostic>>,
{
    let span = tracing::info_span!(
        "invocation",
        request_id,
        region = tracing::field::Empty,
        incident_id = tracing::field::Empty,
    );
    let answer = invocation.instrument(span).await;
    crate::metrics::flush();
    answer
}

/// Records what the current invocation is about on its span.
pub fn record(region: Option<&str>, incident_id: Option<&str>) {
    let span = tracing::Span::current();
    if let Some(region) = region {
        span.record("region", region);
    }
    if let Some(incident_id) = incident_id {
        span.record("incident_id", incident_id);
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn only_our_own_crates_log_at_trace() {
        let table = [
            ("failover_kube::eks_token", Level::TRACE, true),
            ("reconcile", Level::TRACE, true),
            ("confirm_outage::handler", Level::TRACE, true),
            ("aws_sigv4::http_request::sign", Level::TRACE, false),
            (
                "aws_smithy_runtime::client::orchestrator",
                Level::TRACE,
                false,
            ),
            ("hyper_util::client", Level::TRACE, false),
            ("kube_client::client", Level::TRACE, false),
            ("reconciler_of_something_else", Level::TRACE, false),
            ("aws_sigv4::http_request::sign", Level::DEBUG, true),
            ("hyper_util::client", Level::INFO, true),
        ];
        for (target, level, kept) in table {
            assert_eq!(may_log(target, level), kept, "{target} at {level}");
        }
    }
}
