//! The words of approve mode: the request people answer, the timeline
//! entries of each answer, and the notices of a rejection or a timeout.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::model::approval::{Answer, Approval};
use crate::model::diagnosis::Diagnosis;
use crate::model::incident::Incident;
use crate::model::notice::{Notice, Severity};
use crate::model::remedy::Cause;
use crate::rules::approval::{Stale, ask_text};

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn people(required: u8) -> String {
    match required {
        1 => "1 person".into(),
        n => format!("{n} distinct people"),
    }
}

/// The timeline entry of a request for approval.
pub fn asked_entry(approval: &Approval) -> String {
    format!(
        "waiting for approval to {}: {} must approve by {}",
        ask_text(approval.remedy),
        people(approval.required),
        time(approval.deadline)
    )
}

/// The notice that asks people: what was seen, what would be done, and
/// exactly how to answer. The task token is never in it.
pub(crate) fn asked(
    incident: &Incident,
    approval: &Approval,
    diagnosis: &Diagnosis,
    now: DateTime<Utc>,
) -> Notice {
    let region = incident.region.as_str();
    let what = ask_text(approval.remedy);
    let title = format!("APPROVAL NEEDED: {region} platform, {what}");
    let id = incident.id.as_str();
    let body = format!(
        "{title}\n\n\
         What was seen: {}.\n\
         What would be done: {what} in {region}.\n\
         Who must approve: {} by {} ({} min); without that the incident is escalated and nothing is changed.\n\n\
         To approve: failoverctl approve {id} --comment \"...\"\n\
         To reject:  failoverctl reject {id} --reason \"...\"\n\
         Or invoke the stack's approve-remedy function (output ApproveRemedyFunctionName) with\n\
         {{\"incident_id\": \"{id}\", \"answer\": \"approve\", \"by\": \"<your name>\"}}\n\
         (or \"answer\": \"reject\" with a \"comment\" saying why).\n\n\
         Before acting, the orchestrator reads the region again: if it is healthy by then, or the decision went stale, it does not act and says so.\n\n\
         Incident: {id}\nRegion: {region}\nDetected: {}\n",
        diagnosis.summary(),
        people(approval.required),
        time(approval.deadline),
        approval.minutes(),
        time(incident.detected_at),
    );
    crate::notices::about(incident, Severity::Warning, &title, body, now)
}

fn said(answer: &Answer) -> String {
    let via = answer.via.as_str();
    if answer.comment.is_empty() {
        format!("{} (with {via})", answer.by)
    } else {
        format!("{} (with {via}): {}", answer.by, answer.comment)
    }
}

/// The timeline entry of one approval, `count` of `required`.
pub fn approved_entry(approval: &Approval, answer: &Answer) -> String {
    let count = approval.approvals.len();
    let next = if count >= usize::from(approval.required) {
        "approved; the workflow reads the region again and applies it".to_owned()
    } else {
        format!(
            "{} more approval from another person needed by {}",
            usize::from(approval.required) - count,
            time(approval.deadline)
        )
    };
    format!(
        "approved by {} ({count} of {}) to {}: {next}",
        said(answer),
        approval.required,
        ask_text(approval.remedy),
    )
}

/// The notice of an approval short of the required number.
pub(crate) fn counted(
    incident: &Incident,
    approval: &Approval,
    answer: &Answer,
    now: DateTime<Utc>,
) -> Notice {
    let title = format!(
        "{} approval {} of {} received",
        incident.region,
        approval.approvals.len(),
        approval.required
    );
    let body = format!(
        "{title}\n\n{}.\n\nAnother person approves with: failoverctl approve {}\n\nIncident: {}\n",
        approved_entry(approval, answer),
        incident.id,
        incident.id
    );
    crate::notices::about(incident, Severity::Info, &title, body, now)
}

/// The timeline entry of a rejection.
pub fn rejected_entry(approval: &Approval, answer: &Answer) -> String {
    format!(
        "rejected by {} (with {}), because: {}; nothing is changed and the incident is escalated (it was asked to {})",
        answer.by,
        answer.via.as_str(),
        answer.comment,
        ask_text(approval.remedy)
    )
}

/// The escalation of a rejected remedy.
pub(crate) fn rejected(
    incident: &Incident,
    approval: &Approval,
    answer: &Answer,
    now: DateTime<Utc>,
) -> Notice {
    crate::notices::escalation(
        incident,
        Cause::ApprovalRejected,
        &format!("{} remedy rejected by {}", incident.region, answer.by),
        &format!(
            "What happened: {}.\n\nWhat was done so far: nothing was changed in the region.",
            rejected_entry(approval, answer)
        ),
        now,
    )
}

/// What a timeout says: `no approval within N minutes`, and who had approved.
pub fn timed_out(approval: &Approval) -> String {
    let minutes = match approval.minutes() {
        1 => "1 minute".to_owned(),
        n => format!("{n} minutes"),
    };
    format!(
        "no approval within {minutes} to {} ({} of {} approvals: {})",
        ask_text(approval.remedy),
        approval.approvals.len(),
        approval.required,
        approval.approvers()
    )
}

/// The timeline entry of an approval (or request) that no longer holds.
pub fn stale_entry(approval: &Approval, why: Stale) -> String {
    format!(
        "not applying the remedy asked at {} ({}, approved by {}): {}",
        time(approval.asked_at),
        ask_text(approval.remedy),
        approval.approvers(),
        why.describe()
    )
}

/// What a dry run in approve mode adds to its report.
pub fn would_ask(required: u8, minutes: u64) -> String {
    format!(
        "in approve mode this would wait for {} to approve (within {minutes} min) before acting",
        people(required)
    )
}
