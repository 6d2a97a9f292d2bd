use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use failover_core::app::ports::Notifier;
use failover_core::model::notice::Notice;
use failover_core::{Error, Result};

use crate::sdk_error::classify;

/// Publishes notices to the SNS topic, with attributes for subscription filters.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: &str) -> Self {
        Self {
            client,
            topic_arn: topic_arn.to_owned(),
        }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, notice: &Notice) -> Result<()> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notice.subject)
            .message(&notice.body);
        for (name, value) in notice.attributes() {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| Error::rejected("SNS", format!("message attribute {name}: {e}")))?;
            request = request.message_attributes(name, attribute);
        }
        let sent = request.send().await.map_err(|e| classify("SNS", e))?;
        tracing::info!(notice = %notice.id, message_id = sent.message_id().unwrap_or_default(), subject = %notice.subject, "notice published");
        Ok(())
    }
}

#[cfg(test)]
mod contract_tests {
    use aws_sdk_sns::Client;
    use aws_sdk_sns::operation::publish::{PublishInput, PublishOutput};
    use aws_smithy_mocks::{MockResponse, mock};
    use failover_core::model::notice::Severity;
    use failover_core::model::phase::Phase;

    use super::*;
    use crate::sdk_mock::{
        FAILURE_MESSAGE, Failure, Requests, assert_failed_as, failures, mocked_client,
        unreachable_client, xml_error,
    };

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:failover-notices";

    fn notice(incident: bool) -> Notice {
        Notice {
            id: "us-east-1-20261122-101500-3f9a2c1b/v4".into(),
            created_at: "2026-11-22T10:20:00Z".parse().unwrap(),
            incident_id: incident.then(|| "us-east-1-20261122-101500-3f9a2c1b".into()),
            region: "us-east-1".into(),
            phase: incident.then_some(Phase::Restoring),
            severity: Severity::Warning,
            subject: "[WARNING] us-east-1: platform restarted".into(),
            body: "The platform of us-east-1 was restarted.\n".into(),
        }
    }

    fn string(value: &str) -> MessageAttributeValue {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn a_notice_is_published_with_the_attributes_subscriptions_filter_on() {
        let incident_attributes = [
            ("notice_id", "us-east-1-20261122-101500-3f9a2c1b/v4"),
            ("region", "us-east-1"),
            ("phase", "restoring"),
            ("severity", "warning"),
            ("incident_id", "us-east-1-20261122-101500-3f9a2c1b"),
        ];
        let watch_attributes = [
            ("notice_id", "us-east-1-20261122-101500-3f9a2c1b/v4"),
            ("region", "us-east-1"),
            ("severity", "warning"),
        ];
        for (case, notice, attributes) in [
            ("about an incident", notice(true), &incident_attributes[..]),
            ("about no incident", notice(false), &watch_attributes[..]),
        ] {
            let requests = Requests::new();
            let publish = mock!(Client::publish).then_compute_response(requests.answer(|| {
                MockResponse::Output(PublishOutput::builder().message_id("m-1").build())
            }));
            let notifier = SnsNotifier::new(mocked_client!(aws_sdk_sns, [&publish]), TOPIC);

            notifier.publish(&notice).await.unwrap();

            let mut expected = PublishInput::builder()
                .topic_arn(TOPIC)
                .subject("[WARNING] us-east-1: platform restarted")
                .message("The platform of us-east-1 was restarted.\n");
            for (name, value) in attributes {
                expected = expected.message_attributes(*name, string(value));
            }
            assert_eq!(requests.only(), expected.build().unwrap(), "{case}");
        }
    }

    #[tokio::test]
    async fn a_failed_publish_says_whether_a_retry_helps() {
        for (failure, kind) in failures("KMSThrottling", "InternalError", "AuthorizationError") {
            let client = match failure {
                Failure::Answer(status, code) => {
                    let publish = mock!(Client::publish)
                        .then_http_response(move || xml_error(status, code, FAILURE_MESSAGE));
                    mocked_client!(aws_sdk_sns, [&publish])
                }
                Failure::Unreachable(unreachable) => unreachable_client!(aws_sdk_sns, unreachable),
            };
            let result = SnsNotifier::new(client, TOPIC).publish(&notice(true)).await;
            assert_failed_as(failure, kind, result);
        }
    }
}
