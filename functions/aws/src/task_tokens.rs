//! The task token of an execution waiting for approval, kept in its own
//! item beside the incident (`INCIDENT#<id>` / `TASK_TOKEN`): the incident
//! is printed and told, the token never is.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use failover_core::Result;
use failover_core::app::ports::TaskTokens;
use failover_core::model::approval::TaskToken;

use crate::dynamodb::{DynamoIncidentStore, SERVICE, key};
use crate::sdk_error::classify;

fn token_key(incident_id: &str) -> crate::dynamodb::Item {
    key(format!("INCIDENT#{incident_id}"), "TASK_TOKEN".to_owned())
}

#[async_trait]
impl TaskTokens for DynamoIncidentStore {
    async fn keep(&self, incident_id: &str, token: &TaskToken) -> Result<()> {
        let mut item = token_key(incident_id);
        item.insert("token".into(), AttributeValue::S(token.expose().to_owned()));
        // Kept as long as incidents are, so it never outlives its incident.
        item.insert("expires_at".into(), self.expiry(Utc::now())?);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify(SERVICE, e))?;
        Ok(())
    }

    async fn token(&self, incident_id: &str) -> Result<Option<TaskToken>> {
        let item = self.get_item(token_key(incident_id)).await?;
        Ok(item.and_then(|i| match i.get("token") {
            Some(AttributeValue::S(token)) => Some(TaskToken::new(token.clone())),
            _ => None,
        }))
    }
}
