//! Whether a recovery would work if an outage began now: what the
//! readiness evaluation gathers about each region (the facts, plain data
//! read by adapters) and what it answers (a report of checks).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::diagnosis::ClusterReach;
use crate::model::peers::PeerView;
use crate::model::trigger::AlarmState;

/// A check's answer, worst last: the report's status is its worst check's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// The recovery would still work, but a person should look.
    Warn,
    /// A recovery that began now would not work, or not unattended.
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check is about: one per kind and region, so a report can be
/// compared with the last one check by check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The region's CloudWatch alarm on its health check: there, enabled,
    /// acting on confirm-outage, with data.
    HealthAlarm,
    /// confirm-outage's resource policy lets the alarm invoke it.
    InvokePermission,
    /// The Route 53 health check: there, not disabled or inverted, the
    /// interval and failure threshold the confirmation assumes.
    HealthCheck,
    /// The reconciler ran within its period.
    Reconciler,
    /// A function's `eks:DescribeCluster` of the region's cluster.
    ClusterAccess,
    /// A function's Kubernetes permissions, proven by its own
    /// `SelfSubjectAccessReview`s.
    KubernetesPermissions,
    /// The cluster is ACTIVE and its API answers.
    ClusterActive,
    /// The platform deployment is there with its wanted replicas ready.
    PlatformReady,
    /// The cluster's DERP relay peers are online.
    DerpPeers,
    /// The regions run different Kubernetes minor versions.
    KubernetesVersionDrift,
    /// The regions run different platform images.
    ImageDrift,
    /// The regions' platform deployments want different replicas.
    ReplicasDrift,
    /// A function may do in one region what it may not in another.
    PermissionDrift,
    /// The last successful recovery or drill is recent enough.
    DrillEvidence,
}

impl CheckKind {
    /// Every kind, in the order the evaluation makes them.
    pub const ALL: [Self; 14] = [
        Self::HealthAlarm,
        Self::InvokePermission,
        Self::HealthCheck,
        Self::ClusterAccess,
        Self::KubernetesPermissions,
        Self::ClusterActive,
        Self::PlatformReady,
        Self::DerpPeers,
        Self::DrillEvidence,
        Self::Reconciler,
        Self::KubernetesVersionDrift,
        Self::ImageDrift,
        Self::ReplicasDrift,
        Self::PermissionDrift,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HealthAlarm => "health_alarm",
            Self::InvokePermission => "invoke_permission",
            Self::HealthCheck => "health_check",
            Self::Reconciler => "reconciler",
            Self::ClusterAccess => "cluster_access",
            Self::KubernetesPermissions => "kubernetes_permissions",
            Self::ClusterActive => "cluster_active",
            Self::PlatformReady => "platform_ready",
            Self::DerpPeers => "derp_peers",
            Self::KubernetesVersionDrift => "kubernetes_version_drift",
            Self::ImageDrift => "image_drift",
            Self::ReplicasDrift => "replicas_drift",
            Self::PermissionDrift => "permission_drift",
            Self::DrillEvidence => "drill_evidence",
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The orchestrator as a whole, for checks about no one region.
pub const ORCHESTRATOR: &str = "orchestrator";

/// One check's answer: a failing or warning one says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub kind: CheckKind,
    /// A region's name, or [`ORCHESTRATOR`].
    pub scope: String,
    pub status: Status,
    /// What was found, in words.
    pub detail: String,
    /// The exact fix: the command to run, the parameter to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(kind: CheckKind, scope: &str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            scope: scope.to_owned(),
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(
        kind: CheckKind,
        scope: &str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            status: Status::Warn,
            fix: Some(fix.into()),
            ..Self::pass(kind, scope, detail)
        }
    }

    pub fn fail(
        kind: CheckKind,
        scope: &str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            status: Status::Fail,
            fix: Some(fix.into()),
            ..Self::pass(kind, scope, detail)
        }
    }
}

/// The evaluation's answer: every check, in the order they were made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub evaluated_at: DateTime<Utc>,
    pub checks: Vec<Check>,
}

impl Report {
    /// The worst check's status; `pass` for a report of no checks.
    pub fn status(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Pass)
    }

    /// The checks that did not pass, failing ones first.
    pub fn findings(&self) -> Vec<&Check> {
        let mut findings: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| c.status != Status::Pass)
            .collect();
        findings.sort_by_key(|c| std::cmp::Reverse(c.status));
        findings
    }

    /// What a reader is told about, without the time it was evaluated: two
    /// reports with the same outcome have the same outcome, so that only a
    /// change is notified.
    pub fn outcome(&self) -> Vec<(CheckKind, &str, Status, &str)> {
        let mut outcome: Vec<_> = self
            .checks
            .iter()
            .map(|c| (c.kind, c.scope.as_str(), c.status, c.detail.as_str()))
            .collect();
        outcome.sort();
        outcome
    }

    pub fn same_outcome(&self, other: &Report) -> bool {
        self.outcome() == other.outcome()
    }
}

/// One Kubernetes request a function makes, as `SelfSubjectAccessReview`
/// asks about it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Access {
    pub verb: String,
    /// The API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
    /// `None` for a cluster-scoped resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `None` where the request names no object (a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl fmt::Display for Access {
    /// `patch apps/deployments/scale loft in vcluster-platform`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.verb)?;
        if !self.group.is_empty() {
            write!(f, "{}/", self.group)?;
        }
        f.write_str(&self.resource)?;
        if let Some(subresource) = &self.subresource {
            write!(f, "/{subresource}")?;
        }
        if let Some(name) = &self.name {
            write!(f, " {name}")?;
        }
        if let Some(namespace) = &self.namespace {
            write!(f, " in {namespace}")?;
        }
        Ok(())
    }
}

/// The cluster's answer to one access review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessAnswer {
    pub access: Access,
    pub allowed: bool,
    /// The authorizer's reason, when it gave one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// What one function, running as its own role, found it may do in one
/// region: the answer of its probe mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionAccess {
    pub region: String,
    /// `eks:DescribeCluster` of the region's cluster: `None` when it
    /// answered, else why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub describe_error: Option<String>,
    /// One answer per request the function makes there; empty when the
    /// cluster could not be asked (the error says why).
    #[serde(default)]
    pub answers: Vec<AccessAnswer>,
    /// Why the reviews could not be made, when they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_error: Option<String>,
}

/// A function's probe: its permissions in every region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// The function as the stack names it (`restore-platform`).
    pub function: String,
    pub regions: Vec<RegionAccess>,
}

/// The region's health alarm as CloudWatch describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmConfig {
    pub name: String,
    /// What confirm-outage's resource policy names as the source.
    pub arn: String,
    pub actions_enabled: bool,
    /// The ARNs the alarm acts on when it goes to ALARM.
    pub alarm_actions: Vec<String>,
    pub state: AlarmState,
}

/// The region's Route 53 health check as `GetHealthCheck` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckConfig {
    pub id: String,
    pub disabled: bool,
    pub inverted: bool,
    /// `RequestInterval`, seconds; `None` for a kind that has none
    /// (a calculated or CloudWatch-metric check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_interval: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
}

/// One container of the platform deployment's pod template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContainerImage {
    pub container: String,
    /// As the pod template names it: `repository:tag` or `repository@digest`.
    pub image: String,
}

/// What the evaluation reads of a region's cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFacts {
    pub reach: ClusterReach,
    /// `major.minor` as the API's `/version` answers, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// The deployment's wanted and ready replicas; `None` when it is not there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<(u32, u32)>,
    #[serde(default)]
    pub images: Vec<ContainerImage>,
    /// `None` when they could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<PeerView>>,
}

/// Everything the evaluation read about one region. A read that failed is
/// its error in words: a check that fails, never a report that is not made.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionFacts {
    pub region: String,
    /// The configured alarms CloudWatch has (a configured name missing
    /// here does not exist).
    pub alarms: Result<Vec<AlarmConfig>, String>,
    /// `None` when Route 53 has no such health check.
    pub health_check: Result<Option<HealthCheckConfig>, String>,
    pub cluster: Result<ClusterFacts, String>,
    /// When the region last recovered under the orchestrator (a drill or an
    /// outage), if it ever did while records are kept.
    pub last_recovery: Result<Option<DateTime<Utc>>, String>,
}

/// The evaluation's input: every region's facts, every function's probe,
/// who may invoke confirm-outage, and when the reconciler last ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub now: DateTime<Utc>,
    pub regions: Vec<RegionFacts>,
    /// The alarm ARNs confirm-outage's resource policy lets invoke it.
    pub alarm_sources: Result<Vec<String>, String>,
    /// A function whose probe could not be invoked answers its error.
    pub probes: Vec<Result<Probe, (String, String)>>,
    pub reconciler_last_run: Result<Option<DateTime<Utc>>, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn check(kind: CheckKind, scope: &str, status: Status, detail: &str) -> Check {
        Check {
            kind,
            scope: scope.into(),
            status,
            detail: detail.into(),
            fix: (status != Status::Pass).then(|| "fix it".into()),
        }
    }

    fn report(at: i64, checks: Vec<Check>) -> Report {
        Report {
            evaluated_at: Utc.timestamp_opt(at, 0).single().expect("a time"),
            checks,
        }
    }

    #[test]
    fn the_report_is_as_bad_as_its_worst_check() {
        let cases: &[(&[Status], Status)] = &[
            (&[], Status::Pass),
            (&[Status::Pass, Status::Pass], Status::Pass),
            (&[Status::Pass, Status::Warn], Status::Warn),
            (&[Status::Fail, Status::Warn, Status::Pass], Status::Fail),
        ];
        for (statuses, want) in cases {
            let checks = statuses
                .iter()
                .map(|s| check(CheckKind::HealthAlarm, "us-east-1", *s, "x"))
                .collect();
            assert_eq!(report(0, checks).status(), *want, "{statuses:?}");
        }
    }

    #[test]
    fn findings_are_what_did_not_pass_failing_first() {
        let r = report(
            0,
            vec![
                check(CheckKind::HealthAlarm, "us-east-1", Status::Warn, "stale"),
                check(CheckKind::HealthCheck, "us-east-1", Status::Pass, "ok"),
                check(CheckKind::ImageDrift, ORCHESTRATOR, Status::Fail, "differ"),
            ],
        );
        let kinds: Vec<_> = r.findings().iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [CheckKind::ImageDrift, CheckKind::HealthAlarm]);
    }

    #[test]
    fn two_reports_differ_only_by_what_they_found() {
        let a = vec![
            check(CheckKind::HealthAlarm, "us-east-1", Status::Pass, "ok"),
            check(CheckKind::HealthAlarm, "eu-west-1", Status::Pass, "ok"),
        ];
        let reordered: Vec<_> = a.iter().rev().cloned().collect();
        let mut worse = a.clone();
        worse[1].status = Status::Fail;
        let mut reworded = a.clone();
        reworded[0].detail = "other".into();
        assert!(report(0, a.clone()).same_outcome(&report(60, a.clone())));
        assert!(report(0, a.clone()).same_outcome(&report(0, reordered)));
        assert!(!report(0, a.clone()).same_outcome(&report(0, worse)));
        assert!(!report(0, a).same_outcome(&report(0, reworded)));
    }

    #[test]
    fn an_access_reads_like_kubectl_auth_can_i() {
        let cases = [
            (
                Access {
                    verb: "patch".into(),
                    group: "apps".into(),
                    resource: "deployments".into(),
                    subresource: Some("scale".into()),
                    namespace: Some("vcluster-platform".into()),
                    name: Some("loft".into()),
                },
                "patch apps/deployments/scale loft in vcluster-platform",
            ),
            (
                Access {
                    verb: "list".into(),
                    group: String::new(),
                    resource: "nodes".into(),
                    subresource: None,
                    namespace: None,
                    name: None,
                },
                "list nodes",
            ),
        ];
        for (access, want) in cases {
            assert_eq!(access.to_string(), want);
        }
    }

    #[test]
    fn statuses_and_kinds_are_spelled_as_stored() {
        assert_eq!(
            serde_json::to_value(Status::Warn).expect("json"),
            serde_json::json!("warn")
        );
        for kind in [CheckKind::HealthAlarm, CheckKind::KubernetesVersionDrift] {
            assert_eq!(
                serde_json::to_value(kind).expect("json"),
                serde_json::json!(kind.as_str())
            );
        }
    }
}
