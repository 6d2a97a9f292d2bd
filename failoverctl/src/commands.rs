//! One plain function per command over the resolved deployment: reads go
//! through the core's operator use cases, triggers through the functions'
//! own manual events, break-glass steps through the core in this process.

use failover_aws::{AwsPorts, CloudWatchAlarms, StepFunctionsCallbacks};
use failover_core::app::approve_remedy::{self, AnswerRequest, Waiting};
use failover_core::app::operate::{self, ByHand, IncidentQuery};
use failover_core::app::ports::ReadinessReports;
use failover_core::model::approval::{Verdict, Via};
use failover_core::model::incident::Lane;
use failover_core::model::readiness::Report;
use failover_core::notices::readiness::summary;
use failover_core::{Error, Result};
use serde::Serialize;
use serde_json::json;

use crate::cli::{Command, LaneArg};
use crate::target::Deployment;
use crate::{aws, exit, render};

/// What a command prints on stdout, and the process's exit code.
#[derive(Debug, PartialEq, Eq)]
pub struct Output {
    pub text: String,
    pub code: u8,
}

impl Output {
    fn ok(text: String) -> Self {
        Self {
            text,
            code: exit::OK,
        }
    }
}

/// The clients every command borrows, built once.
pub struct Clients {
    pub ports: AwsPorts,
    pub alarms: CloudWatchAlarms,
    pub sts: aws_sdk_sts::Client,
    pub callbacks: StepFunctionsCallbacks,
}

impl Clients {
    pub fn new(deployment: &Deployment) -> Self {
        let sdk = &deployment.sdk;
        Self {
            ports: AwsPorts::new(sdk, &deployment.settings),
            alarms: CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(sdk)),
            sts: aws_sdk_sts::Client::new(sdk),
            callbacks: StepFunctionsCallbacks::new(aws_sdk_sfn::Client::new(sdk)),
        }
    }
}

fn json_text(value: &impl Serialize) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|t| t + "\n")
        .map_err(|e| Error::Internal(format!("answer as JSON: {e}")))
}

/// The timeline ids of the steps this process writes: unique per run.
fn nonce() -> String {
    format!(
        "ctl{}-{}",
        chrono::Utc::now().timestamp_millis(),
        std::process::id()
    )
}

/// `<reason> (requested by <who> with failoverctl)`: how a trigger names
/// the person behind it on the timeline.
pub fn requested(reason: Option<&str>, by: &str) -> String {
    let by = format!("requested by {by} with failoverctl");
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => format!("{reason} ({by})"),
        None => by,
    }
}

pub async fn run(
    command: &Command,
    json: bool,
    deployment: &Deployment,
    clients: &Clients,
) -> Result<Output> {
    let settings = &deployment.settings;
    let store = &clients.ports.store;
    match command {
        Command::Status => {
            let report = operate::status(&clients.ports.context(settings), &clients.alarms).await?;
            let text = if json {
                json_text(&json!({"status": report, "attention": report.attention()}))?
            } else {
                render::status(&report)
            };
            Ok(Output {
                text,
                code: exit::of_attention(report.attention()),
            })
        }
        Command::Incidents {
            region,
            since,
            limit,
        } => {
            let query = IncidentQuery {
                region: region.clone(),
                since: since.map(|s| s.at(chrono::Utc::now())),
                limit: usize::try_from(*limit).unwrap_or(usize::MAX),
            };
            let found = operate::incidents(settings, store, &clients.ports.store, &query).await?;
            Ok(Output::ok(if json {
                json_text(&found)?
            } else {
                render::incidents(&found)
            }))
        }
        Command::Show {
            incident_id,
            markdown,
        } => {
            let report = match operate::report(store, &clients.ports.store, incident_id).await {
                Ok(report) => report,
                Err(error) => return Err(explain(error, incident_id, deployment, clients).await),
            };
            Ok(Output::ok(if json {
                json_text(&report)?
            } else if *markdown {
                render::markdown(&report)
            } else {
                render::report(&report)
            }))
        }
        Command::Recover {
            region,
            dry_run,
            reason,
        } => {
            let region = operate::known_region(settings, region)?;
            let by = aws::caller(&clients.sts).await?;
            let event = json!({
                "region": region.name,
                "reason": requested(reason.as_deref(), &by),
                "dry_run": dry_run,
            });
            let answer =
                aws::invoke(&deployment.invoker()?, &deployment.confirm_outage, &event).await?;
            Ok(Output::ok(if json {
                json_text(&answer)?
            } else {
                render::recovered(&answer)
            }))
        }
        Command::Readiness { evaluate } => {
            let report = if *evaluate {
                let function = deployment.evaluate_readiness.as_ref().ok_or_else(|| {
                    Error::Config(format!(
                        "stack {} has no output EvaluateReadinessFunctionName: it was deployed before evaluate-readiness existed (sam deploy)",
                        deployment.name
                    ))
                })?;
                let by = aws::caller(&clients.sts).await?;
                let event = json!({"reason": requested(None, &by)});
                let answer = aws::invoke(&deployment.invoker()?, function, &event).await?;
                serde_json::from_value::<Report>(answer).map_err(|e| {
                    Error::rejected(
                        "Lambda",
                        format!("{function} answered no readiness report: {e}"),
                    )
                })?
            } else {
                clients.ports.store.latest().await?.ok_or_else(|| {
                    Error::InvalidEvent(format!(
                        "no readiness report is stored in {} yet: failoverctl readiness --evaluate makes one",
                        deployment.name
                    ))
                })?
            };
            let text = if json {
                json_text(&json!({
                    "status": report.status(),
                    "summary": summary(&report),
                    "report": report,
                }))?
            } else {
                render::readiness(&report)
            };
            Ok(Output {
                text,
                code: exit::of_readiness(report.status()),
            })
        }
        Command::Reconcile { reason } => {
            let by = aws::caller(&clients.sts).await?;
            let event = json!({"reason": requested(reason.as_deref(), &by)});
            let answer = aws::invoke(&deployment.invoker()?, &deployment.reconcile, &event).await?;
            Ok(Output::ok(if json {
                json_text(&answer)?
            } else {
                render::reconciled(&answer)
            }))
        }
        Command::Approve {
            incident_id,
            comment,
        } => {
            let comment = comment.as_deref().unwrap_or_default();
            answer(
                Verdict::Approve,
                incident_id,
                comment,
                json,
                deployment,
                clients,
            )
            .await
        }
        Command::Reject {
            incident_id,
            reason,
        } => {
            answer(
                Verdict::Reject,
                incident_id,
                reason,
                json,
                deployment,
                clients,
            )
            .await
        }
        Command::Escalate {
            incident_id,
            reason,
        } => {
            // Refused before anyone is asked who they are.
            ByHand::new("-", reason)?;
            let by = aws::caller(&clients.sts).await?;
            let hand = ByHand::new(&by, reason)?;
            let escalated =
                operate::escalate_by_hand(&clients.ports.records(), incident_id, &hand, &nonce())
                    .await;
            let report = match escalated {
                Ok(report) => report,
                Err(error) => return Err(explain(error, incident_id, deployment, clients).await),
            };
            Ok(Output::ok(if json {
                json_text(&report)?
            } else {
                render::hand(&report)
            }))
        }
        Command::Release {
            region,
            reason,
            lane,
        } => {
            let region = operate::known_region(settings, region)?.name.clone();
            ByHand::new("-", reason)?;
            let by = aws::caller(&clients.sts).await?;
            let hand = ByHand::new(&by, reason)?;
            let lane = match lane {
                LaneArg::Live => Lane::Live,
                LaneArg::DryRun => Lane::DryRun,
            };
            let report = operate::release(
                &clients.ports.records(),
                settings,
                &region,
                lane,
                &hand,
                &nonce(),
            )
            .await?;
            Ok(Output::ok(if json {
                json_text(&report)?
            } else {
                render::hand(&report)
            }))
        }
    }
}

/// A person's answer to an approval, taken in this process with the
/// caller's identity (as STS answers it), through the same core step as
/// the approve-remedy function.
async fn answer(
    verdict: Verdict,
    incident_id: &str,
    comment: &str,
    json: bool,
    deployment: &Deployment,
    clients: &Clients,
) -> Result<Output> {
    // Refused before anyone is asked who they are.
    AnswerRequest::new(incident_id, verdict, "-", comment, Via::Cli)?;
    let by = aws::caller(&clients.sts).await?;
    let request = AnswerRequest::new(incident_id, verdict, &by, comment, Via::Cli)?;
    let waiting = Waiting {
        tokens: &clients.ports.store,
        callbacks: &clients.callbacks,
    };
    let answered =
        approve_remedy::answer(&clients.ports.records(), &waiting, &request, &nonce()).await;
    let report = match answered {
        Ok(report) => report,
        Err(error) => return Err(explain(error, incident_id, deployment, clients).await),
    };
    Ok(Output::ok(if json {
        json_text(&report)?
    } else {
        format!("{}\n", report.summary)
    }))
}

/// Whether the error is the store's "incident ... does not exist".
fn naming_known(error: Error, incident_id: &str) -> std::result::Result<Error, Error> {
    match &error {
        Error::InvalidEvent(message) if message.contains("does not exist") => Ok(
            Error::InvalidEvent(format!("unknown incident {incident_id:?}")),
        ),
        _ => Err(error),
    }
}

/// An unknown incident's error, with the newest incidents that do exist;
/// any other error as it is.
async fn explain(
    error: Error,
    incident_id: &str,
    deployment: &Deployment,
    clients: &Clients,
) -> Error {
    let unknown = match naming_known(error, incident_id) {
        Ok(unknown) => unknown,
        Err(other) => return other,
    };
    let query = IncidentQuery {
        region: None,
        since: None,
        limit: 10,
    };
    let known = operate::incidents(
        &deployment.settings,
        &clients.ports.store,
        &clients.ports.store,
        &query,
    )
    .await;
    match known {
        Ok(known) if known.is_empty() => Error::InvalidEvent(format!(
            "{}; none is kept in {}",
            inner(&unknown),
            deployment.name
        )),
        Ok(known) => {
            let ids: Vec<String> = known.into_iter().map(|i| i.id).collect();
            Error::InvalidEvent(format!(
                "{}; the newest known: {}",
                inner(&unknown),
                ids.join(", ")
            ))
        }
        // The listing failed too: the unknown name is still the answer.
        Err(_) => unknown,
    }
}

fn inner(error: &Error) -> String {
    match error {
        Error::InvalidEvent(message) => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_names_who_requested_it() {
        let ana = "arn:aws:iam::123456789012:user/ana";
        assert_eq!(
            requested(Some("503s from the platform"), ana),
            format!("503s from the platform (requested by {ana} with failoverctl)")
        );
        assert_eq!(
            requested(None, ana),
            format!("requested by {ana} with failoverctl")
        );
        assert_eq!(requested(Some("  "), ana), requested(None, ana));
    }

    #[test]
    fn only_an_unknown_incident_gets_the_known_ones_added() {
        let missing = Error::InvalidEvent("incident \"x\" does not exist".into());
        assert_eq!(
            naming_known(missing, "x"),
            Ok(Error::InvalidEvent("unknown incident \"x\"".into()))
        );
        let closed = Error::InvalidEvent("incident x is already recovered".into());
        assert_eq!(naming_known(closed.clone(), "x"), Err(closed));
    }
}
