//! The words of the DERP peers check: said only when the answer changes.

use chrono::{DateTime, Utc};

use crate::model::notice::{Notice, Severity};
use crate::rules::peers::Overall;

/// The notice of a changed answer: the regions' `overall` state, the
/// `affected` ones, and what was seen.
pub(crate) fn changed(
    overall: Overall,
    affected: &[&str],
    summary: &str,
    id: String,
    now: DateTime<Utc>,
) -> Notice {
    let region = if affected.is_empty() {
        "all".to_owned()
    } else {
        affected.join(",")
    };
    let (severity, title, next) = match overall {
        Overall::AllOnline => (
            Severity::Info,
            "DERP relay peers all online again".to_owned(),
            "Nothing to do.",
        ),
        Overall::Degraded => (
            Severity::Warning,
            format!("DERP relay degraded in {region}"),
            "Cross-region connectivity through the relay is reduced. Check the offline peers' pods and network (runbook step 5: kubectl get networkpeers.storage.loft.sh -A).",
        ),
        Overall::Unreachable => (
            Severity::Warning,
            format!("DERP peers unreadable in {region}"),
            "The peers of that cluster could not be read: check the cluster and the function's access to it.",
        ),
    };
    let body = format!(
        "{title}\n\nWhat was seen: {}.\n\nWhat to do: {next}\n",
        summary
    );
    Notice::standalone(id, &region, severity, &title, body, now)
}
