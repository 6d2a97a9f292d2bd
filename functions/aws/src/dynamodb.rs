//! Incidents, leases and timelines in one DynamoDB table (see docs/contracts.md).
//!
//! Every write that moves an incident is one transaction conditional on the
//! version read, so concurrent triggers cannot both win and a function that
//! dies between two steps leaves a consistent record for the next one.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use failover_core::incident::{Incident, TimelineEntry};
use failover_core::ports::{IncidentStore, Opened};
use failover_core::{Error, Result};

use crate::sdk_error::classify;

const SERVICE: &str = "DynamoDB";
type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoIncidentStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention: chrono::Duration,
}

fn lease_key(region: &str) -> Item {
    key(format!("REGION#{region}"), "LEASE".to_owned())
}

fn action_key(region: &str, at: DateTime<Utc>, incident_id: &str) -> Item {
    key(
        format!("REGION#{region}"),
        format!("ACTION#{}#{incident_id}", stamp(at)),
    )
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn incident_key(id: &str) -> Item {
    key(format!("INCIDENT#{id}"), "INCIDENT".to_owned())
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk)),
    ])
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl DynamoIncidentStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str, retention: Duration) -> Self {
        Self {
            client,
            table: table.to_owned(),
            retention: chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(90)),
        }
    }

    fn expiry(&self, from: DateTime<Utc>) -> AttributeValue {
        n((from + self.retention).timestamp())
    }

    fn incident_item(&self, incident: &Incident) -> Result<Item> {
        let mut item: Item = serde_dynamo::to_item(incident).map_err(|e| {
            Error::rejected(
                SERVICE,
                format!("incident {} cannot be stored: {e}", incident.id),
            )
        })?;
        item.extend(incident_key(&incident.id));
        if let Some(closed) = incident.closed_at {
            item.insert("expires_at".into(), self.expiry(closed));
        }
        Ok(item)
    }

    fn entry_item(&self, entry: &TimelineEntry) -> Result<Item> {
        let mut item: Item = serde_dynamo::to_item(entry).map_err(|e| {
            Error::rejected(SERVICE, format!("timeline entry cannot be stored: {e}"))
        })?;
        let at = entry
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        item.extend(key(
            format!("INCIDENT#{}", entry.incident_id),
            format!("TIMELINE#{at}#{}", entry.id),
        ));
        item.insert("expires_at".into(), self.expiry(entry.at));
        Ok(item)
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned));
        let put = put
            .build()
            .map_err(|e| Error::rejected(SERVICE, e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn entry_put(&self, entry: &TimelineEntry) -> Result<TransactWriteItem> {
        self.put(self.entry_item(entry)?, Some("attribute_not_exists(pk)"))
    }

    /// Runs a transaction; `Ok(false)` when a condition failed or another
    /// transaction got in the way.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled))
                    if cancelled.cancellation_reasons().iter().any(|r| {
                        matches!(
                            r.code(),
                            Some("ConditionalCheckFailed" | "TransactionConflict")
                        )
                    }) =>
                {
                    Ok(false)
                }
                _ => Err(classify(SERVICE, error)),
            },
        }
    }

    async fn get_item(&self, key: Item) -> Result<Option<Item>> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(SERVICE, e))?;
        Ok(answer.item)
    }
}

#[async_trait]
impl IncidentStore for DynamoIncidentStore {
    async fn leaseholder(&self, region: &str) -> Result<Option<Incident>> {
        let Some(lease) = self.get_item(lease_key(region)).await? else {
            return Ok(None);
        };
        let Some(AttributeValue::S(id)) = lease.get("incident_id") else {
            return Err(Error::rejected(
                SERVICE,
                format!("the lease of {region} names no incident_id"),
            ));
        };
        match self.get(id).await? {
            Some(incident) => Ok(Some(incident)),
            None => Err(Error::rejected(
                SERVICE,
                format!("the lease of {region} names incident {id}, which does not exist"),
            )),
        }
    }

    async fn get(&self, incident_id: &str) -> Result<Option<Incident>> {
        let Some(item) = self.get_item(incident_key(incident_id)).await? else {
            return Ok(None);
        };
        serde_dynamo::from_item(item).map(Some).map_err(|e| {
            Error::rejected(
                SERVICE,
                format!("stored incident {incident_id} is unreadable: {e}"),
            )
        })
    }

    async fn open(&self, incident: &Incident, first: &TimelineEntry) -> Result<Opened> {
        let mut lease = lease_key(&incident.region);
        lease.insert("incident_id".into(), s(&incident.id));
        lease.insert("acquired_at".into(), s(incident.detected_at.to_rfc3339()));
        let items = vec![
            self.put(lease, Some("attribute_not_exists(pk)"))?,
            self.put(
                self.incident_item(incident)?,
                Some("attribute_not_exists(pk)"),
            )?,
            self.entry_put(first)?,
        ];
        if self.transact(items).await? {
            return Ok(Opened::New);
        }
        match self.leaseholder(&incident.region).await? {
            Some(holder) => Ok(Opened::Existing(Box::new(holder))),
            None => Err(Error::Conflict(format!(
                "the lease of {} was released while opening an incident",
                incident.region
            ))),
        }
    }

    async fn update(&self, incident: &Incident, entries: &[TimelineEntry]) -> Result<Incident> {
        let stored = Incident {
            version: incident.version + 1,
            ..incident.clone()
        };
        let item = self.incident_item(&stored)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(incident.version))
            .build()
            .map_err(|e| Error::rejected(SERVICE, e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if !stored.phase.is_open() && stored.pending_notice.is_none() {
            let release = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(lease_key(&stored.region)))
                .condition_expression("attribute_not_exists(pk) OR incident_id = :id")
                .expression_attribute_values(":id", s(&stored.id))
                .build()
                .map_err(|e| Error::rejected(SERVICE, e.to_string()))?;
            items.push(TransactWriteItem::builder().delete(release).build());
        }
        for entry in entries {
            items.push(self.entry_put(entry)?);
        }
        // One item per applied action under the region, so the guardrails can
        // count a region's actions across incidents (same key: rewriting is a no-op).
        for action in stored.actions.iter().filter(|a| a.applied) {
            let mut item = action_key(&stored.region, action.at, &stored.id);
            item.insert("incident_id".into(), s(&stored.id));
            item.insert("expires_at".into(), self.expiry(action.at));
            items.push(self.put(item, None)?);
        }
        if self.transact(items).await? {
            Ok(stored)
        } else {
            Err(Error::Conflict(format!(
                "incident {} changed since version {} was read",
                incident.id, incident.version
            )))
        }
    }

    async fn watch_state(&self, watch: &str) -> Result<Option<String>> {
        let item = self
            .get_item(key(format!("WATCH#{watch}"), "STATE".into()))
            .await?;
        Ok(item.and_then(|i| match i.get("state") {
            Some(AttributeValue::S(state)) => Some(state.clone()),
            _ => None,
        }))
    }

    async fn save_watch_state(&self, watch: &str, state: &str) -> Result<()> {
        let mut item = key(format!("WATCH#{watch}"), "STATE".into());
        item.insert("state".into(), s(state));
        item.insert("at".into(), s(stamp(Utc::now())));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify(SERVICE, e))?;
        Ok(())
    }

    async fn actions_since(&self, region: &str, since: DateTime<Utc>) -> Result<u32> {
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(format!("REGION#{region}")))
            .expression_attribute_values(":from", s(format!("ACTION#{}", stamp(since))))
            .expression_attribute_values(":to", s("ACTION#~"))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(SERVICE, e))?;
        Ok(u32::try_from(answer.count).unwrap_or(0))
    }

    async fn append(&self, entry: &TimelineEntry) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.entry_item(entry)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| match e.code() {
                Some("ConditionalCheckFailedException") => {
                    Error::Conflict(format!("timeline entry {} exists", entry.id))
                }
                _ => classify(SERVICE, e),
            })?;
        Ok(())
    }
}
