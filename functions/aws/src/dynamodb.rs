//! Incidents, leases and timelines in one DynamoDB table (see docs/contracts.md).
//!
//! Every write that moves an incident is one transaction conditional on the
//! version read, so concurrent triggers cannot both win and a function that
//! dies between two steps leaves a consistent record for the next one.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use failover_core::app::ports::{ActionSlot, IncidentStore, Lease, Opened};
use failover_core::model::incident::{Incident, Lane, TimelineEntry};
use failover_core::{Error, Result};

use crate::sdk_error::{Class, classified, classify};

pub(crate) const SERVICE: &str = "DynamoDB";
pub(crate) type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoIncidentStore {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
    retention: Duration,
}

pub(crate) fn region_pk(region: &str) -> String {
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

pub(crate) fn closed_prefix(lane: Lane) -> String {
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

pub(crate) fn stamp(at: DateTime<Utc>) -> String {
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

pub(crate) fn key(pk: String, sk: String) -> Item {
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
            retention,
        }
    }

    /// When DynamoDB may delete an item written for `from` (its TTL).
    pub(crate) fn expiry(&self, from: DateTime<Utc>) -> Result<AttributeValue> {
        chrono::Duration::from_std(self.retention)
            .ok()
            .and_then(|retention| from.checked_add_signed(retention))
            .map(|expires| n(expires.timestamp()))
            .ok_or_else(|| {
                Error::Config(format!(
                    "the retention (RETENTION_DAYS) of {} days puts the expiry of an item of {from} past the last date that can be stored",
                    self.retention.as_secs() / 86_400
                ))
            })
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
            item.insert("expires_at".into(), self.expiry(closed)?);
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
        item.insert("expires_at".into(), self.expiry(entry.at)?);
        Ok(item)
    }

    pub(crate) fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem> {
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
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(region_pk(region)))
            .expression_attribute_values(":prefix", s(prefix))
            .scan_index_forward(newest.is_none())
            .set_limit(newest)
            .consistent_read(true);
        // The newest `n` are the first page; otherwise every page.
        query_items(query, newest.is_none()).await
    }

    /// Runs a transaction; `Ok(false)` when a condition failed or another
    /// transaction got in the way.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool> {
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
                        // A 400 the classifier would call a refusal.
                        Cancelled::Passing => Err(classified(SERVICE, error, Class::Unavailable)),
                        Cancelled::Refused => Err(classify(SERVICE, error)),
                    }
                }
                _ => Err(classify(SERVICE, error)),
            },
        }
    }

    /// Opens the table's connection at the cold start: a read of `region`'s
    /// live lease (every function may read the table), its answer dropped.
    pub(crate) async fn warm_up(&self, region: &str) -> Result<()> {
        self.get_item(lease_key(region, Lane::Live)).await.map(drop)
    }

    pub(crate) async fn get_item(&self, key: Item) -> Result<Option<Item>> {
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
            closed.insert("expires_at".into(), self.expiry(closed_at)?);
            items.push(self.put(closed, None)?);
        }
        if stored.outbox.is_empty() {
            items.push(self.delete(outbox_key(region, &stored.id), None)?);
        } else {
            let mut marker = outbox_key(region, &stored.id);
            marker.insert("incident_id".into(), s(&stored.id));
            marker.insert("expires_at".into(), self.expiry(stored.updated_at)?);
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
            item.insert("expires_at".into(), self.expiry(action.at)?);
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

    async fn claim_action_slot(
        &self,
        region: &str,
        at: DateTime<Utc>,
        spread: Duration,
    ) -> Result<ActionSlot> {
        self.take_action_slot(region, at, spread).await
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
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(PutItemError::is_conditional_check_failed_exception)
                {
                    Error::Conflict(format!("timeline entry {} exists", entry.id))
                } else {
                    classify(SERVICE, e)
                }
            })?;
        Ok(())
    }
}

/// The items `query` finds: its first page only, or every page.
pub(crate) async fn query_items(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    every_page: bool,
) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let answer = query
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| classify(SERVICE, e))?;
        items.extend(answer.items.unwrap_or_default());
        match answer.last_evaluated_key {
            Some(key) if !key.is_empty() && every_page => start = Some(key),
            _ => return Ok(items),
        }
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

#[cfg(test)]
mod contract_tests {
    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
    use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
    use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
    use aws_sdk_dynamodb::operation::transact_write_items::{
        TransactWriteItemsInput, TransactWriteItemsOutput,
    };
    use aws_smithy_mocks::{MockResponse, Rule, mock};
    use failover_core::model::incident::{Action, EntryKind};
    use failover_core::model::remedy::Remedy;

    use super::*;
    use crate::sdk_mock::{
        FAILURE_MESSAGE, Failure, Requests, assert_failed_as, failures, http, json_error,
        mocked_client, unreachable_client,
    };

    const TABLE: &str = "failover-incidents";
    const RETENTION: Duration = Duration::from_secs(90 * 86_400);
    const ID: &str = "us-east-1-20261122-101500-3f9a2c1b";
    const OTHER: &str = "us-east-1-20261122-091500-77aa01bc";

    fn store(client: Client) -> DynamoIncidentStore {
        DynamoIncidentStore::new(client, TABLE, RETENTION)
    }

    fn time(at: &str) -> DateTime<Utc> {
        at.parse().unwrap()
    }

    fn epoch(at: &str) -> AttributeValue {
        AttributeValue::N(time(at).timestamp().to_string())
    }

    fn item(attributes: &[(&str, AttributeValue)]) -> Item {
        attributes
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    fn incident(id: &str, phase: &str) -> Incident {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "region": "us-east-1",
            "phase": phase,
            "dry_run": false,
            "trigger": {
                "source": "alarm_action",
                "alarm_name": "failover-health-us-east-1",
                "reason": "Threshold Crossed: 1 datapoint [0.0] was less than 1.0",
            },
            "opened_by": "3f9a2c1b-5d7e-4f00-9c3a-0e1d2c3b4a59",
            "detected_at": "2026-11-22T10:15:00Z",
            "updated_at": "2026-11-22T10:15:00Z",
            "version": 0,
        }))
        .unwrap()
    }

    /// The incident as the table holds it.
    fn stored(incident: &Incident) -> Item {
        let mut item: Item = serde_dynamo::to_item(incident).unwrap();
        item.insert("pk".into(), s(format!("INCIDENT#{}", incident.id)));
        item.insert("sk".into(), s("INCIDENT"));
        item
    }

    fn entry(at: &str, id: &str) -> TimelineEntry {
        TimelineEntry {
            incident_id: ID.into(),
            id: id.into(),
            at: time(at),
            kind: EntryKind::Detected,
            message: "alarm failover-health-us-east-1 is ALARM".into(),
        }
    }

    fn put(item: Item, condition: Option<&str>) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(TABLE)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .unwrap();
        TransactWriteItem::builder().put(put).build()
    }

    fn delete(key: Item, condition: Option<(&str, &str, AttributeValue)>) -> TransactWriteItem {
        let mut delete = Delete::builder().table_name(TABLE).set_key(Some(key));
        if let Some((expression, name, value)) = condition {
            delete = delete
                .condition_expression(expression)
                .expression_attribute_values(name, value);
        }
        TransactWriteItem::builder()
            .delete(delete.build().unwrap())
            .build()
    }

    fn get_request(key: Item) -> GetItemInput {
        GetItemInput::builder()
            .table_name(TABLE)
            .set_key(Some(key))
            .consistent_read(true)
            .build()
            .unwrap()
    }

    fn get_answer(requests: &Requests<GetItemInput>, found: Option<Item>) -> Rule {
        mock!(Client::get_item).then_compute_response(requests.answer(move || {
            MockResponse::Output(GetItemOutput::builder().set_item(found.clone()).build())
        }))
    }

    fn committed(requests: &Requests<TransactWriteItemsInput>) -> Rule {
        mock!(Client::transact_write_items).then_compute_response(
            requests.answer(|| MockResponse::Output(TransactWriteItemsOutput::builder().build())),
        )
    }

    /// A transaction DynamoDB cancelled, one reason per item, as it sends it.
    fn cancelled(reasons: &'static [&'static str]) -> Rule {
        mock!(Client::transact_write_items).then_http_response(move || {
            let body = serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": format!(
                    "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                    reasons.join(", ")
                ),
                "CancellationReasons": reasons
                    .iter()
                    .map(|code| serde_json::json!({"Code": code}))
                    .collect::<Vec<_>>(),
            });
            http(400, &body.to_string())
        })
    }

    fn transaction(requests: &Requests<TransactWriteItemsInput>) -> Vec<TransactWriteItem> {
        requests.only().transact_items.unwrap_or_default()
    }

    #[tokio::test]
    async fn opening_takes_the_lane_s_lease_and_stores_the_incident_and_its_first_entry_at_once() {
        for (dry_run, lease) in [(false, "LEASE"), (true, "LEASE#DRY_RUN")] {
            let mut opened = incident(ID, "confirming");
            opened.dry_run = dry_run;
            let first = entry("2026-11-22T10:15:00.250Z", "e1");
            let requests = Requests::new();
            let write = committed(&requests);

            let answer = store(mocked_client!(aws_sdk_dynamodb, [&write]))
                .open(&opened, &first)
                .await;

            assert_eq!(answer, Ok(Opened::New), "{lease}");
            let lease_item = item(&[
                ("pk", s("REGION#us-east-1")),
                ("sk", s(lease)),
                ("incident_id", s(ID)),
                ("acquired_at", s("2026-11-22T10:15:00+00:00")),
            ]);
            let entry_item = item(&[
                ("pk", s(format!("INCIDENT#{ID}"))),
                ("sk", s("TIMELINE#2026-11-22T10:15:00.250Z#e1")),
                ("incident_id", s(ID)),
                ("id", s("e1")),
                ("at", s("2026-11-22T10:15:00.250Z")),
                ("kind", s("detected")),
                ("message", s("alarm failover-health-us-east-1 is ALARM")),
                ("expires_at", epoch("2027-02-20T10:15:00Z")),
            ]);
            assert_eq!(
                transaction(&requests),
                vec![
                    put(lease_item, Some("attribute_not_exists(pk)")),
                    // Open: no expiry.
                    put(stored(&opened), Some("attribute_not_exists(pk)")),
                    put(entry_item, Some("attribute_not_exists(pk)")),
                ],
                "{lease}: lease, incident, entry, each only if new"
            );
        }
    }

    #[tokio::test]
    async fn opening_a_region_another_incident_holds_answers_the_holder() {
        let holder = incident(OTHER, "restoring");
        let closed = incident(OTHER, "escalated");
        for (case, found, expected) in [
            (
                "an open holder",
                holder.clone(),
                Ok(Opened::Existing(Box::new(holder.clone()))),
            ),
            (
                "a holder closed meanwhile",
                closed,
                Err(Error::Conflict(
                    "the lease of us-east-1 changed while opening an incident".into(),
                )),
            ),
        ] {
            let reads = Requests::new();
            let lease = item(&[
                ("pk", s("REGION#us-east-1")),
                ("sk", s("LEASE")),
                ("incident_id", s(OTHER)),
            ]);
            let rules = [
                cancelled(&["ConditionalCheckFailed", "None", "None"]),
                get_answer(&reads, Some(lease)),
                get_answer(&reads, Some(stored(&found))),
            ];

            let answer = store(mocked_client!(aws_sdk_dynamodb, &rules))
                .open(
                    &incident(ID, "confirming"),
                    &entry("2026-11-22T10:15:00Z", "e1"),
                )
                .await;

            assert_eq!(answer, expected, "{case}");
            assert_eq!(
                reads.all(),
                vec![
                    get_request(item(&[("pk", s("REGION#us-east-1")), ("sk", s("LEASE"))])),
                    get_request(item(&[
                        ("pk", s(format!("INCIDENT#{OTHER}"))),
                        ("sk", s("INCIDENT")),
                    ])),
                ],
                "{case}: the lease, then the incident it names"
            );
        }
    }

    #[tokio::test]
    async fn the_warm_up_reads_one_lease_and_passes_on_what_it_found() {
        let reads = Requests::new();
        let rules = [
            get_answer(&reads, None),
            mock!(Client::get_item)
                .then_http_response(|| json_error(400, "AccessDeniedException", "not authorized")),
        ];
        let store = store(mocked_client!(aws_sdk_dynamodb, &rules));

        assert_eq!(store.warm_up("us-east-1").await, Ok(()));
        assert!(
            store.warm_up("us-east-1").await.is_err(),
            "a refusal is the caller's to log"
        );
        assert_eq!(
            reads.all(),
            [get_request(item(&[
                ("pk", s("REGION#us-east-1")),
                ("sk", s("LEASE"))
            ]))],
            "one consistent read of the live lease"
        );
    }

    #[tokio::test]
    async fn an_update_writes_the_next_version_only_over_the_version_read() {
        let mut open = incident(ID, "restoring");
        open.version = 3;
        open.updated_at = time("2026-11-22T10:20:00Z");
        open.outbox = vec![
            serde_json::from_value(serde_json::json!({
                "id": format!("{ID}/v4"),
                "created_at": "2026-11-22T10:20:00Z",
                "incident_id": ID,
                "region": "us-east-1",
                "phase": "restoring",
                "severity": "info",
                "subject": "[INFO] us-east-1: platform restarted",
                "body": "restarted",
            }))
            .unwrap(),
        ];
        let requests = Requests::new();
        let write = committed(&requests);

        let answer = store(mocked_client!(aws_sdk_dynamodb, [&write]))
            .update(&open, &[entry("2026-11-22T10:20:00Z", "e7")])
            .await;

        let next = Incident {
            version: 4,
            ..open.clone()
        };
        assert_eq!(answer, Ok(next.clone()), "the stored copy, next version");
        let incident_put = Put::builder()
            .table_name(TABLE)
            .set_item(Some(stored(&next)))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", AttributeValue::N("3".into()))
            .build()
            .unwrap();
        let outbox_marker = item(&[
            ("pk", s("REGION#us-east-1")),
            ("sk", s(format!("OUTBOX#{ID}"))),
            ("incident_id", s(ID)),
            ("expires_at", epoch("2027-02-20T10:20:00Z")),
        ]);
        let writes = transaction(&requests);
        assert_eq!(
            writes.first(),
            Some(&TransactWriteItem::builder().put(incident_put).build()),
            "the incident, conditional on the version read"
        );
        assert_eq!(
            writes.get(1),
            Some(&put(outbox_marker, None)),
            "the outbox marker"
        );
        assert_eq!(
            writes.len(),
            3,
            "incident, outbox marker, entry: {writes:?}"
        );
        assert_eq!(
            writes[2].put().and_then(|p| p.item().get("sk")),
            Some(&s("TIMELINE#2026-11-22T10:20:00.000Z#e7")),
            "the entry, last"
        );
    }

    #[tokio::test]
    async fn the_write_that_closes_an_incident_frees_the_region_and_files_it_as_closed() {
        let closed_at = time("2026-11-22T10:30:00Z");
        let mut closing = incident(ID, "escalated");
        closing.version = 5;
        closing.closed_at = Some(closed_at);
        closing.updated_at = closed_at;
        let action = |at: &str, applied: bool, dry_run: bool, dropped: bool| Action {
            applied,
            dropped,
            ..Action::decided(time(at), Remedy::RolloutRestart, dry_run)
        };
        closing.actions = vec![
            action("2026-11-22T10:20:00Z", true, false, false),
            action("2026-11-22T10:22:00Z", false, true, false),
            action("2026-11-22T10:25:00Z", false, false, true),
            action("2026-11-22T10:28:00Z", false, false, false),
        ];
        let requests = Requests::new();
        let write = committed(&requests);

        let answer = store(mocked_client!(aws_sdk_dynamodb, [&write]))
            .update(&closing, &[])
            .await;

        let next = Incident {
            version: 6,
            ..closing.clone()
        };
        assert_eq!(answer, Ok(next.clone()), "the stored copy, next version");
        let mut incident_item = stored(&next);
        incident_item.insert("expires_at".into(), epoch("2027-02-20T10:30:00Z"));
        let incident_put = Put::builder()
            .table_name(TABLE)
            .set_item(Some(incident_item))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", AttributeValue::N("5".into()))
            .build()
            .unwrap();
        let action_item = |at: &str, expires: &str| {
            item(&[
                ("pk", s("REGION#us-east-1")),
                ("sk", s(format!("ACTION#{at}#{ID}"))),
                ("incident_id", s(ID)),
                ("expires_at", epoch(expires)),
            ])
        };
        assert_eq!(
            transaction(&requests),
            vec![
                TransactWriteItem::builder().put(incident_put).build(),
                delete(
                    item(&[("pk", s("REGION#us-east-1")), ("sk", s("LEASE"))]),
                    Some((
                        "attribute_not_exists(pk) OR incident_id = :id",
                        ":id",
                        s(ID)
                    )),
                ),
                put(
                    item(&[
                        ("pk", s("REGION#us-east-1")),
                        (
                            "sk",
                            s(format!("CLOSED#live#2026-11-22T10:30:00.000Z#{ID}"))
                        ),
                        ("incident_id", s(ID)),
                        ("expires_at", epoch("2027-02-20T10:30:00Z")),
                    ]),
                    None
                ),
                delete(
                    item(&[
                        ("pk", s("REGION#us-east-1")),
                        ("sk", s(format!("OUTBOX#{ID}"))),
                    ]),
                    None
                ),
                // Only the actions that may have changed the platform:
                // applied, or dropped after a death that may have applied it.
                put(
                    action_item("2026-11-22T10:20:00.000Z", "2027-02-20T10:20:00Z"),
                    None
                ),
                put(
                    action_item("2026-11-22T10:25:00.000Z", "2027-02-20T10:25:00Z"),
                    None
                ),
            ],
            "incident, lease released, closed pointer, outbox cleared, actions"
        );
    }

    #[tokio::test]
    async fn an_update_over_a_version_someone_else_wrote_is_a_conflict() {
        let mut open = incident(ID, "confirmed");
        open.version = 2;
        let rules = [cancelled(&["ConditionalCheckFailed", "None"])];

        let answer = store(mocked_client!(aws_sdk_dynamodb, &rules))
            .update(&open, &[])
            .await;

        assert_eq!(
            answer,
            Err(Error::Conflict(format!(
                "incident {ID} changed since version 2 was read"
            ))),
            "a lost race, for the use case to read again"
        );
    }

    #[tokio::test]
    async fn a_release_deletes_the_lease_only_while_it_names_the_incident() {
        for (lane, sk) in [(Lane::Live, "LEASE"), (Lane::DryRun, "LEASE#DRY_RUN")] {
            let requests = Requests::new();
            let write = committed(&requests);

            let released = store(mocked_client!(aws_sdk_dynamodb, [&write]))
                .release("eu-west-1", lane, ID)
                .await;

            assert_eq!(released, Ok(true), "{sk}");
            assert_eq!(
                transaction(&requests),
                vec![delete(
                    item(&[("pk", s("REGION#eu-west-1")), ("sk", s(sk))]),
                    Some(("incident_id = :id", ":id", s(ID))),
                )],
                "{sk}"
            );
        }
    }

    #[tokio::test]
    async fn each_cancellation_reason_says_lost_race_passing_or_refused() {
        let lost = Ok(false);
        for (reasons, expected) in [
            (&["ConditionalCheckFailed"][..], lost),
            (&["TransactionConflict"][..], lost),
            (&["None", "ConditionalCheckFailed"][..], lost),
            (&["ThrottlingError"][..], Err("UpstreamUnavailable")),
            (
                &["None", "ProvisionedThroughputExceeded"][..],
                Err("UpstreamUnavailable"),
            ),
            (&["RequestLimitExceeded"][..], Err("UpstreamUnavailable")),
            (&["ValidationError"][..], Err("UpstreamRejected")),
            (
                &["ItemCollectionSizeLimitExceeded"][..],
                Err("UpstreamRejected"),
            ),
        ] {
            let reasons: &'static [&'static str] = reasons;
            let rules = [cancelled(reasons)];

            let released = store(mocked_client!(aws_sdk_dynamodb, &rules))
                .release("us-east-1", Lane::Live, ID)
                .await;

            match (&released, expected) {
                (Ok(got), Ok(want)) => assert_eq!(*got, want, "{reasons:?}"),
                (Err(error), Err(kind)) => {
                    assert_eq!(error.kind(), kind, "{reasons:?}: {error}");
                    let chain = error.chain();
                    assert!(
                        chain.contains("TransactionCanceledException")
                            && reasons.iter().all(|reason| chain.contains(reason)),
                        "{reasons:?}: the chain names the reasons: {chain}"
                    );
                }
                (got, want) => panic!("{reasons:?}: {got:?}, expected {want:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_lease_reads_as_free_held_or_dangling() {
        let lease_naming = |id: &str| {
            item(&[
                ("pk", s("REGION#us-east-1")),
                ("sk", s("LEASE#DRY_RUN")),
                ("incident_id", s(id)),
            ])
        };
        let open = incident(ID, "confirmed");
        let closed = incident(ID, "recovered");
        for (case, lease, named, expected) in [
            ("no lease", None, None, Lease::Free),
            (
                "an open incident's",
                Some(lease_naming(ID)),
                Some(Some(stored(&open))),
                Lease::Held(Box::new(open.clone())),
            ),
            (
                "a closed incident's",
                Some(lease_naming(ID)),
                Some(Some(stored(&closed))),
                Lease::Dangling {
                    incident_id: ID.into(),
                    incident: Some(Box::new(closed.clone())),
                },
            ),
            (
                "an expired incident's",
                Some(lease_naming(ID)),
                Some(None),
                Lease::Dangling {
                    incident_id: ID.into(),
                    incident: None,
                },
            ),
        ] {
            let reads = Requests::new();
            let mut rules = vec![get_answer(&reads, lease)];
            if let Some(incident) = named {
                rules.push(get_answer(&reads, incident));
            }

            let answer = store(mocked_client!(aws_sdk_dynamodb, &rules))
                .lease("us-east-1", Lane::DryRun)
                .await;

            assert_eq!(answer, Ok(expected), "{case}");
            assert_eq!(
                reads.all().first(),
                Some(&get_request(item(&[
                    ("pk", s("REGION#us-east-1")),
                    ("sk", s("LEASE#DRY_RUN")),
                ]))),
                "{case}"
            );
        }
    }

    #[tokio::test]
    async fn an_item_that_does_not_read_is_refused_naming_it() {
        let reads = Requests::new();
        let nameless = [get_answer(
            &reads,
            Some(item(&[("pk", s("REGION#us-east-1")), ("sk", s("LEASE"))])),
        )];
        let answer = store(mocked_client!(aws_sdk_dynamodb, &nameless))
            .lease("us-east-1", Lane::Live)
            .await;
        assert_eq!(
            answer,
            Err(Error::rejected(
                SERVICE,
                "the live lease of us-east-1 item names no incident_id"
            )),
            "a lease without its incident"
        );

        let mut garbled = stored(&incident(ID, "confirmed"));
        garbled.insert("phase".into(), s("pondering"));
        let unreadable = [get_answer(&reads, Some(garbled))];
        let answer = store(mocked_client!(aws_sdk_dynamodb, &unreadable))
            .get(ID)
            .await;
        assert!(
            matches!(&answer, Err(e) if e.kind() == "UpstreamRejected"
                && e.to_string().contains(&format!("stored incident {ID} is unreadable"))),
            "{answer:?}"
        );
    }

    fn query_answer(requests: &Requests<QueryInput>, items: Vec<Item>, next: Option<Item>) -> Rule {
        mock!(Client::query).then_compute_response(requests.answer(move || {
            MockResponse::Output(
                QueryOutput::builder()
                    .set_items(Some(items.clone()))
                    .set_last_evaluated_key(next.clone())
                    .build(),
            )
        }))
    }

    #[tokio::test]
    async fn the_region_s_actions_are_read_by_their_sort_key_alone() {
        let queries = Requests::new();
        let rules = [query_answer(
            &queries,
            vec![
                item(&[("sk", s(format!("ACTION#2026-11-22T10:20:00.000Z#{ID}")))]),
                item(&[("sk", s("ACTION#not-a-time#x"))]),
                item(&[("sk", s(format!("ACTION#2026-11-22T10:25:00.500Z#{OTHER}")))]),
            ],
            None,
        )];

        let times = store(mocked_client!(aws_sdk_dynamodb, &rules))
            .actions_since("us-east-1", time("2026-11-22T09:30:00Z"))
            .await;

        assert_eq!(
            times,
            Ok(vec![
                time("2026-11-22T10:20:00Z"),
                time("2026-11-22T10:25:00.500Z"),
            ]),
            "an unreadable key is skipped"
        );
        assert_eq!(
            queries.only(),
            QueryInput::builder()
                .table_name(TABLE)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s("REGION#us-east-1"))
                .expression_attribute_values(":from", s("ACTION#2026-11-22T09:30:00.000Z"))
                .expression_attribute_values(":to", s("ACTION#~"))
                .projection_expression("sk")
                .consistent_read(true)
                .build()
                .unwrap(),
            "the region's action keys from `since` on"
        );
    }

    fn region_query(prefix: &str, newest: Option<i32>, start: Option<Item>) -> QueryInput {
        QueryInput::builder()
            .table_name(TABLE)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s("REGION#us-east-1"))
            .expression_attribute_values(":prefix", s(prefix))
            .scan_index_forward(newest.is_none())
            .set_limit(newest)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn undelivered_incidents_are_found_through_every_page_of_outbox_markers() {
        let marker = |id: &str| {
            item(&[
                ("pk", s("REGION#us-east-1")),
                ("sk", s(format!("OUTBOX#{id}"))),
                ("incident_id", s(id)),
            ])
        };
        let mut waiting = incident(ID, "restoring");
        waiting.outbox = vec![
            serde_json::from_value(serde_json::json!({
                "id": format!("{ID}/v2"),
                "created_at": "2026-11-22T10:16:00Z",
                "incident_id": ID,
                "region": "us-east-1",
                "severity": "critical",
                "subject": "[CRITICAL] us-east-1: outage confirmed",
                "body": "confirmed",
            }))
            .unwrap(),
        ];
        // Its marker outlived the delivery.
        let delivered = incident(OTHER, "recovered");
        let (queries, reads) = (Requests::new(), Requests::new());
        let page_end = marker(ID);
        let rules = [
            query_answer(&queries, vec![marker(ID)], Some(page_end.clone())),
            query_answer(&queries, vec![marker(OTHER)], None),
            get_answer(&reads, Some(stored(&waiting))),
            get_answer(&reads, Some(stored(&delivered))),
        ];

        let found = store(mocked_client!(aws_sdk_dynamodb, &rules))
            .undelivered("us-east-1")
            .await;

        assert_eq!(
            found,
            Ok(vec![waiting]),
            "only the incident with notices left"
        );
        assert_eq!(
            queries.all(),
            vec![
                region_query("OUTBOX#", None, None),
                region_query("OUTBOX#", None, Some(page_end)),
            ],
            "oldest first, the second page from where the first ended"
        );
        assert_eq!(
            reads.all(),
            vec![
                get_request(item(&[
                    ("pk", s(format!("INCIDENT#{ID}"))),
                    ("sk", s("INCIDENT"))
                ])),
                get_request(item(&[
                    ("pk", s(format!("INCIDENT#{OTHER}"))),
                    ("sk", s("INCIDENT")),
                ])),
            ],
            "each marker's incident"
        );
    }

    #[tokio::test]
    async fn the_last_closed_incident_is_the_newest_pointer_of_its_lane() {
        let closed = incident(OTHER, "reported");
        let (queries, reads) = (Requests::new(), Requests::new());
        let pointer = item(&[
            ("pk", s("REGION#us-east-1")),
            (
                "sk",
                s(format!("CLOSED#dry_run#2026-11-22T09:40:00.000Z#{OTHER}")),
            ),
            ("incident_id", s(OTHER)),
        ]);
        let rules = [
            query_answer(&queries, vec![pointer], Some(item(&[("pk", s("more"))]))),
            get_answer(&reads, Some(stored(&closed))),
        ];

        let last = store(mocked_client!(aws_sdk_dynamodb, &rules))
            .last_closed("us-east-1", Lane::DryRun)
            .await;

        assert_eq!(last, Ok(Some(closed)), "the incident the pointer names");
        assert_eq!(
            queries.only(),
            region_query("CLOSED#dry_run#", Some(1), None),
            "newest first, one item, no second page"
        );
        assert_eq!(
            reads.only(),
            get_request(item(&[
                ("pk", s(format!("INCIDENT#{OTHER}"))),
                ("sk", s("INCIDENT")),
            ]))
        );

        let none = [query_answer(&queries, vec![], None)];
        let last = store(mocked_client!(aws_sdk_dynamodb, &none))
            .last_closed("us-east-1", Lane::Live)
            .await;
        assert_eq!(last, Ok(None), "a region that never closed one");
    }

    #[tokio::test]
    async fn an_entry_is_appended_only_once() {
        let first = entry("2026-11-22T10:40:00Z", "e9");
        let requests = Requests::new();
        let rules = [
            mock!(Client::put_item).then_compute_response(
                requests.answer(|| MockResponse::Output(PutItemOutput::builder().build())),
            ),
            mock!(Client::put_item).then_http_response(|| {
                json_error(
                    400,
                    "ConditionalCheckFailedException",
                    "The conditional request failed",
                )
            }),
        ];
        let store = store(mocked_client!(aws_sdk_dynamodb, &rules));

        assert_eq!(store.append(&first).await, Ok(()), "the first time");
        assert_eq!(
            store.append(&first).await,
            Err(Error::Conflict("timeline entry e9 exists".into())),
            "the same entry again"
        );
        assert_eq!(
            requests.only(),
            PutItemInput::builder()
                .table_name(TABLE)
                .set_item(Some(item(&[
                    ("pk", s(format!("INCIDENT#{ID}"))),
                    ("sk", s("TIMELINE#2026-11-22T10:40:00.000Z#e9")),
                    ("incident_id", s(ID)),
                    ("id", s("e9")),
                    ("at", s("2026-11-22T10:40:00Z")),
                    ("kind", s("detected")),
                    ("message", s("alarm failover-health-us-east-1 is ALARM")),
                    ("expires_at", epoch("2027-02-20T10:40:00Z")),
                ])))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .unwrap(),
            "the entry, only if new"
        );
    }

    #[tokio::test]
    async fn a_watch_keeps_its_last_state() {
        let key = item(&[("pk", s("WATCH#derp-peers")), ("sk", s("STATE"))]);
        let (reads, writes) = (Requests::new(), Requests::new());
        let mut saved = key.clone();
        saved.insert("state".into(), s("degraded"));
        let rules = [
            get_answer(&reads, Some(saved)),
            get_answer(&reads, None),
            mock!(Client::put_item).then_compute_response(
                writes.answer(|| MockResponse::Output(PutItemOutput::builder().build())),
            ),
        ];
        let store = store(mocked_client!(aws_sdk_dynamodb, &rules));

        assert_eq!(
            store.watch_state("derp-peers").await,
            Ok(Some("degraded".into())),
            "the saved state"
        );
        assert_eq!(
            store.watch_state("derp-peers").await,
            Ok(None),
            "never saved"
        );
        let before = Utc::now();
        assert_eq!(
            store.save_watch_state("derp-peers", "all_online").await,
            Ok(()),
            "saved"
        );

        assert_eq!(
            reads.all(),
            vec![get_request(key.clone()), get_request(key.clone())],
            "both reads of the watch's item"
        );
        let mut written = writes.only();
        let at = match written.item.as_mut().and_then(|item| item.remove("at")) {
            Some(AttributeValue::S(at)) => time(&at),
            other => panic!("no `at` stamp: {other:?}"),
        };
        assert!(
            at >= before - chrono::Duration::milliseconds(1),
            "stamped when saved: {at}"
        );
        let mut expected = key;
        expected.insert("state".into(), s("all_online"));
        assert_eq!(
            written,
            PutItemInput::builder()
                .table_name(TABLE)
                .set_item(Some(expected))
                .build()
                .unwrap(),
            "the watch's item, overwritten whatever it held"
        );
    }

    #[tokio::test]
    async fn a_retention_beyond_the_calendar_is_refused_before_any_write() {
        let store = DynamoIncidentStore::new(
            mocked_client!(aws_sdk_dynamodb, [] as [&Rule; 0]),
            TABLE,
            Duration::MAX,
        );

        let answer = store.append(&entry("2026-11-22T10:40:00Z", "e9")).await;

        assert!(
            matches!(&answer, Err(Error::Config(m)) if m.contains(&format!("{} days", u64::MAX / 86_400))),
            "{answer:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_call_says_whether_a_retry_helps() {
        let mut table = failures(
            "ProvisionedThroughputExceededException",
            "InternalServerError",
            "AccessDeniedException",
        )
        .to_vec();
        table.extend([
            (
                Failure::Answer(400, "ThrottlingException"),
                "UpstreamUnavailable",
            ),
            (
                Failure::Answer(400, "RequestLimitExceeded"),
                "UpstreamUnavailable",
            ),
            (
                Failure::Answer(400, "ResourceNotFoundException"),
                "UpstreamRejected",
            ),
            (
                Failure::Answer(400, "ValidationException"),
                "UpstreamRejected",
            ),
        ]);
        for (failure, kind) in table {
            let answer = move || match failure {
                Failure::Answer(status, code) => json_error(status, code, FAILURE_MESSAGE),
                Failure::Unreachable(_) => unreachable!("never answered"),
            };
            let client = |rule: Rule| match failure {
                Failure::Answer(..) => mocked_client!(aws_sdk_dynamodb, [&rule]),
                Failure::Unreachable(how) => unreachable_client!(aws_sdk_dynamodb, how),
            };
            let get = store(client(mock!(Client::get_item).then_http_response(answer)));
            assert_failed_as(failure, kind, get.get(ID).await);
            let query = store(client(mock!(Client::query).then_http_response(answer)));
            assert_failed_as(failure, kind, query.undelivered("us-east-1").await);
            let put = store(client(mock!(Client::put_item).then_http_response(answer)));
            assert_failed_as(
                failure,
                kind,
                put.append(&entry("2026-11-22T10:40:00Z", "e9")).await,
            );
            let transact = store(client(
                mock!(Client::transact_write_items).then_http_response(answer),
            ));
            assert_failed_as(
                failure,
                kind,
                transact.release("us-east-1", Lane::Live, ID).await,
            );
        }
    }
}
