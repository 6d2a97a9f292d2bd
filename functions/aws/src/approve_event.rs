//! Decodes the events that reach `approve-remedy`: the workflow's approval
//! wait (`incident_id` and its task token), or a person's answer.

use failover_core::app::approve_remedy::AnswerRequest;
use failover_core::model::approval::{TaskToken, Verdict, Via};
use failover_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

/// What the function is asked.
#[derive(Debug, PartialEq, Eq)]
pub enum ApproveEvent {
    /// The workflow waits: keep its token.
    Wait {
        incident_id: String,
        token: TaskToken,
    },
    /// A person approves or rejects.
    Answer(AnswerRequest),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    incident_id: String,
    #[serde(default)]
    task_token: Option<String>,
    #[serde(default)]
    answer: Option<Verdict>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

const EXPECTED: &str = "expected {\"incident_id\": \"...\", \"answer\": \"approve\" or \"reject\", \"by\": \"<your name>\", \"comment\": \"...\"} (a rejection needs the comment)";

pub fn decode(event: &Value) -> Result<ApproveEvent> {
    // Never echo the event: the workflow's carries a task token.
    let raw = Raw::deserialize(event).map_err(|e| {
        let what = e.to_string();
        let what = what.split(" at line").next().unwrap_or_default();
        Error::InvalidEvent(format!("approve-remedy event: {what}; {EXPECTED}"))
    })?;
    match (raw.task_token, raw.answer) {
        (Some(token), None) if raw.by.is_none() && raw.comment.is_none() => {
            if token.trim().is_empty() || raw.incident_id.trim().is_empty() {
                return Err(Error::InvalidEvent(
                    "approve-remedy event: the workflow's wait needs incident_id and task_token".into(),
                ));
            }
            Ok(ApproveEvent::Wait {
                incident_id: raw.incident_id,
                token: TaskToken::new(token),
            })
        }
        (None, Some(verdict)) => AnswerRequest::new(
            &raw.incident_id,
            verdict,
            raw.by.as_deref().unwrap_or_default(),
            raw.comment.as_deref().unwrap_or_default(),
            Via::Function,
        )
        .map(ApproveEvent::Answer),
        (Some(_), _) => Err(Error::InvalidEvent(
            "approve-remedy event: a task_token comes only from the workflow, alone with incident_id".into(),
        )),
        (None, None) => Err(Error::InvalidEvent(format!(
            "approve-remedy event: no answer; {EXPECTED}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sample_events_decode() {
        let approve = decode(&failover_core::fakes::event_payload(
            "approve-remedy-approve.json",
        ))
        .unwrap();
        let ApproveEvent::Answer(approve) = approve else {
            panic!("{approve:?}");
        };
        assert_eq!(approve.incident_id, "us-east-1-20261122-101500-3f9a2c1b");
        assert_eq!(
            (approve.verdict, approve.via),
            (Verdict::Approve, Via::Function)
        );
        let reject = decode(&failover_core::fakes::event_payload(
            "approve-remedy-reject.json",
        ))
        .unwrap();
        let ApproveEvent::Answer(reject) = reject else {
            panic!("{reject:?}");
        };
        assert_eq!(reject.verdict, Verdict::Reject);
        assert!(!reject.comment.is_empty());
    }

    #[test]
    fn the_workflow_s_wait_keeps_its_token_out_of_errors() {
        let wait = decode(&json!({"incident_id": "i-1", "task_token": "tok-secret"})).unwrap();
        assert_eq!(
            wait,
            ApproveEvent::Wait {
                incident_id: "i-1".into(),
                token: TaskToken::new("tok-secret")
            }
        );
        for event in [
            json!({"incident_id": "i-1", "task_token": "tok-secret", "answer": "approve"}),
            json!({"incident_id": "i-1", "task_token": "tok-secret", "extra": 1}),
            json!({"incident_id": 7, "task_token": "tok-secret"}),
        ] {
            let error = decode(&event).unwrap_err();
            assert!(!error.to_string().contains("tok-secret"), "{error}");
        }
    }

    #[test]
    fn wrong_events_are_named() {
        for (event, expected) in [
            (json!({"incident_id": "i-1"}), "no answer"),
            (
                json!({"incident_id": "i-1", "answer": "maybe", "by": "a"}),
                "unknown variant `maybe`",
            ),
            (
                json!({"incident_id": "i-1", "answer": "approve"}),
                "who answers is required",
            ),
            (
                json!({"incident_id": "i-1", "answer": "reject", "by": "a"}),
                "a rejection needs a reason",
            ),
            (
                json!({"answer": "approve", "by": "a"}),
                "missing field `incident_id`",
            ),
            (
                json!({"incident_id": "i-1", "answer": "approve", "by": "a", "who": 1}),
                "unknown field `who`",
            ),
        ] {
            let error = decode(&event).unwrap_err();
            assert_eq!(error.kind(), "InvalidEvent");
            assert!(error.to_string().contains(expected), "{event}: {error}");
        }
    }
}
