//! What people are told: one notice per transition, readable on a phone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::phase::Phase;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Unique per transition (of an incident, or of a watched state).
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// The incident it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// The region it is about (`all` for every region).
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    pub severity: Severity,
    pub subject: String,
    pub body: String,
}

impl Notice {
    /// A notice about no incident (a watched state that changed).
    pub(crate) fn standalone(
        id: String,
        region: &str,
        severity: Severity,
        title: &str,
        body: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            created_at: now,
            incident_id: None,
            region: region.to_owned(),
            phase: None,
            severity,
            subject: subject(format!(
                "[{}] {title}",
                severity.as_str().to_ascii_uppercase()
            )),
            body,
        }
    }

    /// Message attributes for SNS subscription filter policies: region,
    /// severity, and the incident's id and phase when it is about one; and
    /// `notice_id`, stable across redeliveries, so a subscriber can drop a
    /// duplicate (delivery is at least once).
    pub fn attributes(&self) -> Vec<(&'static str, &str)> {
        let mut attributes = vec![
            ("notice_id", self.id.as_str()),
            ("region", self.region.as_str()),
        ];
        if let Some(phase) = self.phase {
            attributes.push(("phase", phase.as_str()));
        }
        attributes.push(("severity", self.severity.as_str()));
        if let Some(id) = &self.incident_id {
            attributes.push(("incident_id", id.as_str()));
        }
        attributes
    }
}

/// SNS subjects are at most 100 printable ASCII characters.
pub(crate) const SUBJECT_LIMIT: usize = 100;

fn subject(text: String) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '-'
            }
        })
        .collect();
    clean.chars().take(SUBJECT_LIMIT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_ascii_and_short() {
        let long = subject(format!("{}\nnext line é", "x".repeat(200)));
        assert_eq!(long.len(), SUBJECT_LIMIT);
        let odd = subject("a\nb é".into());
        assert_eq!(odd, "a-b -");
    }
}
