//! The action slot in the incident table: one item, `ACTIONS` / `SLOT`,
//! naming the region last acted on and when. Taking it is one conditional
//! put, so of two regions restored at the same moment only one acts; the
//! other reads who holds it and waits out the spread.

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use failover_core::app::ports::ActionSlot;
use failover_core::{Error, Result};

use crate::dynamodb::{DynamoIncidentStore, Item, SERVICE, key, stamp};
use crate::sdk_error::classify;

fn slot_key() -> Item {
    key("ACTIONS".into(), "SLOT".into())
}

fn millis(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp_millis().to_string())
}

impl DynamoIncidentStore {
    pub(crate) async fn take_action_slot(
        &self,
        region: &str,
        at: DateTime<Utc>,
        spread: Duration,
    ) -> Result<ActionSlot> {
        let spread = chrono::Duration::from_std(spread)
            .map_err(|e| Error::Internal(format!("the spread {spread:?}: {e}")))?;
        let mut item = slot_key();
        item.insert("region".into(), AttributeValue::S(region.to_owned()));
        item.insert("at".into(), AttributeValue::S(stamp(at)));
        item.insert("at_ms".into(), millis(at));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR at_ms <= :before OR #region = :region",
            )
            .expression_attribute_names("#region", "region")
            .expression_attribute_values(":before", millis(at - spread))
            .expression_attribute_values(":region", AttributeValue::S(region.to_owned()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(ActionSlot::Claimed),
            Err(e)
                if e.as_service_error()
                    .is_some_and(PutItemError::is_conditional_check_failed_exception) =>
            {
                self.slot_holder().await
            }
            Err(e) => Err(classify(SERVICE, e)),
        }
    }

    /// Who holds the slot, read after a claim was refused.
    async fn slot_holder(&self) -> Result<ActionSlot> {
        let unreadable = |what: &str| {
            Error::Conflict(format!(
                "the action slot ACTIONS/SLOT changed while it was claimed: {what}"
            ))
        };
        let item = self
            .get_item(slot_key())
            .await?
            .ok_or_else(|| unreadable("it is gone"))?;
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(value)) => Some(value.clone()),
            _ => None,
        };
        let region = text("region").ok_or_else(|| unreadable("no region"))?;
        let at = text("at")
            .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
            .ok_or_else(|| unreadable("no time"))?
            .with_timezone(&Utc);
        Ok(ActionSlot::Held { region, at })
    }
}

#[cfg(test)]
mod contract_tests {
    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
    use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
    use aws_smithy_mocks::{MockResponse, Rule, mock};
    use failover_core::app::ports::IncidentStore;

    use super::*;
    use crate::sdk_mock::{
        FAILURE_MESSAGE, Failure, Requests, assert_failed_as, failures, json_error, mocked_client,
        unreachable_client,
    };

    const TABLE: &str = "failover-incidents";

    fn store(client: Client) -> DynamoIncidentStore {
        DynamoIncidentStore::new(client, TABLE, Duration::from_secs(90 * 86_400))
    }

    fn at() -> DateTime<Utc> {
        "2026-11-22T10:15:00Z".parse().unwrap()
    }

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn refused() -> Rule {
        mock!(Client::put_item).then_http_response(|| {
            json_error(
                400,
                "ConditionalCheckFailedException",
                "The conditional request failed",
            )
        })
    }

    #[tokio::test]
    async fn the_slot_is_taken_by_one_conditional_put() {
        let writes = Requests::new();
        let rules = [mock!(Client::put_item).then_compute_response(
            writes.answer(|| MockResponse::Output(PutItemOutput::builder().build())),
        )];
        let answer = store(mocked_client!(aws_sdk_dynamodb, &rules))
            .claim_action_slot("eu-west-1", at(), Duration::from_secs(30))
            .await;

        assert_eq!(answer, Ok(ActionSlot::Claimed));
        let mut item = slot_key();
        item.insert("region".into(), s("eu-west-1"));
        item.insert("at".into(), s(&stamp(at())));
        item.insert("at_ms".into(), millis(at()));
        assert_eq!(
            writes.only(),
            PutItemInput::builder()
                .table_name(TABLE)
                .set_item(Some(item))
                .condition_expression(
                    "attribute_not_exists(pk) OR at_ms <= :before OR #region = :region"
                )
                .expression_attribute_names("#region", "region")
                .expression_attribute_values(
                    ":before",
                    millis(at() - chrono::Duration::seconds(30))
                )
                .expression_attribute_values(":region", s("eu-west-1"))
                .build()
                .unwrap(),
            "free, older than the spread, or this region's own"
        );
    }

    #[tokio::test]
    async fn a_slot_another_region_holds_is_answered_with_who_and_when() {
        let reads: Requests<GetItemInput> = Requests::new();
        let mut held = slot_key();
        held.insert("region".into(), s("us-east-1"));
        held.insert("at".into(), s("2026-11-22T10:14:50.000Z"));
        held.insert("at_ms".into(), AttributeValue::N("0".into()));
        let rules = [
            refused(),
            mock!(Client::get_item).then_compute_response(reads.answer(move || {
                MockResponse::Output(
                    GetItemOutput::builder()
                        .set_item(Some(held.clone()))
                        .build(),
                )
            })),
        ];
        let answer = store(mocked_client!(aws_sdk_dynamodb, &rules))
            .claim_action_slot("eu-west-1", at(), Duration::from_secs(30))
            .await;

        assert_eq!(
            answer,
            Ok(ActionSlot::Held {
                region: "us-east-1".into(),
                at: "2026-11-22T10:14:50Z".parse().unwrap(),
            })
        );
        assert_eq!(
            reads.only(),
            GetItemInput::builder()
                .table_name(TABLE)
                .set_key(Some(slot_key()))
                .consistent_read(true)
                .build()
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_holder_that_cannot_be_read_is_a_conflict_to_retry() {
        let cases: [(&str, Option<Item>); 2] = [
            ("gone", None),
            ("no time", {
                let mut item = slot_key();
                item.insert("region".into(), s("us-east-1"));
                Some(item)
            }),
        ];
        for (what, found) in cases {
            let rules = [
                refused(),
                mock!(Client::get_item)
                    .then_output(move || GetItemOutput::builder().set_item(found.clone()).build()),
            ];
            let answer = store(mocked_client!(aws_sdk_dynamodb, &rules))
                .claim_action_slot("eu-west-1", at(), Duration::from_secs(30))
                .await;
            assert!(
                matches!(&answer, Err(Error::Conflict(m)) if m.contains(what)),
                "{what}: {answer:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_failed_claim_says_whether_a_retry_helps() {
        for (failure, kind) in failures(
            "ProvisionedThroughputExceededException",
            "InternalServerError",
            "AccessDeniedException",
        ) {
            let answer = match &failure {
                Failure::Unreachable(unreachable) => {
                    store(unreachable_client!(aws_sdk_dynamodb, unreachable))
                        .claim_action_slot("eu-west-1", at(), Duration::from_secs(30))
                        .await
                }
                Failure::Answer(status, code) => {
                    let (status, code) = (*status, *code);
                    let rules = [mock!(Client::put_item)
                        .then_http_response(move || json_error(status, code, FAILURE_MESSAGE))];
                    store(mocked_client!(aws_sdk_dynamodb, &rules))
                        .claim_action_slot("eu-west-1", at(), Duration::from_secs(30))
                        .await
                }
            };
            assert_failed_as(failure, kind, answer);
        }
    }
}
