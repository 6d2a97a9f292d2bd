use async_trait::async_trait;
use chrono::{DateTime, Utc};
use failover_core::Result;
use failover_core::app::ports::HealthChecks;
use failover_core::model::health::CheckerObservation;

use crate::sdk_error::classify;

/// `GetHealthCheckStatus`: one observation per Route 53 checker.
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
            .map_err(|e| classify("Route 53", e))?;
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
}

#[cfg(test)]
mod contract_tests {
    use aws_sdk_route53::Client;
    use aws_sdk_route53::operation::get_health_check_status::{
        GetHealthCheckStatusInput, GetHealthCheckStatusOutput,
    };
    use aws_sdk_route53::primitives::DateTime as AwsTime;
    use aws_sdk_route53::types::{HealthCheckObservation, HealthCheckRegion, StatusReport};
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
}
