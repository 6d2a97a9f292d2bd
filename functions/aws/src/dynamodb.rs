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
use failover_core::incident::{Incident, Lane, TimelineEntry};
use failover_core::ports::{IncidentStore, Lease, Opened};
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

fn region_pk(region: &str) -> String {
    format!("REGION#{region}")
}

/// `LEASE` for live incidents, `LEASE#DRY_RUN` for rehearsals.
fn lease_key(region: &str, lane: Lane) -> Item {
    let sk = match lane {
        Lane::Live => "LEASE".to_owned(),
        Lane::DryRun => "LEASE#DRY_RUN".to_owned(),
    };
    key(region_pk(region), sk)
}

/// One per closed incident, sorted by closing time: the newest is the
/// region's last closed incident of the lane (rewriting is a no-op).
fn closed_key(region: &str, lane: Lane, closed_at: DateTime<Utc>, incident_id: &str) -> Item {
    key(
        region_pk(region),
        format!("{}{}#{incident_id}", closed_prefix(lane), stamp(closed_at)),
    )
}

fn closed_prefix(lane: Lane) -> String {
    format!("CLOSED#{}#", lane.as_str())
}

/// Present while an incident of the region has notices to deliver.
fn outbox_key(region: &str, incident_id: &str) -> Item {
    key(region_pk(region), format!("OUTBOX#{incident_id}"))
}

fn action_key(region: &str, at: DateTime<Utc>, incident_id: &str) -> Item {
    key(
        region_pk(region),
        format!("ACTION#{}#{incident_id}", stamp(at)),
    )
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `ACTION#<stamp>#<incident>` → the stamp's time.
fn action_time(sk: &str) -> Option<DateTime<Utc>> {
    let rest = sk.strip_prefix("ACTION#")?;
    let (at, _) = rest.split_once('#')?;
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
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

    fn delete(
        &self,
        key: Item,
        condition: Option<(&str, &str, AttributeValue)>,
    ) -> Result<TransactWriteItem> {
        let mut delete = Delete::builder().table_name(&self.table).set_key(Some(key));
        if let Some((expression, name, value)) = condition {
            delete = delete
                .condition_expression(expression)
                .expression_attribute_values(name, value);
        }
        let delete = delete
            .build()
            .map_err(|e| Error::rejected(SERVICE, e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The incident an item (a lease, a pointer) names, if it still exists.
    async fn named_by(&self, item: &Item, what: &str) -> Result<(String, Option<Incident>)> {
        let Some(AttributeValue::S(id)) = item.get("incident_id") else {
            return Err(Error::rejected(
                SERVICE,
                format!("the {what} item names no incident_id"),
            ));
        };
        Ok((id.clone(), self.get(id).await?))
    }

    /// The items under a region whose sort key starts with `prefix`: all,
    /// oldest first, or only the `newest` few, newest first.
    async fn region_items(
        &self,
        region: &str,
        prefix: &str,
        newest: Option<i32>,
    ) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(region_pk(region)))
                .expression_attribute_values(":prefix", s(prefix))
                .scan_index_forward(newest.is_none())
                .set_limit(newest)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify(SERVICE, e))?;
            items.extend(answer.items.unwrap_or_default());
            match answer.last_evaluated_key {
                Some(key) if !key.is_empty() && newest.is_none() => start = Some(key),
                _ => return Ok(items),
            }
        }
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
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let codes: Vec<&str> = cancelled
                        .cancellation_reasons()
                        .iter()
                        .filter_map(|r| r.code())
                        .collect();
                    match cancellation(&codes) {
                        Cancelled::Lost => Ok(false),
                        Cancelled::Passing => Err(Error::unavailable(
                            SERVICE,
                            format!("transaction cancelled: {}", codes.join(", ")),
                        )),
                        Cancelled::Refused => Err(classify(SERVICE, error)),
                    }
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

/// Why a transaction was cancelled, by its items' reasons.
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    /// A condition failed or another transaction got there first: the
    /// caller lost the race (a conflict, for the use case to re-read).
    Lost,
    /// Throttled or briefly unavailable: the same request may pass later.
    Passing,
    /// Anything else (validation, size): repeating will not help.
    Refused,
}

fn cancellation(codes: &[&str]) -> Cancelled {
    if codes
        .iter()
        .any(|c| matches!(*c, "ConditionalCheckFailed" | "TransactionConflict"))
    {
        Cancelled::Lost
    } else if codes.iter().any(|c| {
        matches!(
            *c,
            "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded"
        )
    }) {
        Cancelled::Passing
    } else {
        Cancelled::Refused
    }
}

#[async_trait]
impl IncidentStore for DynamoIncidentStore {
    async fn lease(&self, region: &str, lane: Lane) -> Result<Lease> {
        let Some(lease) = self.get_item(lease_key(region, lane)).await? else {
            return Ok(Lease::Free);
        };
        let (incident_id, incident) = self
            .named_by(&lease, &format!("{} lease of {region}", lane.as_str()))
            .await?;
        Ok(match incident {
            Some(incident) if incident.phase.is_open() => Lease::Held(Box::new(incident)),
            incident => Lease::Dangling {
                incident_id,
                incident: incident.map(Box::new),
            },
        })
    }

    async fn release(&self, region: &str, lane: Lane, incident_id: &str) -> Result<bool> {
        let release = self.delete(
            lease_key(region, lane),
            Some(("incident_id = :id", ":id", s(incident_id))),
        )?;
        self.transact(vec![release]).await
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
        let mut lease = lease_key(&incident.region, incident.lane());
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
        match self.lease(&incident.region, incident.lane()).await? {
            Lease::Held(holder) => Ok(Opened::Existing(holder)),
            Lease::Free | Lease::Dangling { .. } => Err(Error::Conflict(format!(
                "the lease of {} changed while opening an incident",
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
        let (region, lane) = (stored.region.as_str(), stored.lane());
        if let (true, Some(closed_at)) = (stored.is_closing(), stored.closed_at) {
            // Closed: the region is free in the same write, whatever the
            // outbox holds (the reconciler delivers it).
            items.push(self.delete(
                lease_key(region, lane),
                Some((
                    "attribute_not_exists(pk) OR incident_id = :id",
                    ":id",
                    s(&stored.id),
                )),
            )?);
            let mut closed = closed_key(region, lane, closed_at, &stored.id);
            closed.insert("incident_id".into(), s(&stored.id));
            closed.insert("expires_at".into(), self.expiry(closed_at));
            items.push(self.put(closed, None)?);
        }
        if stored.outbox.is_empty() {
            items.push(self.delete(outbox_key(region, &stored.id), None)?);
        } else {
            let mut marker = outbox_key(region, &stored.id);
            marker.insert("incident_id".into(), s(&stored.id));
            marker.insert("expires_at".into(), self.expiry(stored.updated_at));
            items.push(self.put(marker, None)?);
        }
        for entry in entries {
            items.push(self.entry_put(entry)?);
        }
        // One item per action that may have acted (applied, or dropped after
        // an invocation that may have applied it died) under the region, so
        // the guardrails count a region's actions across incidents (same
        // key: rewriting is a no-op).
        for action in stored.actions.iter().filter(|a| a.may_have_acted()) {
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

    async fn actions_since(
        &self,
        region: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(region_pk(region)))
            .expression_attribute_values(":from", s(format!("ACTION#{}", stamp(since))))
            .expression_attribute_values(":to", s("ACTION#~"))
            .projection_expression("sk")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(SERVICE, e))?;
        Ok(answer
            .items()
            .iter()
            .filter_map(|item| match item.get("sk") {
                Some(AttributeValue::S(sk)) => action_time(sk),
                _ => None,
            })
            .collect())
    }

    async fn undelivered(&self, region: &str) -> Result<Vec<Incident>> {
        let mut incidents = Vec::new();
        for marker in self.region_items(region, "OUTBOX#", None).await? {
            if let (_, Some(incident)) = self.named_by(&marker, "outbox").await?
                && !incident.outbox.is_empty()
            {
                incidents.push(incident);
            }
        }
        Ok(incidents)
    }

    async fn last_closed(&self, region: &str, lane: Lane) -> Result<Option<Incident>> {
        let newest = self
            .region_items(region, &closed_prefix(lane), Some(1))
            .await?;
        match newest.first() {
            Some(closed) => Ok(self.named_by(closed, "closed incident").await?.1),
            None => Ok(None),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_reasons_say_whether_a_retry_helps() {
        for (codes, expected) in [
            (&["None", "ConditionalCheckFailed"][..], Cancelled::Lost),
            (&["TransactionConflict"][..], Cancelled::Lost),
            (&["None", "ThrottlingError"][..], Cancelled::Passing),
            (&["ProvisionedThroughputExceeded"][..], Cancelled::Passing),
            (&["ValidationError"][..], Cancelled::Refused),
            (&["ItemCollectionSizeLimitExceeded"][..], Cancelled::Refused),
        ] {
            assert_eq!(cancellation(codes), expected, "{codes:?}");
        }
    }

    #[test]
    fn action_keys_read_back_as_their_time() {
        let at: DateTime<Utc> = "2026-11-22T10:15:00.123Z".parse().unwrap();
        let key = action_key("us-east-1", at, "us-east-1-20261122-101500-abc");
        let Some(AttributeValue::S(sk)) = key.get("sk") else {
            panic!("{key:?}");
        };
        assert_eq!(action_time(sk), Some(at));
        assert_eq!(action_time("ACTION#garbage"), None);
    }
}
