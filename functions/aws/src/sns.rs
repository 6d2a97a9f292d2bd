use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use failover_core::notice::Notice;
use failover_core::ports::Notifier;
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
