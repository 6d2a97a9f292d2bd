//! The health-check alarms' current state (CloudWatch `DescribeAlarms`):
//! what the reconciler compares with the incidents.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::StateValue;
use failover_core::app::ports::Alarms;
use failover_core::model::trigger::AlarmState;
use failover_core::{Error, Result};

use crate::sdk_error::classify;

const SERVICE: &str = "CloudWatch";

#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarms {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Alarms for CloudWatchAlarms {
    async fn states(&self, names: &[String]) -> Result<Vec<(String, AlarmState)>> {
        let mut states = Vec::new();
        // DescribeAlarms takes at most 100 names per call.
        for chunk in names.chunks(100) {
            let answer = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify(SERVICE, e))?;
            for alarm in answer.metric_alarms() {
                let (Some(name), Some(value)) = (alarm.alarm_name(), alarm.state_value()) else {
                    continue;
                };
                states.push((name.to_owned(), state(value)?));
            }
        }
        Ok(states)
    }
}

fn state(value: &StateValue) -> Result<AlarmState> {
    match value {
        StateValue::Alarm => Ok(AlarmState::Alarm),
        StateValue::Ok => Ok(AlarmState::Ok),
        StateValue::InsufficientData => Ok(AlarmState::InsufficientData),
        other => Err(Error::rejected(
            SERVICE,
            format!("unknown alarm state {:?}", other.as_str()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alarm_state_maps() {
        for (cloudwatch, ours) in [
            ("ALARM", AlarmState::Alarm),
            ("OK", AlarmState::Ok),
            ("INSUFFICIENT_DATA", AlarmState::InsufficientData),
        ] {
            assert_eq!(state(&StateValue::from(cloudwatch)), Ok(ours));
            assert_eq!(ours.as_str(), cloudwatch);
        }
        assert!(state(&StateValue::from("SNOOZED")).is_err());
    }
}

#[cfg(test)]
mod contract_tests {
    use aws_sdk_cloudwatch::Client;
    use aws_sdk_cloudwatch::config::Region;
    use aws_sdk_cloudwatch::config::retry::RetryConfig;
    use aws_sdk_cloudwatch::config::timeout::TimeoutConfig;
    use aws_sdk_cloudwatch::operation::describe_alarms::{
        DescribeAlarmsInput, DescribeAlarmsOutput,
    };
    use aws_sdk_cloudwatch::types::MetricAlarm;
    use aws_smithy_mocks::{
        MockResponse, MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock,
    };

    use super::*;
    use crate::sdk_mock::{
        FAILURE_MESSAGE, Failure, Requests, Unreachable, assert_failed_as, failures, xml_error,
    };

    // aws-sdk-cloudwatch 1.70 predates the test defaults `mock_client!`
    // applies (`with_test_defaults_v2`), so its clients are built here with
    // the older defaults and a region.
    fn config() -> aws_sdk_cloudwatch::config::Builder {
        aws_sdk_cloudwatch::Config::builder()
            .with_test_defaults()
            .region(Region::new("us-east-1"))
            .retry_config(RetryConfig::disabled())
    }

    fn mocked(rules: &[&Rule]) -> Client {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        Client::from_conf(
            config()
                .http_client(create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }

    fn unreachable(unreachable: Unreachable) -> Client {
        let timeouts = TimeoutConfig::builder()
            .operation_timeout(std::time::Duration::from_millis(50))
            .build();
        Client::from_conf(
            config()
                .http_client(unreachable.client())
                .timeout_config(timeouts)
                .build(),
        )
    }

    fn alarm(name: &str, state: Option<&str>) -> MetricAlarm {
        MetricAlarm::builder()
            .alarm_name(name)
            .set_state_value(state.map(StateValue::from))
            .namespace("AWS/Route53")
            .metric_name("HealthCheckStatus")
            .build()
    }

    fn answer(
        alarms: Vec<MetricAlarm>,
    ) -> impl Fn() -> MockResponse<
        DescribeAlarmsOutput,
        aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError,
    > {
        move || {
            MockResponse::Output(
                DescribeAlarmsOutput::builder()
                    .set_metric_alarms(Some(alarms.clone()))
                    .build(),
            )
        }
    }

    #[tokio::test]
    async fn alarms_are_read_by_name_at_most_a_hundred_a_call() {
        let names: Vec<String> = (0..150)
            .map(|i| format!("failover-health-{i:03}"))
            .collect();
        let requests = Requests::new();
        let first =
            mock!(Client::describe_alarms).then_compute_response(requests.answer(answer(vec![
                alarm("failover-health-000", Some("ALARM")),
                alarm("failover-health-001", Some("OK")),
                // No state yet: nothing to compare, so it is left out.
                alarm("failover-health-002", None),
            ])));
        let second =
            mock!(Client::describe_alarms).then_compute_response(requests.answer(answer(vec![
                alarm("failover-health-149", Some("INSUFFICIENT_DATA")),
            ])));

        let states = CloudWatchAlarms::new(mocked(&[&first, &second]))
            .states(&names)
            .await;

        assert_eq!(
            states,
            Ok(vec![
                ("failover-health-000".to_owned(), AlarmState::Alarm),
                ("failover-health-001".to_owned(), AlarmState::Ok),
                (
                    "failover-health-149".to_owned(),
                    AlarmState::InsufficientData
                ),
            ]),
            "every alarm with a state, from both calls"
        );
        let asked: Vec<DescribeAlarmsInput> = requests.all();
        let expected: Vec<DescribeAlarmsInput> = [&names[..100], &names[100..]]
            .into_iter()
            .map(|chunk| {
                DescribeAlarmsInput::builder()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .build()
                    .unwrap()
            })
            .collect();
        assert_eq!(asked, expected, "two calls, the names in order");
    }

    #[tokio::test]
    async fn an_alarm_state_this_version_does_not_know_is_refused() {
        let read = mock!(Client::describe_alarms).then_compute_response(move |_| {
            answer(vec![alarm("failover-health-000", Some("SNOOZED"))])()
        });

        let states = CloudWatchAlarms::new(mocked(&[&read]))
            .states(&["failover-health-000".to_owned()])
            .await;

        assert!(
            matches!(&states, Err(e) if e.kind() == "UpstreamRejected" && e.to_string().contains("SNOOZED")),
            "{states:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_read_says_whether_a_retry_helps() {
        let mut table = failures("Throttling", "InternalServiceFault", "AccessDenied").to_vec();
        table.push((Failure::Answer(400, "InvalidNextToken"), "UpstreamRejected"));
        for (failure, kind) in table {
            let client = match failure {
                Failure::Answer(status, code) => {
                    let read = mock!(Client::describe_alarms)
                        .then_http_response(move || xml_error(status, code, FAILURE_MESSAGE));
                    mocked(&[&read])
                }
                Failure::Unreachable(how) => unreachable(how),
            };
            let result = CloudWatchAlarms::new(client)
                .states(&["failover-health-000".to_owned()])
                .await;
            assert_failed_as(failure, kind, result);
        }
    }
}
