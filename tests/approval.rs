//! Approve mode through the real workflow from `template.yaml`: the remedy
//! waits in `AwaitApproval` (`.waitForTaskToken`, kept by the real
//! `approve-remedy` binary) until people answer through that function, as
//! they would from the console; then restore reads the region again before
//! it acts. Each test breaks us-east-1 the same way and answers differently.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use system::{
    Answer, Delivered, Emulator, Environment, Execution, Item, LocalCloud, alarm_event, of_kind,
    text,
};

/// An incident whose remedy waits for approval, its execution parked in
/// `AwaitApproval`.
struct Asked {
    cloud: LocalCloud,
    env: Environment,
    emulator: Emulator,
    execution_arn: String,
    incident_id: String,
    /// The execution's task token, as approve-remedy kept it.
    token: String,
    /// The notices so far: the confirmation, then the request.
    notices: Vec<Delivered>,
}

impl Asked {
    fn answer(&self, verdict: &str, by: &str, comment: &str) -> Answer {
        let event = json!({
            "incident_id": self.incident_id, "answer": verdict, "by": by, "comment": comment,
        });
        self.emulator.invoke("approve-remedy", &event.to_string())
    }

    async fn items(&self) -> Vec<Item> {
        self.cloud.items(&self.env.table).await
    }

    async fn incident(&self) -> Item {
        of_kind(&self.items().await, "INCIDENT")[0].clone()
    }

    /// The execution as it is now (`RUNNING` while it waits).
    async fn now(&self) -> Execution {
        self.cloud
            .finished(&self.execution_arn, Duration::ZERO)
            .await
    }

    async fn ended(&self) -> Execution {
        let execution = self
            .cloud
            .finished(&self.execution_arn, Duration::from_secs(120))
            .await;
        assert_ne!(
            execution.status,
            "RUNNING",
            "{execution:?}\n{}",
            self.emulator.log()
        );
        execution
    }

    /// (kind, message) of each timeline entry, oldest first.
    async fn timeline(&self) -> Vec<(String, String)> {
        let items = self.items().await;
        let mut entries = of_kind(&items, "TIMELINE#");
        entries.sort_by_key(|e| text(e, "sk"));
        entries
            .iter()
            .map(|e| (text(e, "kind"), text(e, "message")))
            .collect()
    }

    /// Successful PATCHes the failed region's cluster received.
    fn patches(&self) -> Vec<String> {
        self.env
            .region("us-east-1")
            .kube()
            .requests()
            .iter()
            .filter(|r| r["method"] == "PATCH" && r["status"].as_u64().is_some_and(|s| s < 300))
            .map(|r| r["path"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Nothing people read, and no answer, carries the task token.
    async fn assert_token_kept_apart(&self, answers: &[&Answer], notices: &[Delivered]) {
        let token = self.token.as_str();
        for answer in answers {
            assert!(!answer.body.to_string().contains(token), "{answer:?}");
        }
        for notice in self.notices.iter().chain(notices) {
            assert!(!notice.body.contains(token), "{}", notice.body);
            assert!(!notice.subject.contains(token), "{}", notice.subject);
        }
        for (_, message) in self.timeline().await {
            assert!(!message.contains(token), "{message}");
        }
        let incident = format!("{:?}", self.incident().await);
        assert!(!incident.contains(token), "the incident holds the token");
        assert!(
            !self.emulator.log().contains(token),
            "a function logged the task token"
        );
    }
}

/// Approve mode with `overrides` (on the short waits); us-east-1's pods
/// crash-loop until restarted; waits until the execution is parked in
/// `AwaitApproval` with its token kept, and the request delivered.
async fn asked(label: &str, overrides: &[(&str, &str)]) -> Asked {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision(label);
    let vars = [
        system::short_waits().as_slice(),
        &[("APPROVAL_MODE", "approve")],
        overrides,
    ]
    .concat();
    let emulator = Emulator::start(&env, &vars, 2).serving_workflow();
    let failed = env.region("us-east-1");
    failed
        .kube()
        .scenario(json!({"pods": "crashloop", "after_restart": "ready"}));
    for region in &env.regions {
        cloud.set_health(&region.health_check_id, "Platform").await;
    }
    let alarm = alarm_event("confirm-outage-alarm-action.json", &failed.alarm_names[0]);
    let confirmed = emulator.invoke("confirm-outage", &alarm.to_string());
    assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
    let incident_id = confirmed.body["incident_id"].as_str().unwrap().to_owned();
    let execution_arn = confirmed.body["execution_arn"]
        .as_str()
        .unwrap_or_else(|| panic!("no execution started: {confirmed:?}"))
        .to_owned();

    let deadline = Instant::now() + Duration::from_secs(60);
    let token = loop {
        let items = cloud.items(&env.table).await;
        if let Some(kept) = of_kind(&items, "TASK_TOKEN").first() {
            break text(kept, "token");
        }
        assert!(
            Instant::now() < deadline,
            "the workflow never waited for approval: {items:?}\n{}",
            emulator.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(!token.is_empty());
    let notices = cloud.notices(&env, 2, Duration::from_secs(15)).await;
    Asked {
        cloud,
        env,
        emulator,
        execution_arn,
        incident_id,
        token,
        notices,
    }
}

fn kinds(timeline: &[(String, String)]) -> Vec<&str> {
    timeline.iter().map(|(k, _)| k.as_str()).collect()
}

fn approvals(timeline: &[(String, String)]) -> Vec<&str> {
    timeline
        .iter()
        .filter(|(k, _)| k == "approval")
        .map(|(_, m)| m.as_str())
        .collect()
}

/// The execution waits, nothing is changed, and the request says what was
/// seen, what would be done and how to answer.
async fn assert_waiting(asked: &Asked, required: u8) {
    let execution = asked.now().await;
    assert_eq!(execution.status, "RUNNING", "{execution:?}");
    assert_eq!(
        execution.states.last().map(String::as_str),
        Some("AwaitApproval"),
        "{:?}",
        execution.states
    );
    assert!(asked.patches().is_empty(), "{:?}", asked.patches());
    let incident = asked.incident().await;
    assert_eq!(text(&incident, "phase"), "confirmed");
    assert_eq!(
        of_kind(&asked.items().await, "LEASE").len(),
        1,
        "the region is held while people decide"
    );

    let subjects: Vec<&str> = asked.notices.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert_eq!(
        subjects[1],
        "[WARNING] APPROVAL NEEDED: us-east-1 platform, restart the deployment (rollout restart)",
        "{subjects:?}"
    );
    let request = &asked.notices[1].body;
    let id = &asked.incident_id;
    for part in [
        "What was seen: ".to_owned(),
        "What would be done: restart".to_owned(),
        format!("failoverctl approve {id}"),
        format!("failoverctl reject {id} --reason"),
        "approve-remedy".to_owned(),
        if required == 1 {
            "1 person".to_owned()
        } else {
            format!("{required} distinct people")
        },
    ] {
        assert!(request.contains(&part), "no {part:?} in:\n{request}");
    }
    assert_eq!(asked.notices[1].attributes["incident_id"], *id);
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn two_distinct_approvals_resume_the_workflow_which_restarts_and_recovers() {
    let asked = asked("ap-four-eyes", &[("REQUIRED_APPROVALS", "2")]).await;
    assert_waiting(&asked, 2).await;

    let first = asked.answer("approve", "alice@example.com", "pods crash-loop; safe");
    assert!(!first.is_error(), "{first:?}");
    assert_eq!(first.body["approval"], "waiting", "{first:?}");
    assert_eq!(first.body["approvals"], 1);
    assert_eq!(first.body["resumed"], false);

    // The same person again, in other letters: refused, nothing changed.
    let before = asked.items().await.len();
    let again = asked.answer("approve", "Alice@Example.com", "me again");
    assert_eq!(again.error_type(), "InvalidEvent", "{again:?}");
    assert!(
        again
            .error_message()
            .contains("was already answered by alice@example.com"),
        "{again:?}"
    );
    assert_eq!(
        asked.items().await.len(),
        before,
        "the refusal wrote nothing"
    );

    // One approval is not enough: the execution still waits, nothing changed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = asked.now().await;
    assert_eq!(still.status, "RUNNING", "{still:?}");
    assert_eq!(
        still.states.last().map(String::as_str),
        Some("AwaitApproval")
    );
    assert!(asked.patches().is_empty(), "{:?}", asked.patches());

    let second = asked.answer("approve", "bob@example.com", "agreed");
    assert!(!second.is_error(), "{second:?}");
    assert_eq!(second.body["approval"], "approved", "{second:?}");
    assert_eq!(second.body["resumed"], true, "{second:?}");

    let execution = asked.ended().await;
    assert_eq!(execution.status, "SUCCEEDED", "{execution:?}");
    let states = &execution.states;
    let waited = states.iter().position(|s| s == "AwaitApproval").unwrap();
    assert_eq!(
        states[..waited + 4],
        [
            "Timing",
            "Restore",
            "RestoreDecision",
            "AwaitApproval",
            "ApprovalAnswer",
            "Restore",
            "RestoreDecision"
        ][..waited + 4],
        "{states:?}"
    );
    assert_eq!(states.last().map(String::as_str), Some("Recovered"));
    let patches = asked.patches();
    assert_eq!(patches.len(), 1, "one restart: {patches:?}");
    assert!(patches[0].ends_with("/deployments/loft"), "{patches:?}");

    let incident = asked.incident().await;
    assert_eq!(text(&incident, "phase"), "recovered");
    let timeline = asked.timeline().await;
    let kinds = kinds(&timeline);
    let at = |kind: &str| kinds.iter().position(|k| *k == kind).unwrap();
    assert!(at("approval") < at("acted"), "{kinds:?}");
    let said = approvals(&timeline);
    let position = |prefix: &str| {
        said.iter()
            .position(|m| m.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {said:#?}"))
    };
    let asked_at = position("waiting for approval to restart");
    let alice = position(
        "approved by alice@example.com (with the approve-remedy function): pods crash-loop; safe (1 of 2) to restart",
    );
    let bob =
        position("approved by bob@example.com (with the approve-remedy function): agreed (2 of 2)");
    let resumed = position("approval complete: the workflow goes on");
    let applied = position("applying the remedy approved by");
    assert!(
        asked_at < alice && alice < bob && bob < resumed && resumed < applied,
        "{said:#?}"
    );
    assert!(
        said[applied].contains("alice@example.com") && said[applied].contains("bob@example.com"),
        "{said:?}"
    );
    assert!(
        of_kind(&asked.items().await, "LEASE").is_empty(),
        "recovered: the region is free"
    );

    // The count, then the restart and the recovery were told.
    let notices = asked
        .cloud
        .notices(&asked.env, 3, Duration::from_secs(15))
        .await;
    let subjects: Vec<&str> = notices.iter().map(|n| n.subject.as_str()).collect();
    assert!(
        subjects[0].contains("us-east-1 approval 1 of 2 received"),
        "{subjects:?}"
    );
    assert!(
        subjects
            .last()
            .is_some_and(|s| s.starts_with("[INFO] us-east-1 platform recovered in ")),
        "{subjects:?}"
    );
    asked
        .assert_token_kept_apart(&[&first, &again, &second], &notices)
        .await;
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_rejection_escalates_with_its_reason_and_changes_nothing() {
    let asked = asked("ap-rejected", &[]).await;
    assert_waiting(&asked, 1).await;

    let empty = asked.answer("reject", "bob@example.com", "  ");
    assert_eq!(
        empty.error_type(),
        "InvalidEvent",
        "a rejection needs a reason"
    );

    let rejected = asked.answer("reject", "bob@example.com", "database maintenance running");
    assert!(!rejected.is_error(), "{rejected:?}");
    assert_eq!(rejected.body["approval"], "rejected", "{rejected:?}");
    assert_eq!(rejected.body["resumed"], true);

    let execution = asked.ended().await;
    assert_eq!(execution.status, "SUCCEEDED", "{execution:?}");
    assert_eq!(
        execution.states[execution.states.len() - 3..],
        ["AwaitApproval", "ApprovalAnswer", "Escalated"],
        "{:?}",
        execution.states
    );
    assert!(asked.patches().is_empty(), "{:?}", asked.patches());
    let incident = asked.incident().await;
    assert_eq!(text(&incident, "phase"), "escalated");
    assert_eq!(text(&incident, "escalation"), "approval_rejected");
    let timeline = asked.timeline().await;
    assert!(
        timeline.iter().any(|(kind, m)| kind == "escalated"
            && m.starts_with(
                "rejected by bob@example.com (with the approve-remedy function), because: database maintenance running"
            )),
        "{timeline:?}"
    );
    assert!(!kinds(&timeline).contains(&"acted"), "{timeline:?}");
    assert!(of_kind(&asked.items().await, "LEASE").is_empty());

    let notices = asked
        .cloud
        .notices(&asked.env, 1, Duration::from_secs(15))
        .await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].subject.contains("ESCALATION")
            && notices[0].subject.contains("rejected by bob@example.com"),
        "{}",
        notices[0].subject
    );
    assert!(
        notices[0].body.contains("database maintenance running"),
        "{}",
        notices[0].body
    );

    // Decided: a late approval is refused and changes nothing.
    let before = asked.items().await.len();
    let late = asked.answer("approve", "alice@example.com", "too late");
    assert_eq!(late.error_type(), "InvalidEvent", "{late:?}");
    assert!(late.error_message().contains("is closed"), "{late:?}");
    assert_eq!(asked.items().await.len(), before);
    asked
        .assert_token_kept_apart(&[&rejected, &late], &notices)
        .await;
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn without_approval_in_time_the_workflow_escalates_with_nothing_changed() {
    // The shortest timeout there is: one minute.
    let asked = asked("ap-timeout", &[("APPROVAL_TIMEOUT_MINUTES", "1")]).await;
    assert_waiting(&asked, 1).await;

    let execution = asked.ended().await;
    assert_eq!(execution.status, "SUCCEEDED", "{execution:?}");
    assert_eq!(
        execution.states[execution.states.len() - 4..],
        ["AwaitApproval", "ApprovalTimedOut", "Escalate", "Escalated"],
        "{:?}",
        execution.states
    );
    assert!(asked.patches().is_empty(), "{:?}", asked.patches());
    let incident = asked.incident().await;
    assert_eq!(text(&incident, "phase"), "escalated");
    assert_eq!(text(&incident, "escalation"), "no_approval");
    let timeline = asked.timeline().await;
    let (_, why) = timeline
        .iter()
        .rev()
        .find(|(k, _)| k == "escalated")
        .unwrap();
    assert!(
        why.contains("no approval within 1 minute to restart the deployment (rollout restart) (0 of 1 approvals"),
        "{why}"
    );
    assert!(of_kind(&asked.items().await, "LEASE").is_empty());
    let notices = asked
        .cloud
        .notices(&asked.env, 1, Duration::from_secs(15))
        .await;
    assert!(
        notices
            .iter()
            .any(|n| n.subject.contains("ESCALATION")
                && n.body.contains("no approval within 1 minute")),
        "{notices:?}"
    );

    let late = asked.answer("approve", "alice@example.com", "sorry, was asleep");
    assert_eq!(late.error_type(), "InvalidEvent", "{late:?}");
    assert!(asked.patches().is_empty());
    asked.assert_token_kept_apart(&[&late], &notices).await;
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_region_healthy_again_by_the_approval_is_not_acted_on() {
    let asked = asked("ap-healed", &[]).await;
    assert_waiting(&asked, 1).await;
    // The pods come back by themselves while people decide; Route 53
    // follows the cluster at each reading.
    asked
        .env
        .region("us-east-1")
        .kube()
        .scenario(json!({"pods": "ready"}));

    let approved = asked.answer("approve", "alice@example.com", "go ahead");
    assert_eq!(approved.body["approval"], "approved", "{approved:?}");
    let execution = asked.ended().await;
    assert_eq!(execution.status, "SUCCEEDED", "{execution:?}");
    assert!(
        asked.patches().is_empty(),
        "an approved remedy for a healthy region: {:?}",
        asked.patches()
    );
    let timeline = asked.timeline().await;
    assert!(
        approvals(&timeline)
            .iter()
            .any(|m| m.contains("not applying the remedy") && m.contains("reads healthy again")),
        "{timeline:?}"
    );
    assert!(!kinds(&timeline).contains(&"acted"), "{timeline:?}");
    let phase = text(&asked.incident().await, "phase");
    assert_eq!(phase, "recovered", "healthy, with nothing done");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn an_execution_stopped_while_it_waits_is_escalated_by_reconcile() {
    let asked = asked("ap-stopped", &[]).await;
    assert_waiting(&asked, 1).await;
    asked
        .cloud
        .stop_execution(&asked.execution_arn, "stopped by a person while it waited")
        .await;
    let stopped = asked.ended().await;
    assert_eq!(stopped.status, "ABORTED", "{stopped:?}");

    let event = system::event("reconcile-execution-ended.json");
    let repaired = asked.emulator.invoke("reconcile", &event.to_string());
    assert_eq!(repaired.body["repairs"], 1, "{repaired:?}");
    let incident = asked.incident().await;
    assert_eq!(text(&incident, "phase"), "escalated");
    assert_eq!(text(&incident, "escalation"), "workflow_stopped");
    assert!(of_kind(&asked.items().await, "LEASE").is_empty());
    assert!(asked.patches().is_empty());

    // Its token is of no use now: an approval is refused.
    let late = asked.answer("approve", "alice@example.com", "approve");
    assert_eq!(late.error_type(), "InvalidEvent", "{late:?}");
    assert!(late.error_message().contains("is closed"), "{late:?}");
    assert!(asked.patches().is_empty());
    let value: Value = repaired.body.clone();
    assert!(!value.to_string().contains(&asked.token));
}
