//! The readiness reports in the incident table, stored as incidents are
//! (the report's fields as attributes): the latest under `READINESS` /
//! `LATEST`, which the next evaluation compares with, and each one under
//! `READINESS` / `REPORT#<evaluated_at>`, kept as long as incidents are.

use async_trait::async_trait;
use failover_core::app::ports::ReadinessReports;
use failover_core::model::readiness::Report;
use failover_core::{Error, Result};

use crate::dynamodb::{DynamoIncidentStore, Item, SERVICE, key, stamp};

const PK: &str = "READINESS";
const LATEST: &str = "LATEST";

fn latest_key() -> Item {
    key(PK.to_owned(), LATEST.to_owned())
}

fn history_key(report: &Report) -> Item {
    key(
        PK.to_owned(),
        format!("REPORT#{}", stamp(report.evaluated_at)),
    )
}

impl DynamoIncidentStore {
    fn report_item(&self, report: &Report, key: Item) -> Result<Item> {
        let mut item: Item = serde_dynamo::to_item(report).map_err(|e| {
            Error::rejected(
                SERVICE,
                format!(
                    "the readiness report of {} cannot be stored: {e}",
                    stamp(report.evaluated_at)
                ),
            )
        })?;
        item.extend(key);
        Ok(item)
    }
}

#[async_trait]
impl ReadinessReports for DynamoIncidentStore {
    async fn latest(&self) -> Result<Option<Report>> {
        let Some(item) = self.get_item(latest_key()).await? else {
            return Ok(None);
        };
        serde_dynamo::from_item(item).map(Some).map_err(|e| {
            Error::rejected(
                SERVICE,
                format!("the stored readiness report {PK}/{LATEST} is unreadable: {e}"),
            )
        })
    }

    async fn save(&self, report: &Report) -> Result<()> {
        // The latest is what the next evaluation compares with, however
        // long ago this one ran: it never expires. Each kept copy does.
        let latest = self.report_item(report, latest_key())?;
        let mut kept = self.report_item(report, history_key(report))?;
        kept.insert("expires_at".into(), self.expiry(report.evaluated_at)?);
        let items = vec![self.put(latest, None)?, self.put(kept, None)?];
        if self.transact(items).await? {
            Ok(())
        } else {
            Err(Error::Conflict(format!(
                "another write of the readiness reports got in the way of the one of {}",
                stamp(report.evaluated_at)
            )))
        }
    }
}

#[cfg(test)]
mod contract_tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
    use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
    use aws_smithy_mocks::{MockResponse, Rule, mock};
    use failover_core::model::readiness::{Check, CheckKind, ORCHESTRATOR};

    use super::*;
    use crate::sdk_mock::{
        FAILURE_MESSAGE, Failure, Requests, assert_failed_as, failures, http, json_error,
        mocked_client, unreachable_client,
    };

    const TABLE: &str = "failover-incidents";
    const RETENTION: Duration = Duration::from_secs(90 * 86_400);

    fn store(client: Client) -> DynamoIncidentStore {
        DynamoIncidentStore::new(client, TABLE, RETENTION)
    }

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn report() -> Report {
        Report {
            evaluated_at: "2026-11-22T10:15:00Z".parse().unwrap(),
            checks: vec![
                Check::pass(
                    CheckKind::HealthCheck,
                    "us-east-1",
                    "interval 10 s, threshold 3",
                ),
                Check::fail(
                    CheckKind::InvokePermission,
                    "eu-west-1",
                    "the alarm may not invoke confirm-outage",
                    "aws lambda add-permission --function-name failover-confirm-outage ...",
                ),
                Check::warn(
                    CheckKind::DrillEvidence,
                    ORCHESTRATOR,
                    "no drill in 9 days",
                    "scripts/drill restart-loop",
                ),
            ],
        }
    }

    /// The report as the table holds it under `sk`: its fields, as
    /// incidents are held, beside the key.
    fn stored(sk: &str) -> Item {
        let check = |kind: &str, scope: &str, status: &str, detail: &str, fix: Option<&str>| {
            let mut check = HashMap::from([
                ("kind".to_owned(), s(kind)),
                ("scope".to_owned(), s(scope)),
                ("status".to_owned(), s(status)),
                ("detail".to_owned(), s(detail)),
            ]);
            if let Some(fix) = fix {
                check.insert("fix".into(), s(fix));
            }
            AttributeValue::M(check)
        };
        HashMap::from([
            ("pk".to_owned(), s("READINESS")),
            ("sk".to_owned(), s(sk)),
            ("evaluated_at".to_owned(), s("2026-11-22T10:15:00Z")),
            (
                "checks".to_owned(),
                AttributeValue::L(vec![
                    check(
                        "health_check",
                        "us-east-1",
                        "pass",
                        "interval 10 s, threshold 3",
                        None,
                    ),
                    check(
                        "invoke_permission",
                        "eu-west-1",
                        "fail",
                        "the alarm may not invoke confirm-outage",
                        Some(
                            "aws lambda add-permission --function-name failover-confirm-outage ...",
                        ),
                    ),
                    check(
                        "drill_evidence",
                        "orchestrator",
                        "warn",
                        "no drill in 9 days",
                        Some("scripts/drill restart-loop"),
                    ),
                ]),
            ),
        ])
    }

    fn put(item: Item) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(TABLE)
                    .set_item(Some(item))
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[tokio::test]
    async fn a_report_is_saved_as_the_latest_and_kept_in_one_write() {
        let requests = Requests::new();
        let write = mock!(Client::transact_write_items).then_compute_response(
            requests.answer(|| MockResponse::Output(TransactWriteItemsOutput::builder().build())),
        );

        let saved = store(mocked_client!(aws_sdk_dynamodb, [&write]))
            .save(&report())
            .await;

        assert_eq!(saved, Ok(()));
        let mut kept = stored("REPORT#2026-11-22T10:15:00.000Z");
        // Ninety days after it was evaluated.
        kept.insert(
            "expires_at".into(),
            AttributeValue::N(
                "2027-02-20T10:15:00Z"
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .unwrap()
                    .timestamp()
                    .to_string(),
            ),
        );
        assert_eq!(
            requests.only().transact_items.unwrap_or_default(),
            vec![put(stored("LATEST")), put(kept)],
            "the latest, never expiring, and the kept copy, both whatever was there"
        );
    }

    #[tokio::test]
    async fn a_save_another_write_got_in_the_way_of_is_a_conflict() {
        let write = mock!(Client::transact_write_items).then_http_response(|| {
            let body = serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]",
                "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
            });
            http(400, &body.to_string())
        });

        let saved = store(mocked_client!(aws_sdk_dynamodb, [&write]))
            .save(&report())
            .await;

        assert!(
            matches!(&saved, Err(e @ Error::Conflict(_)) if e.to_string().contains("2026-11-22T10:15:00.000Z")),
            "{saved:?}"
        );
    }

    fn get_answer(requests: &Requests<GetItemInput>, found: Option<Item>) -> Rule {
        mock!(Client::get_item).then_compute_response(requests.answer(move || {
            MockResponse::Output(GetItemOutput::builder().set_item(found.clone()).build())
        }))
    }

    #[tokio::test]
    async fn the_latest_report_reads_back_whole_or_not_at_all() {
        let mut garbled = stored("LATEST");
        garbled.insert("checks".into(), s("all good"));
        let reads = Requests::new();
        let rules = [
            get_answer(&reads, Some(stored("LATEST"))),
            get_answer(&reads, None),
            get_answer(&reads, Some(garbled)),
        ];
        let store = store(mocked_client!(aws_sdk_dynamodb, &rules));

        assert_eq!(store.latest().await, Ok(Some(report())), "the saved report");
        assert_eq!(store.latest().await, Ok(None), "never saved");
        let unreadable = store.latest().await;
        assert!(
            matches!(&unreadable, Err(e) if e.kind() == "UpstreamRejected"
                && e.to_string().contains("READINESS/LATEST is unreadable")),
            "{unreadable:?}"
        );
        let latest = GetItemInput::builder()
            .table_name(TABLE)
            .set_key(Some(HashMap::from([
                ("pk".to_owned(), s("READINESS")),
                ("sk".to_owned(), s("LATEST")),
            ])))
            .consistent_read(true)
            .build()
            .unwrap();
        assert_eq!(
            reads.all(),
            vec![latest; 3],
            "the latest's item, consistently"
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
        table.push((
            Failure::Answer(400, "ResourceNotFoundException"),
            "UpstreamRejected",
        ));
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
            assert_failed_as(failure, kind, get.latest().await);
            let transact = store(client(
                mock!(Client::transact_write_items).then_http_response(answer),
            ));
            assert_failed_as(failure, kind, transact.save(&report()).await);
        }
    }
}
