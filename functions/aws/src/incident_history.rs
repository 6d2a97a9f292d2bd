//! The operator's reads of the incident table (layout in docs/contracts.md):
//! which incidents a region had, by the items the functions already write
//! under it (its leases for the open ones, its `CLOSED#` pointers, sorted by
//! closing time, for the closed ones), and an incident's timeline. Queries
//! by key only, never a Scan.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use failover_core::app::ports::IncidentHistory;
use failover_core::model::incident::{Lane, TimelineEntry};
use failover_core::{Error, Result};

use crate::dynamodb::{
    DynamoIncidentStore, Item, SERVICE, closed_prefix, query_items, region_pk, stamp,
};

/// The operator's reads, beside the functions' own on the same table.
impl DynamoIncidentStore {
    /// Every item of partition `pk` whose sort key lies in `from..=to`.
    async fn range_items(&self, pk: String, from: String, to: String) -> Result<Vec<Item>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":to", AttributeValue::S(to))
            .consistent_read(true);
        query_items(query, true).await
    }
}

/// The sort-key ranges under `REGION#<region>` that name the region's
/// incidents: both leases, and each lane's pointers closed since `since`.
fn region_ranges(since: Option<DateTime<Utc>>) -> Vec<(String, String)> {
    let mut ranges = vec![("LEASE".to_owned(), "LEASE#~".to_owned())];
    for lane in [Lane::Live, Lane::DryRun] {
        let prefix = closed_prefix(lane);
        let from = match since {
            Some(since) => format!("{prefix}{}", stamp(since)),
            None => prefix.clone(),
        };
        ranges.push((from, format!("{prefix}~")));
    }
    ranges
}

#[async_trait]
impl IncidentHistory for DynamoIncidentStore {
    async fn incident_ids(
        &self,
        region: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for (from, to) in region_ranges(since) {
            for item in self.range_items(region_pk(region), from, to).await? {
                match item.get("incident_id") {
                    Some(AttributeValue::S(id)) => ids.push(id.clone()),
                    _ => {
                        return Err(Error::rejected(
                            SERVICE,
                            format!(
                                "an item under REGION#{region} names no incident_id: {:?}",
                                item.get("sk")
                            ),
                        ));
                    }
                }
            }
        }
        Ok(ids)
    }

    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>> {
        let items = self
            .range_items(
                format!("INCIDENT#{incident_id}"),
                "TIMELINE#".into(),
                "TIMELINE#~".into(),
            )
            .await?;
        items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| {
                    Error::rejected(
                        SERVICE,
                        format!("a timeline entry of {incident_id} is unreadable: {e}"),
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod contract_tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
    use aws_smithy_mocks::{MockResponse, Rule, mock};
    use failover_core::model::incident::EntryKind;

    use super::*;
    use crate::sdk_mock::{Requests, mocked_client};

    const TABLE: &str = "failover-incidents";
    const ID: &str = "us-east-1-20261122-101500-3f9a2c1b";

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn page(requests: &Requests<QueryInput>, items: Vec<Item>, next: Option<Item>) -> Rule {
        mock!(Client::query).then_compute_response(requests.answer(move || {
            MockResponse::Output(
                QueryOutput::builder()
                    .set_items(Some(items.clone()))
                    .set_last_evaluated_key(next.clone())
                    .build(),
            )
        }))
    }

    fn pointer(sk: &str, id: &str) -> Item {
        HashMap::from([
            ("pk".into(), s("REGION#us-east-1")),
            ("sk".into(), s(sk)),
            ("incident_id".into(), s(id)),
        ])
    }

    #[tokio::test]
    async fn a_region_s_incidents_are_read_from_its_leases_and_closed_pointers_only() {
        let requests = Requests::new();
        let rules = [
            page(&requests, vec![pointer("LEASE", "open-1")], None),
            page(
                &requests,
                vec![pointer(
                    "CLOSED#live#2026-11-22T10:20:00.000Z#closed-1",
                    "closed-1",
                )],
                Some(HashMap::from([("pk".into(), s("next"))])),
            ),
            page(
                &requests,
                vec![pointer(
                    "CLOSED#live#2026-11-22T11:20:00.000Z#closed-2",
                    "closed-2",
                )],
                None,
            ),
            page(&requests, vec![], None),
        ];
        let history = DynamoIncidentStore::new(
            mocked_client!(aws_sdk_dynamodb, &rules),
            TABLE,
            std::time::Duration::from_secs(3600),
        );
        let since: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();

        let ids = history
            .incident_ids("us-east-1", Some(since))
            .await
            .unwrap();

        assert_eq!(ids, ["open-1", "closed-1", "closed-2"]);
        let ranges: Vec<(String, String)> = requests
            .all()
            .iter()
            .map(|q| {
                let values = q.expression_attribute_values().unwrap();
                assert_eq!(q.table_name(), Some(TABLE));
                assert_eq!(values[":pk"], s("REGION#us-east-1"));
                assert_eq!(
                    q.key_condition_expression(),
                    Some("pk = :pk AND sk BETWEEN :from AND :to")
                );
                let text = |k: &str| values[k].as_s().unwrap().clone();
                (text(":from"), text(":to"))
            })
            .collect();
        assert_eq!(
            ranges,
            [
                ("LEASE".to_owned(), "LEASE#~".to_owned()),
                (
                    "CLOSED#live#2026-11-22T10:00:00.000Z".to_owned(),
                    "CLOSED#live#~".to_owned()
                ),
                (
                    "CLOSED#live#2026-11-22T10:00:00.000Z".to_owned(),
                    "CLOSED#live#~".to_owned()
                ),
                (
                    "CLOSED#dry_run#2026-11-22T10:00:00.000Z".to_owned(),
                    "CLOSED#dry_run#~".to_owned()
                ),
            ],
            "every page of each range"
        );
    }

    #[tokio::test]
    async fn a_timeline_reads_back_as_entries() {
        let requests = Requests::new();
        let entry = TimelineEntry {
            incident_id: ID.into(),
            id: "n-001".into(),
            at: "2026-11-22T10:15:00Z".parse().unwrap(),
            kind: EntryKind::Detected,
            message: "detected".into(),
        };
        let mut item: Item = serde_dynamo::to_item(&entry).unwrap();
        item.insert("pk".into(), s(&format!("INCIDENT#{ID}")));
        item.insert("sk".into(), s("TIMELINE#2026-11-22T10:15:00.000Z#n-001"));
        let broken = HashMap::from([("kind".into(), s("detected"))]);
        let rules = [
            page(&requests, vec![item], None),
            page(&requests, vec![broken], None),
        ];
        let history = DynamoIncidentStore::new(
            mocked_client!(aws_sdk_dynamodb, &rules),
            TABLE,
            std::time::Duration::from_secs(3600),
        );

        assert_eq!(history.timeline(ID).await.unwrap(), [entry]);
        let error = history.timeline(ID).await.unwrap_err();
        assert_eq!(error.kind(), "UpstreamRejected");
        assert!(error.to_string().contains(ID), "{error}");
        let first = &requests.all()[0];
        let values = first.expression_attribute_values().unwrap();
        assert_eq!(values[":pk"], s(&format!("INCIDENT#{ID}")));
        assert_eq!(values[":from"], s("TIMELINE#"));
    }
}
