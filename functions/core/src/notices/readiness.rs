//! The operations topic's notice of a readiness outcome that changed.

use std::fmt::Write as _;

use crate::model::notice::{Notice, Severity};
use crate::model::readiness::{Report, Status};

/// `fail: 2 checks fail, 1 warns, 31 pass`.
pub fn summary(report: &Report) -> String {
    let count = |status| report.checks.iter().filter(|c| c.status == status).count();
    format!(
        "{}: {} fail, {} warn, {} pass",
        report.status(),
        count(Status::Fail),
        count(Status::Warn),
        count(Status::Pass)
    )
}

/// What changed since `previous` (none: the first evaluation), and every
/// finding with its fix.
pub(crate) fn changed(previous: Option<&Report>, report: &Report) -> Notice {
    let (severity, title) = match report.status() {
        Status::Fail => (
            Severity::Critical,
            "readiness: a recovery would not work unattended",
        ),
        Status::Warn => (
            Severity::Warning,
            "readiness: a recovery would work, with warnings",
        ),
        Status::Pass => (Severity::Info, "readiness: every check passes"),
    };
    let mut body = format!("{title}\n\nNow: {}\n", summary(report));
    match previous {
        Some(previous) => {
            let _ = writeln!(
                body,
                "Before: {} ({})",
                summary(previous),
                previous.evaluated_at.to_rfc3339()
            );
        }
        None => body.push_str("Before: never evaluated\n"),
    }
    let findings = report.findings();
    if !findings.is_empty() {
        body.push_str("\nWhat to fix:\n");
    }
    for check in findings {
        let _ = writeln!(
            body,
            "- [{}] {} ({}): {}",
            check.status, check.kind, check.scope, check.detail
        );
        if let Some(fix) = &check.fix {
            let _ = writeln!(body, "  fix: {fix}");
        }
    }
    let _ = write!(
        body,
        "\nEvaluated: {}\nThe whole report: failoverctl readiness\n",
        report.evaluated_at.to_rfc3339()
    );
    Notice::standalone(
        format!("readiness/{}", report.evaluated_at.to_rfc3339()),
        "all",
        severity,
        title,
        body,
        report.evaluated_at,
    )
}
