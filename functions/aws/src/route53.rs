use async_trait::async_trait;
use aws_sdk_route53::operation::get_health_check::GetHealthCheckError;
use aws_sdk_route53::types::{HealthCheckConfig as Route53Config, HealthCheckType};
use chrono::{DateTime, Utc};
use failover_core::app::ports::HealthChecks;
use failover_core::model::health::CheckerObservation;
use failover_core::model::readiness::HealthCheckConfig;
use failover_core::{Error, Result};

use crate::sdk_error::classify;

const SERVICE: &str = "Route 53";

/// What Route 53 applies to an endpoint check created without them
/// (`RequestInterval`, `FailureThreshold`), so an answer that leaves them
/// out still reads as the check behaves.
const DEFAULT_REQUEST_INTERVAL: u32 = 30;
const DEFAULT_FAILURE_THRESHOLD: u32 = 3;

/// `GetHealthCheckStatus`: one observation per Route 53 checker;
/// `GetHealthCheck`: how the check is configured.
#[derive(Debug, Clone)]
pub struct Route53HealthChecks {
    client: aws_sdk_route53::Client,
}

impl Route53HealthChecks {
    pub fn new(client: aws_sdk_route53::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl HealthChecks for Route53HealthChecks {
    async fn observe(&self, health_check_id: &str) -> Result<Vec<CheckerObservation>> {
        let answer = self
            .client
            .get_health_check_status()
            .health_check_id(health_check_id)
            .send()
            .await
            .map_err(|e| classify(SERVICE, e))?;
        Ok(answer
            .health_check_observations()
            .iter()
            .map(|observation| {
                let report = observation.status_report();
                // An observation without a time cannot be shown fresh: it counts as stale.
                let checked_at = report
                    .and_then(|r| r.checked_time())
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()))
                    .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
                CheckerObservation::from_status(
                    observation
                        .region()
                        .map(|r| r.as_str())
                        .unwrap_or("unknown"),
                    report.and_then(|r| r.status()).unwrap_or_default(),
                    checked_at,
                )
            })
            .collect())
    }

    async fn config(&self, health_check_id: &str) -> Result<Option<HealthCheckConfig>> {
        let answer = match self
            .client
            .get_health_check()
            .health_check_id(health_check_id)
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(GetHealthCheckError::is_no_such_health_check) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(classify(SERVICE, error)),
        };
        let config = answer
            .health_check()
            .and_then(|check| check.health_check_config())
            .ok_or_else(|| {
                Error::rejected(
                    SERVICE,
                    format!("GetHealthCheck of {health_check_id} answered no configuration"),
                )
            })?;
        Ok(Some(readiness_config(health_check_id, config)))
    }
}

fn readiness_config(health_check_id: &str, config: &Route53Config) -> HealthCheckConfig {
    let answered = |value: Option<i32>| value.and_then(|v| u32::try_from(v).ok());
    let (request_interval, failure_threshold) = match config.r#type() {
        HealthCheckType::Http
        | HealthCheckType::Https
        | HealthCheckType::HttpStrMatch
        | HealthCheckType::HttpsStrMatch
        | HealthCheckType::Tcp => (
            Some(answered(config.request_interval()).unwrap_or(DEFAULT_REQUEST_INTERVAL)),
            Some(answered(config.failure_threshold()).unwrap_or(DEFAULT_FAILURE_THRESHOLD)),
        ),
        // A calculated, CloudWatch-metric or recovery-control check polls
        // no endpoint: whatever the answer holds does not apply.
        HealthCheckType::Calculated
        | HealthCheckType::CloudwatchMetric
        | HealthCheckType::RecoveryControl => (None, None),
        // A kind this version does not know: only what Route 53 said.
        _ => (
            answered(config.request_interval()),
            answered(config.failure_threshold()),
        ),
    };
    HealthCheckConfig {
        id: health_check_id.to_owned(),
        disabled: config.disabled().unwrap_or(false),
        inverted: config.inverted().unwrap_or(false),
        request_interval,
        failure_threshold,
    }
}

#[cfg(test)]
mod contract_tests {
    use aws_sdk_route53::Client;
    use aws_sdk_route53::operation::get_health_check::{GetHealthCheckInput, GetHealthCheckOutput};
    use aws_sdk_route53::operation::get_health_check_status::{
        GetHealthCheckStatusInput, GetHealthCheckStatusOutput,
    };
    use aws_sdk_route53::primitives::DateTime as AwsTime;
    use aws_sdk_route53::types::{
        HealthCheck, HealthCheckObservation, HealthCheckRegion, StatusReport,
    };
    use aws_smithy_mocks::{MockResponse, mock};

    use super::*;
    use crate::sdk_mock::{
        FAILURE_MESSAGE, Failure, Requests, assert_failed_as, failures, mocked_client,
        unreachable_client, xml_error,
    };

    const HEALTH_CHECK: &str = "6f1c1d9e-0d2a-4c1b-9a57-3f3e2a1b0c9d";

    fn observation(
        region: Option<&str>,
        status: Option<&str>,
        checked_at: Option<&str>,
    ) -> HealthCheckObservation {
        let report = status.map(|status| {
            let checked = checked_at.map(|at| {
                let at: DateTime<Utc> = at.parse().unwrap();
                AwsTime::from_millis(at.timestamp_millis())
            });
            StatusReport::builder()
                .status(status)
                .set_checked_time(checked)
                .build()
        });
        HealthCheckObservation::builder()
            .set_region(region.map(HealthCheckRegion::from))
            .ip_address("15.177.2.1")
            .set_status_report(report)
            .build()
    }

    fn checker(region: &str, success: bool, checked_at: &str) -> CheckerObservation {
        CheckerObservation {
            checker_region: region.into(),
            success,
            checked_at: checked_at.parse().unwrap(),
        }
    }

    #[tokio::test]
    async fn every_checker_s_latest_report_is_one_observation() {
        let observations = vec![
            observation(
                Some("us-east-1"),
                Some("Success: HTTP Status Code 200, OK"),
                Some("2026-11-22T10:14:58.123Z"),
            ),
            observation(
                Some("eu-west-1"),
                Some("Failure: Connection timed out."),
                Some("2026-11-22T10:14:51Z"),
            ),
            // Without a time it cannot be shown fresh, so it reads as stale.
            observation(
                Some("ap-southeast-1"),
                Some("Success: HTTP Status Code 200, OK"),
                None,
            ),
            observation(None, None, None),
        ];
        let requests = Requests::new();
        let status = mock!(Client::get_health_check_status).then_compute_response(requests.answer(
            move || {
                MockResponse::Output(
                    GetHealthCheckStatusOutput::builder()
                        .set_health_check_observations(Some(observations.clone()))
                        .build()
                        .unwrap(),
                )
            },
        ));

        let seen = Route53HealthChecks::new(mocked_client!(aws_sdk_route53, [&status]))
            .observe(HEALTH_CHECK)
            .await;

        assert_eq!(
            seen,
            Ok(vec![
                checker("us-east-1", true, "2026-11-22T10:14:58.123Z"),
                checker("eu-west-1", false, "2026-11-22T10:14:51Z"),
                checker("ap-southeast-1", true, "1970-01-01T00:00:00Z"),
                checker("unknown", false, "1970-01-01T00:00:00Z"),
            ]),
            "one observation per checker, in the order Route 53 lists them"
        );
        assert_eq!(
            requests.only(),
            GetHealthCheckStatusInput::builder()
                .health_check_id(HEALTH_CHECK)
                .build()
                .unwrap(),
            "the health check asked for"
        );
    }

    #[tokio::test]
    async fn a_failed_read_says_whether_a_retry_helps() {
        let mut table = failures("Throttling", "InternalError", "AccessDenied").to_vec();
        table.push((
            Failure::Answer(404, "NoSuchHealthCheck"),
            "UpstreamRejected",
        ));
        table.push((
            Failure::Answer(400, "PriorRequestNotComplete"),
            "UpstreamUnavailable",
        ));
        for (failure, kind) in table {
            let client = match failure {
                Failure::Answer(status, code) => {
                    let read = mock!(Client::get_health_check_status)
                        .then_http_response(move || xml_error(status, code, FAILURE_MESSAGE));
                    mocked_client!(aws_sdk_route53, [&read])
                }
                Failure::Unreachable(unreachable) => {
                    unreachable_client!(aws_sdk_route53, unreachable)
                }
            };
            let result = Route53HealthChecks::new(client).observe(HEALTH_CHECK).await;
            assert_failed_as(failure, kind, result);
        }
    }

    /// A check of `kind` as `GetHealthCheck` answers it, with the fields
    /// the readiness reads.
    fn described(
        kind: &str,
        disabled: Option<bool>,
        inverted: Option<bool>,
        interval: Option<i32>,
        threshold: Option<i32>,
    ) -> GetHealthCheckOutput {
        let config = Route53Config::builder()
            .r#type(HealthCheckType::from(kind))
            .fully_qualified_domain_name("platform.us-east-1.example.com")
            .set_disabled(disabled)
            .set_inverted(inverted)
            .set_request_interval(interval)
            .set_failure_threshold(threshold)
            .build()
            .unwrap();
        GetHealthCheckOutput::builder()
            .health_check(
                HealthCheck::builder()
                    .id(HEALTH_CHECK)
                    .caller_reference("failover-us-east-1")
                    .health_check_version(3)
                    .health_check_config(config)
                    .build()
                    .unwrap(),
            )
            .build()
    }

    fn config(
        disabled: bool,
        inverted: bool,
        request_interval: Option<u32>,
        failure_threshold: Option<u32>,
    ) -> HealthCheckConfig {
        HealthCheckConfig {
            id: HEALTH_CHECK.into(),
            disabled,
            inverted,
            request_interval,
            failure_threshold,
        }
    }

    #[tokio::test]
    async fn a_health_check_s_configuration_reads_as_route53_applies_it() {
        let cases = [
            (
                "an HTTPS check as the template makes it",
                described("HTTPS", Some(false), Some(false), Some(10), Some(3)),
                config(false, false, Some(10), Some(3)),
            ),
            (
                "disabled and inverted",
                described("HTTP_STR_MATCH", Some(true), Some(true), Some(30), Some(1)),
                config(true, true, Some(30), Some(1)),
            ),
            (
                "an endpoint check answered without them has Route 53's defaults",
                described("TCP", None, None, None, None),
                config(false, false, Some(30), Some(3)),
            ),
            (
                "a calculated check polls nothing",
                described("CALCULATED", Some(false), Some(true), Some(30), Some(3)),
                config(false, true, None, None),
            ),
            (
                "nor does a CloudWatch-metric one",
                described("CLOUDWATCH_METRIC", None, None, None, None),
                config(false, false, None, None),
            ),
            (
                "nor a recovery control",
                described("RECOVERY_CONTROL", Some(true), None, None, None),
                config(true, false, None, None),
            ),
            (
                "a kind this version does not know keeps what was answered",
                described("HTTP3", None, None, Some(10), None),
                config(false, false, Some(10), None),
            ),
        ];
        for (case, answer, expected) in cases {
            let requests = Requests::new();
            let read = mock!(Client::get_health_check).then_compute_response(
                requests.answer(move || MockResponse::Output(answer.clone())),
            );

            let seen = Route53HealthChecks::new(mocked_client!(aws_sdk_route53, [&read]))
                .config(HEALTH_CHECK)
                .await;

            assert_eq!(seen, Ok(Some(expected)), "{case}");
            assert_eq!(
                requests.only(),
                GetHealthCheckInput::builder()
                    .health_check_id(HEALTH_CHECK)
                    .build()
                    .unwrap(),
                "{case}: the health check asked for"
            );
        }
    }

    #[tokio::test]
    async fn a_health_check_route53_does_not_have_has_no_configuration() {
        let read = mock!(Client::get_health_check).then_http_response(|| {
            xml_error(
                404,
                "NoSuchHealthCheck",
                &format!("A health check with id {HEALTH_CHECK} does not exist."),
            )
        });

        let seen = Route53HealthChecks::new(mocked_client!(aws_sdk_route53, [&read]))
            .config(HEALTH_CHECK)
            .await;

        assert_eq!(seen, Ok(None));
    }

    #[tokio::test]
    async fn an_answer_without_a_configuration_is_refused() {
        let read =
            mock!(Client::get_health_check).then_output(|| GetHealthCheckOutput::builder().build());

        let seen = Route53HealthChecks::new(mocked_client!(aws_sdk_route53, [&read]))
            .config(HEALTH_CHECK)
            .await;

        assert!(
            matches!(&seen, Err(e) if e.kind() == "UpstreamRejected" && e.to_string().contains(HEALTH_CHECK)),
            "{seen:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_configuration_read_says_whether_a_retry_helps() {
        let mut table = failures("Throttling", "InternalError", "AccessDenied").to_vec();
        table.push((Failure::Answer(400, "InvalidInput"), "UpstreamRejected"));
        table.push((
            Failure::Answer(400, "IncompatibleVersion"),
            "UpstreamRejected",
        ));
        for (failure, kind) in table {
            let client = match failure {
                Failure::Answer(status, code) => {
                    let read = mock!(Client::get_health_check)
                        .then_http_response(move || xml_error(status, code, FAILURE_MESSAGE));
                    mocked_client!(aws_sdk_route53, [&read])
                }
                Failure::Unreachable(unreachable) => {
                    unreachable_client!(aws_sdk_route53, unreachable)
                }
            };
            let result = Route53HealthChecks::new(client).config(HEALTH_CHECK).await;
            assert_failed_as(failure, kind, result);
        }
    }
}
