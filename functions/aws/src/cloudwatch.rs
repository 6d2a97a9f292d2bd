//! The health-check alarms as CloudWatch describes them (`DescribeAlarms`):
//! their state, which the reconciler compares with the incidents, and the
//! rest of their configuration, which the readiness evaluation checks.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use failover_core::app::ports::Alarms;
use failover_core::model::readiness::AlarmConfig;
use failover_core::model::trigger::AlarmState;
use failover_core::{Error, Result};

use crate::sdk_error::classify;

const SERVICE: &str = "CloudWatch";

/// The most names one `DescribeAlarms` takes.
const NAMES_PER_CALL: usize = 100;

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
        Ok(self
            .configs(names)
            .await?
            .into_iter()
            .map(|alarm| (alarm.name, alarm.state))
            .collect())
    }

    async fn configs(&self, names: &[String]) -> Result<Vec<AlarmConfig>> {
        let mut configs = Vec::new();
        for chunk in names.chunks(NAMES_PER_CALL) {
            // CloudWatch pages its answer (50 alarms by default) even when
            // every name fits in one request.
            let mut token: Option<String> = None;
            loop {
                let answer = self
                    .client
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| classify(SERVICE, e))?;
                for alarm in answer.metric_alarms() {
                    if let Some(config) = config(alarm)? {
                        configs.push(config);
                    }
                }
                match answer.next_token() {
                    Some(next) if !next.is_empty() => {
                        // The same token again would read the same page forever.
                        if token.as_deref() == Some(next) {
                            return Err(Error::rejected(
                                SERVICE,
                                format!(
                                    "DescribeAlarms answered the NextToken {next:?} it was sent"
                                ),
                            ));
                        }
                        token = Some(next.to_owned());
                    }
                    _ => break,
                }
            }
        }
        Ok(configs)
    }
}

/// An alarm without a name or a state yet has nothing to compare: it is
/// left out. `ActionsEnabled` left out is CloudWatch's default, enabled.
fn config(alarm: &MetricAlarm) -> Result<Option<AlarmConfig>> {
    let (Some(name), Some(value)) = (alarm.alarm_name(), alarm.state_value()) else {
        return Ok(None);
    };
    Ok(Some(AlarmConfig {
        name: name.to_owned(),
        arn: alarm.alarm_arn().unwrap_or_default().to_owned(),
        actions_enabled: alarm.actions_enabled().unwrap_or(true),
        alarm_actions: alarm.alarm_actions().to_vec(),
        state: state(value)?,
    }))
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

    fn page(
        alarms: Vec<MetricAlarm>,
        next: Option<&'static str>,
    ) -> impl Fn() -> MockResponse<
        DescribeAlarmsOutput,
        aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError,
    > {
        move || {
            MockResponse::Output(
                DescribeAlarmsOutput::builder()
                    .set_metric_alarms(Some(alarms.clone()))
                    .set_next_token(next.map(str::to_owned))
                    .build(),
            )
        }
    }

    fn request(names: &[String], token: Option<&str>) -> DescribeAlarmsInput {
        DescribeAlarmsInput::builder()
            .set_alarm_names(Some(names.to_vec()))
            .set_next_token(token.map(str::to_owned))
            .build()
            .unwrap()
    }

    const ARN: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:failover-health-us-east-1";
    const CONFIRM_OUTAGE: &str =
        "arn:aws:lambda:us-east-1:123456789012:function:failover-confirm-outage";

    #[tokio::test]
    async fn an_alarm_is_described_with_its_arn_actions_and_state() {
        let described = |actions_enabled: Option<bool>, actions: &[&str], state: &str| {
            MetricAlarm::builder()
                .alarm_name("failover-health-us-east-1")
                .alarm_arn(ARN)
                .set_actions_enabled(actions_enabled)
                .set_alarm_actions(Some(actions.iter().map(|a| (*a).to_owned()).collect()))
                .ok_actions("arn:aws:sns:us-east-1:123456789012:elsewhere")
                .state_value(StateValue::from(state))
                .namespace("AWS/Route53")
                .metric_name("HealthCheckStatus")
                .build()
        };
        let config = |actions_enabled: bool, actions: &[&str], state: AlarmState| AlarmConfig {
            name: "failover-health-us-east-1".into(),
            arn: ARN.into(),
            actions_enabled,
            alarm_actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            state,
        };
        let sns = "arn:aws:sns:us-east-1:123456789012:failover-notices";
        let cases = [
            (
                "acting on confirm-outage",
                described(Some(true), &[CONFIRM_OUTAGE], "OK"),
                config(true, &[CONFIRM_OUTAGE], AlarmState::Ok),
            ),
            (
                "actions disabled",
                described(Some(false), &[CONFIRM_OUTAGE, sns], "ALARM"),
                config(false, &[CONFIRM_OUTAGE, sns], AlarmState::Alarm),
            ),
            (
                "no actions; ActionsEnabled left out is enabled",
                described(None, &[], "INSUFFICIENT_DATA"),
                config(true, &[], AlarmState::InsufficientData),
            ),
        ];
        for (case, alarm, expected) in cases {
            let read = mock!(Client::describe_alarms)
                .then_compute_response(move |_| answer(vec![alarm.clone()])());

            let configs = CloudWatchAlarms::new(mocked(&[&read]))
                .configs(&["failover-health-us-east-1".to_owned()])
                .await;

            assert_eq!(configs, Ok(vec![expected]), "{case}");
        }
    }

    #[tokio::test]
    async fn every_page_of_every_call_is_read() {
        let names: Vec<String> = (0..150)
            .map(|i| format!("failover-health-{i:03}"))
            .collect();
        let requests = Requests::new();
        let rules = [
            mock!(Client::describe_alarms).then_compute_response(requests.answer(page(
                vec![alarm("failover-health-000", Some("ALARM"))],
                Some("page-2"),
            ))),
            mock!(Client::describe_alarms).then_compute_response(requests.answer(page(
                vec![alarm("failover-health-060", Some("OK"))],
                // An empty token ends the answer, as none does.
                Some(""),
            ))),
            mock!(Client::describe_alarms).then_compute_response(requests.answer(page(
                vec![alarm("failover-health-120", Some("OK"))],
                Some("next-of-the-second-call"),
            ))),
            mock!(Client::describe_alarms).then_compute_response(requests.answer(page(
                vec![alarm("failover-health-149", Some("ALARM"))],
                None,
            ))),
        ];

        let states = CloudWatchAlarms::new(mocked(&rules.iter().collect::<Vec<_>>()))
            .states(&names)
            .await;

        assert_eq!(
            states,
            Ok(vec![
                ("failover-health-000".to_owned(), AlarmState::Alarm),
                ("failover-health-060".to_owned(), AlarmState::Ok),
                ("failover-health-120".to_owned(), AlarmState::Ok),
                ("failover-health-149".to_owned(), AlarmState::Alarm),
            ]),
            "every alarm of every page"
        );
        assert_eq!(
            requests.all(),
            vec![
                request(&names[..100], None),
                request(&names[..100], Some("page-2")),
                request(&names[100..], None),
                request(&names[100..], Some("next-of-the-second-call")),
            ],
            "each page asked from where the last ended, the names kept"
        );
    }

    #[tokio::test]
    async fn a_token_that_does_not_move_is_refused() {
        let rules = [
            mock!(Client::describe_alarms)
                .then_compute_response(move |_| page(vec![], Some("again"))()),
            mock!(Client::describe_alarms)
                .then_compute_response(move |_| page(vec![], Some("again"))()),
        ];

        let configs = CloudWatchAlarms::new(mocked(&rules.iter().collect::<Vec<_>>()))
            .configs(&["failover-health-000".to_owned()])
            .await;

        assert!(
            matches!(&configs, Err(e) if e.kind() == "UpstreamRejected" && e.to_string().contains("again")),
            "{configs:?}"
        );
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
            let names = ["failover-health-000".to_owned()];
            let alarms = CloudWatchAlarms::new(client);
            assert_failed_as(failure, kind, alarms.configs(&names).await);
        }
    }

    #[tokio::test]
    async fn a_failed_later_page_fails_the_read() {
        let rules = [
            mock!(Client::describe_alarms).then_compute_response(move |_| {
                page(
                    vec![alarm("failover-health-000", Some("OK"))],
                    Some("page-2"),
                )()
            }),
            mock!(Client::describe_alarms)
                .then_http_response(|| xml_error(400, "Throttling", FAILURE_MESSAGE)),
        ];

        let states = CloudWatchAlarms::new(mocked(&rules.iter().collect::<Vec<_>>()))
            .states(&["failover-health-000".to_owned()])
            .await;

        assert_failed_as(
            Failure::Answer(400, "Throttling"),
            "UpstreamUnavailable",
            states,
        );
    }
}
