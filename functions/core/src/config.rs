//! Function configuration: read once per cold start from environment
//! variables, validated as a whole so one message names every wrong variable.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub regions: Vec<RegionSettings>,
    pub incident_table: String,
    pub notify_topic_arn: String,
    pub platform: PlatformSettings,
    pub dry_run: bool,
    pub confirmation: ConfirmationPolicy,
    /// A step that made no progress for this long is taken over by the next trigger.
    pub takeover_after: Duration,
    pub retention: Duration,
    pub guardrails: Guardrails,
    pub verification: VerificationPolicy,
    pub reconcile: ReconcilePolicy,
    /// The recovery workflow `confirm-outage` starts for a confirmed outage
    /// (only `confirm-outage` is given it).
    pub recovery_workflow_arn: Option<String>,
    /// The CloudWatch namespace of the orchestrator's own metrics.
    pub metrics_namespace: String,
    pub readiness: ReadinessPolicy,
    pub approval: ApprovalPolicy,
}

/// Whether a remedy is applied as soon as it is decided, or waits for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// Apply every remedy the guardrails allow (the default).
    Auto,
    /// Every restart or scaling waits for `required` distinct people.
    Approve,
}

impl ApprovalMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Approve => "approve",
        }
    }
}

/// Whether a remedy waits for people, how many, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalPolicy {
    pub mode: ApprovalMode,
    /// Distinct people who must approve (1 to 3).
    pub required: u8,
    /// After it the workflow escalates with nothing changed.
    pub timeout: Duration,
}

/// What the readiness evaluation holds a ready setup to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessPolicy {
    /// The Route 53 `RequestInterval` the confirmation's sampling assumes.
    pub health_check_interval: u32,
    /// The Route 53 `FailureThreshold` it assumes.
    pub health_check_failure_threshold: u32,
    /// A reconciler heartbeat older than this means it stopped running.
    pub reconciler_stale_after: Duration,
    /// How old the last successful recovery or drill of a region may be.
    pub drill_evidence_max_age: Duration,
}

/// What evaluate-readiness alone is given: where it tells a changed
/// outcome, and how the stack names its functions (`<prefix><binary>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessTargets {
    pub ops_topic_arn: String,
    pub function_name_prefix: String,
}

impl ReadinessTargets {
    pub fn from_env() -> Result<Self> {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: Into<String>,
        V: Into<String>,
    {
        read(vars, |reader| {
            let ops_topic_arn = reader.topic_arn("OPS_TOPIC_ARN");
            let function_name_prefix = reader.required("FUNCTION_NAME_PREFIX");
            // A Lambda function name is at most 64 letters, digits, '-' or '_';
            // the longest binary name is 18.
            if !function_name_prefix.is_empty()
                && (function_name_prefix.len() > 46
                    || !function_name_prefix
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            {
                reader.problem(
                "FUNCTION_NAME_PREFIX",
                "must be at most 46 letters, digits, '-' or '_' (the stack's function names are <prefix><function>)",
            );
            }
            Self {
                ops_topic_arn,
                function_name_prefix,
            }
        })
    }

    /// The stack's name for one of its functions (`restore-platform`).
    pub fn function(&self, binary: &str) -> String {
        format!("{}{binary}", self.function_name_prefix)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationPolicy {
    /// Healthy readings in a row before the region counts as recovered.
    pub healthy_readings: u32,
    /// Seconds between two verification polls.
    pub poll_seconds: u64,
    /// How long after the remedy verification may take before it escalates.
    pub deadline: Duration,
    /// How long the workflow waits after a remedy before its first poll.
    pub settle: Duration,
}

/// How the reconciler treats a region that stays down after its incident closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcilePolicy {
    /// After an escalation, how long a person owns the region before the
    /// reconciler confirms it again (other closings wait the takeover time).
    pub hold: Duration,
    /// How often an escalated region that stays down is brought up again.
    pub reminder_every: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSettings {
    pub name: String,
    pub cluster: String,
    pub health_check_id: String,
    #[serde(default)]
    pub alarm_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSettings {
    pub namespace: String,
    pub deployment: String,
    pub selector: String,
    pub replicas: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmationPolicy {
    pub samples: u32,
    pub interval: Duration,
    /// Route 53 calls an endpoint healthy when more than this share of checkers report success.
    pub healthy_ratio: f64,
    pub max_observation_age: Duration,
}

/// The most verification polls one execution may make: each adds about
/// 9 events to its history, which Step Functions ends at 25,000.
pub const MAX_POLLS: u64 = 2000;

/// Limits on what the orchestrator may do on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrails {
    pub restarts_per_incident: u32,
    pub restarts_per_window: u32,
    pub window: Duration,
    /// Minimum time between two actions on one region.
    pub cooldown: Duration,
    /// Minimum time between actions on two different regions.
    pub spread: Duration,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(std::env::vars())
    }

    /// Reads the settings from any set of variables (tests pass a table).
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: Into<String>,
        V: Into<String>,
    {
        read(vars, |reader| {
            let regions = reader.regions();
            let incident_table = reader.required("INCIDENT_TABLE");
            let notify_topic_arn = reader.topic_arn("NOTIFY_TOPIC_ARN");
            let platform = PlatformSettings {
                namespace: reader.text("PLATFORM_NAMESPACE", "vcluster-platform"),
                deployment: reader.text("PLATFORM_DEPLOYMENT", "loft"),
                selector: reader.text("PLATFORM_SELECTOR", "app=loft"),
                replicas: reader.number("PLATFORM_REPLICAS", 3, 1..=100),
            };
            let dry_run = reader.flag("DRY_RUN", false);
            let samples = reader.number("CONFIRM_SAMPLES", 3, 1..=10);
            let interval_seconds = reader.number("CONFIRM_INTERVAL_SECONDS", 10, 0..=60);
            let healthy_ratio = reader.ratio("HEALTHY_CHECKER_RATIO", 0.18);
            let max_age_seconds = reader.number("OBSERVATION_MAX_AGE_SECONDS", 120, 1..=3600);
            let takeover_seconds = reader.number("TAKEOVER_AFTER_SECONDS", 120, 30..=86_400);
            let retention_days = reader.number("RETENTION_DAYS", 90, 1..=3650);
            let verification = VerificationPolicy {
                healthy_readings: reader.number("RECOVERY_HEALTHY_READINGS", 3, 1..=20),
                poll_seconds: u64::from(reader.number("VERIFY_POLL_SECONDS", 15, 1..=600)),
                deadline: Duration::from_secs(u64::from(reader.number(
                    "VERIFY_DEADLINE_SECONDS",
                    900,
                    30..=14_400,
                ))),
                settle: Duration::from_secs(u64::from(reader.number(
                    "ROLLOUT_SETTLE_SECONDS",
                    30,
                    1..=900,
                ))),
            };
            let polls = verification.deadline.as_secs() / verification.poll_seconds.max(1);
            if polls > crate::config::MAX_POLLS {
                // Each poll adds about 9 events to the execution's history, which
                // Step Functions ends (uncatchably) at 25,000.
                reader.problem(
                "VERIFY_DEADLINE_SECONDS",
                &format!(
                    "/ VERIFY_POLL_SECONDS allows {polls} polls; at most {} fit in one execution's history",
                    crate::config::MAX_POLLS
                ),
            );
            }
            let reconcile = ReconcilePolicy {
                hold: Duration::from_secs(
                    u64::from(reader.number("REOPEN_HOLD_MINUTES", 60, 1..=1440)) * 60,
                ),
                reminder_every: Duration::from_secs(
                    u64::from(reader.number("REMINDER_MINUTES", 30, 1..=1440)) * 60,
                ),
            };
            let metrics_namespace = reader.text("METRICS_NAMESPACE", "PlatformFailover");
            if !is_metrics_namespace(&metrics_namespace) {
                reader.problem(
                    "METRICS_NAMESPACE",
                    "must be 1 to 255 letters, digits or . - _ / # : (not starting with AWS/)",
                );
            }
            let recovery_workflow_arn = reader.value("RECOVERY_WORKFLOW_ARN").map(str::to_owned);
            if recovery_workflow_arn
                .as_deref()
                .is_some_and(|arn| !is_state_machine_arn(arn))
            {
                reader.problem(
                "RECOVERY_WORKFLOW_ARN",
                "is not a Step Functions state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>)",
            );
            }
            let guardrails = Guardrails {
                restarts_per_incident: reader.number("RESTARTS_PER_INCIDENT", 2, 0..=10),
                restarts_per_window: reader.number("RESTARTS_PER_WINDOW", 3, 0..=50),
                window: Duration::from_secs(
                    u64::from(reader.number("RESTART_WINDOW_MINUTES", 60, 1..=1440)) * 60,
                ),
                cooldown: Duration::from_secs(u64::from(reader.number(
                    "ACTION_COOLDOWN_SECONDS",
                    120,
                    0..=3600,
                ))),
                spread: Duration::from_secs(u64::from(reader.number(
                    "RESTART_SPREAD_SECONDS",
                    30,
                    0..=600,
                ))),
            };
            let health_check_interval = reader.number("HEALTH_CHECK_INTERVAL_SECONDS", 30, 10..=30);
            if health_check_interval != 10 && health_check_interval != 30 {
                reader.problem(
                    "HEALTH_CHECK_INTERVAL_SECONDS",
                    "must be 10 or 30, the request intervals Route 53 offers",
                );
            }
            let readiness = ReadinessPolicy {
                health_check_interval,
                health_check_failure_threshold: reader.number(
                    "HEALTH_CHECK_FAILURE_THRESHOLD",
                    3,
                    1..=10,
                ),
                reconciler_stale_after: Duration::from_secs(
                    u64::from(reader.number("RECONCILER_STALE_MINUTES", 5, 2..=1440)) * 60,
                ),
                drill_evidence_max_age: Duration::from_secs(
                    u64::from(reader.number("DRILL_EVIDENCE_DAYS", 60, 1..=3650)) * 86_400,
                ),
            };
            let approval = ApprovalPolicy {
                mode: match reader
                    .value("APPROVAL_MODE")
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    None | Some("auto") => ApprovalMode::Auto,
                    Some("approve") => ApprovalMode::Approve,
                    Some(other) => {
                        reader.problem(
                            "APPROVAL_MODE",
                            &format!("must be auto or approve, not {other:?}"),
                        );
                        ApprovalMode::Auto
                    }
                },
                required: u8::try_from(reader.number("REQUIRED_APPROVALS", 1, 1..=3)).unwrap_or(1),
                timeout: Duration::from_secs(
                    u64::from(reader.number("APPROVAL_TIMEOUT_MINUTES", 30, 1..=1440)) * 60,
                ),
            };
            if takeover_seconds < samples.saturating_sub(1) * interval_seconds {
                // A confirmation still sampling must not look abandoned.
                reader.problem(
                "TAKEOVER_AFTER_SECONDS",
                &format!("({takeover_seconds}) must be at least the confirmation time, (CONFIRM_SAMPLES - 1) x CONFIRM_INTERVAL_SECONDS = {}", samples.saturating_sub(1) * interval_seconds),
            );
            }

            Self {
                regions,
                incident_table,
                notify_topic_arn,
                platform,
                dry_run,
                confirmation: ConfirmationPolicy {
                    samples,
                    interval: Duration::from_secs(u64::from(interval_seconds)),
                    healthy_ratio,
                    max_observation_age: Duration::from_secs(u64::from(max_age_seconds)),
                },
                takeover_after: Duration::from_secs(u64::from(takeover_seconds)),
                retention: Duration::from_secs(u64::from(retention_days) * 86_400),
                guardrails,
                verification,
                reconcile,
                recovery_workflow_arn,
                metrics_namespace,
                readiness,
                approval,
            }
        })
    }

    pub fn region(&self, name: &str) -> Option<&RegionSettings> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// Every region's health alarms.
    pub fn alarm_names(&self) -> Vec<String> {
        self.regions
            .iter()
            .flat_map(|r| r.alarm_names.iter().cloned())
            .collect()
    }

    pub fn region_names(&self) -> Vec<&str> {
        self.regions.iter().map(|r| r.name.as_str()).collect()
    }
}

struct Reader<'a> {
    vars: &'a BTreeMap<String, String>,
    problems: Vec<String>,
}

/// Reads what `parse` makes of `vars`; every wrong variable it names is in
/// the one error.
fn read<K, V, T>(
    vars: impl IntoIterator<Item = (K, V)>,
    parse: impl FnOnce(&mut Reader<'_>) -> T,
) -> Result<T>
where
    K: Into<String>,
    V: Into<String>,
{
    let vars: BTreeMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let mut reader = Reader {
        vars: &vars,
        problems: Vec::new(),
    };
    let parsed = parse(&mut reader);
    if reader.problems.is_empty() {
        Ok(parsed)
    } else {
        Err(Error::Config(reader.problems.join("; ")))
    }
}

impl<'a> Reader<'a> {
    /// A required SNS topic ARN.
    fn topic_arn(&mut self, name: &str) -> String {
        let arn = self.required(name);
        if !arn.is_empty() && !is_sns_topic_arn(&arn) {
            self.problem(
                name,
                "is not an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)",
            );
        }
        arn
    }

    fn problem(&mut self, name: &str, what: &str) {
        self.problems.push(format!("{name} {what}"));
    }

    fn value(&self, name: &str) -> Option<&'a str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn required(&mut self, name: &str) -> String {
        match self.value(name) {
            Some(v) => v.to_owned(),
            None => {
                self.problem(name, "is required");
                String::new()
            }
        }
    }

    fn text(&self, name: &str, default: &str) -> String {
        self.value(name).unwrap_or(default).to_owned()
    }

    fn flag(&mut self, name: &str, default: bool) -> bool {
        match self.value(name).map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(other) => {
                self.problem(name, &format!("must be true or false, not {other:?}"));
                default
            }
        }
    }

    fn number(&mut self, name: &str, default: u32, range: std::ops::RangeInclusive<u32>) -> u32 {
        let Some(raw) = self.value(name) else {
            return default;
        };
        match raw.parse::<u32>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                let what = format!(
                    "must be a whole number from {} to {}, not {raw:?}",
                    range.start(),
                    range.end()
                );
                self.problem(name, &what);
                default
            }
        }
    }

    fn ratio(&mut self, name: &str, default: f64) -> f64 {
        let Some(raw) = self.value(name) else {
            return default;
        };
        match raw.parse::<f64>() {
            Ok(r) if (0.0..1.0).contains(&r) => r,
            _ => {
                let what = format!("must be a number from 0 up to (not including) 1, not {raw:?}");
                self.problem(name, &what);
                default
            }
        }
    }

    /// `region:cluster:health-check-id,...`, the template's list, each
    /// region's alarms named by `HEALTH_ALARM_NAME` (`{region}` is the
    /// region's name). A malformed item is named and left out.
    fn listed_regions(&mut self, name: &str, raw: &str) -> Vec<RegionSettings> {
        const ALARM: &str = "HEALTH_ALARM_NAME";
        let alarm = self.value(ALARM).map(str::to_owned);
        if let Some(pattern) = &alarm
            && !pattern.contains("{region}")
        {
            self.problem(
                ALARM,
                "must contain {region}, where each region's name goes",
            );
        }
        let mut regions = Vec::new();
        for (i, item) in raw.split(',').map(str::trim).enumerate() {
            let parts: Vec<&str> = item.split(':').map(str::trim).collect();
            let [region, cluster, health_check_id] = parts[..] else {
                self.problem(
                    &format!("{name}[{i}]"),
                    &format!("{item:?} is not region:cluster:health-check-id"),
                );
                continue;
            };
            regions.push(RegionSettings {
                name: region.to_owned(),
                cluster: cluster.to_owned(),
                health_check_id: health_check_id.to_owned(),
                alarm_names: alarm
                    .iter()
                    .map(|pattern| pattern.replace("{region}", region))
                    .collect(),
            });
        }
        regions
    }

    fn regions(&mut self) -> Vec<RegionSettings> {
        const NAME: &str = "REGIONS";
        let Some(raw) = self.value(NAME) else {
            self.problem(
                NAME,
                "is required (region:cluster:health-check-id items, or a JSON array of {name, cluster, health_check_id, alarm_names})",
            );
            return Vec::new();
        };
        let regions: Vec<RegionSettings> = if raw.starts_with('[') {
            match serde_json::from_str(raw) {
                Ok(r) => r,
                Err(e) => {
                    self.problem(NAME, &format!("is not a JSON array of {{name, cluster, health_check_id, alarm_names}}: {e}"));
                    return Vec::new();
                }
            }
        } else {
            self.listed_regions(NAME, raw)
        };
        if regions.len() < 2 {
            self.problem(
                NAME,
                "must name at least two regions: one must stay healthy while the other is restored",
            );
        }
        let mut names = HashSet::new();
        let mut checks = HashSet::new();
        let mut alarms = HashSet::new();
        for (i, region) in regions.iter().enumerate() {
            let at = format!("{NAME}[{i}]");
            if !is_region_name(&region.name) {
                self.problem(
                    &at,
                    &format!(
                        "name {:?} is not an AWS region name like us-east-1",
                        region.name
                    ),
                );
            }
            if region.cluster.trim().is_empty() {
                self.problem(&at, "cluster is empty");
            }
            if region.health_check_id.trim().is_empty() {
                self.problem(&at, "health_check_id is empty");
            }
            if !names.insert(region.name.as_str()) {
                self.problem(&at, &format!("repeats region {:?}", region.name));
            }
            if !checks.insert(region.health_check_id.as_str()) {
                self.problem(
                    &at,
                    &format!("repeats health check {:?}", region.health_check_id),
                );
            }
            for alarm in &region.alarm_names {
                if !alarms.insert(alarm.as_str()) {
                    self.problem(&at, &format!("repeats alarm {alarm:?}"));
                }
            }
        }
        regions
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`: lowercase words joined by
/// hyphens, ending in a number.
fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

fn is_sns_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "sns"
        && parts.iter().all(|p| !p.is_empty())
}

/// CloudWatch's rule for a custom namespace.
fn is_metrics_namespace(namespace: &str) -> bool {
    (1..=255).contains(&namespace.len())
        && !namespace.starts_with("AWS/")
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#:".contains(c))
}

fn is_state_machine_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 7
        && parts[0] == "arn"
        && parts[2] == "states"
        && parts[5] == "stateMachine"
        && parts.iter().all(|p| !p.is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_vars() -> Vec<(&'static str, String)> {
        vec![
            (
                "REGIONS",
                r#"[{"name":"us-east-1","cluster":"platform-us-east-1","health_check_id":"hc-a","alarm_names":["alarm-a"]},
                   {"name":"eu-west-1","cluster":"platform-eu-west-1","health_check_id":"hc-b","alarm_names":["alarm-b"]}]"#
                    .to_owned(),
            ),
            ("INCIDENT_TABLE", "incidents".to_owned()),
            ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:notices".to_owned()),
        ]
    }

    pub(crate) fn sample_settings() -> Settings {
        Settings::from_vars(sample_vars()).unwrap()
    }

    fn with(overrides: &[(&'static str, &str)]) -> Result<Settings> {
        let mut vars: BTreeMap<&str, String> = sample_vars().into_iter().collect();
        for (k, v) in overrides {
            vars.insert(k, (*v).to_owned());
        }
        Settings::from_vars(vars)
    }

    #[test]
    fn defaults_follow_the_runbook() {
        let s = sample_settings();
        assert_eq!(s.platform.namespace, "vcluster-platform");
        assert_eq!(s.platform.deployment, "loft");
        assert_eq!(s.platform.selector, "app=loft");
        assert_eq!(s.platform.replicas, 3);
        assert!(!s.dry_run);
        assert_eq!(s.confirmation.samples, 3);
        assert_eq!(s.confirmation.interval, Duration::from_secs(10));
        assert!((s.confirmation.healthy_ratio - 0.18).abs() < f64::EPSILON);
        assert_eq!(s.region_names(), ["us-east-1", "eu-west-1"]);
        assert_eq!(s.verification.deadline, Duration::from_secs(900));
        assert_eq!(s.verification.settle, Duration::from_secs(30));
        assert_eq!(s.recovery_workflow_arn, None);
        assert_eq!(s.takeover_after, Duration::from_secs(120));
        assert_eq!(s.reconcile.hold, Duration::from_secs(3600));
        assert_eq!(s.reconcile.reminder_every, Duration::from_secs(1800));
        assert_eq!(s.metrics_namespace, "PlatformFailover");
        assert_eq!(s.guardrails.spread, Duration::from_secs(30));
        assert_eq!(
            s.readiness,
            ReadinessPolicy {
                health_check_interval: 30,
                health_check_failure_threshold: 3,
                reconciler_stale_after: Duration::from_secs(300),
                drill_evidence_max_age: Duration::from_secs(60 * 86_400),
            }
        );
    }

    #[test]
    fn overrides_are_read() {
        let s = with(&[
            ("DRY_RUN", "TRUE"),
            ("CONFIRM_SAMPLES", "2"),
            ("CONFIRM_INTERVAL_SECONDS", "0"),
            ("METRICS_NAMESPACE", "PlatformFailover/my-stack"),
            ("HEALTH_CHECK_INTERVAL_SECONDS", "10"),
            ("DRILL_EVIDENCE_DAYS", "7"),
        ])
        .unwrap();
        assert_eq!(s.metrics_namespace, "PlatformFailover/my-stack");
        assert_eq!(s.readiness.health_check_interval, 10);
        assert_eq!(
            s.readiness.drill_evidence_max_age,
            Duration::from_secs(7 * 86_400)
        );
        assert!(s.dry_run);
        assert_eq!(s.confirmation.samples, 2);
        assert_eq!(s.confirmation.interval, Duration::ZERO);
    }

    #[test]
    fn the_readiness_targets_are_read_and_each_bad_one_named() {
        let targets = ReadinessTargets::from_vars([
            ("OPS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ops"),
            ("FUNCTION_NAME_PREFIX", "platform-failover-"),
        ])
        .unwrap();
        assert_eq!(
            targets.function("restore-platform"),
            "platform-failover-restore-platform"
        );
        type Vars<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Vars, &[&str])] = &[
            (
                &[],
                &[
                    "OPS_TOPIC_ARN is required",
                    "FUNCTION_NAME_PREFIX is required",
                ],
            ),
            (
                &[("OPS_TOPIC_ARN", "ops"), ("FUNCTION_NAME_PREFIX", "a b")],
                &[
                    "OPS_TOPIC_ARN is not an SNS topic ARN",
                    "FUNCTION_NAME_PREFIX must be at most 46 letters",
                ],
            ),
        ];
        for (vars, problems) in cases {
            let error = ReadinessTargets::from_vars(vars.iter().copied())
                .unwrap_err()
                .to_string();
            for problem in *problems {
                assert!(error.contains(problem), "{vars:?}: {error}");
            }
        }
    }

    #[test]
    fn the_templates_list_of_regions_is_read_with_its_alarm_names() {
        let s = with(&[
            (
                "REGIONS",
                "us-east-1:platform-use1:hc-a, eu-west-1:platform-euw1:hc-b,ap-southeast-1:platform-apse1:hc-c",
            ),
            ("HEALTH_ALARM_NAME", "pf-{region}-platform-health"),
        ])
        .unwrap();
        assert_eq!(
            s.regions,
            [
                ("us-east-1", "platform-use1", "hc-a"),
                ("eu-west-1", "platform-euw1", "hc-b"),
                ("ap-southeast-1", "platform-apse1", "hc-c"),
            ]
            .map(|(name, cluster, check)| RegionSettings {
                name: name.into(),
                cluster: cluster.into(),
                health_check_id: check.into(),
                alarm_names: vec![format!("pf-{name}-platform-health")],
            })
        );
        let without_alarms = with(&[("REGIONS", "us-east-1:a:hc-a,eu-west-1:b:hc-b")]).unwrap();
        assert!(
            without_alarms
                .regions
                .iter()
                .all(|r| r.alarm_names.is_empty())
        );
    }

    #[test]
    fn each_bad_variable_is_named() {
        type Overrides<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Overrides, &[&str])] = &[
            (&[("INCIDENT_TABLE", "")], &["INCIDENT_TABLE is required"]),
            (
                &[("NOTIFY_TOPIC_ARN", "my-topic")],
                &["NOTIFY_TOPIC_ARN is not an SNS topic ARN"],
            ),
            (&[("DRY_RUN", "maybe")], &["DRY_RUN must be true or false"]),
            (
                &[("METRICS_NAMESPACE", "AWS/Lambda")],
                &["METRICS_NAMESPACE must be 1 to 255 letters"],
            ),
            (
                &[("METRICS_NAMESPACE", "Platform Failover")],
                &["METRICS_NAMESPACE must be 1 to 255 letters"],
            ),
            (
                &[(
                    "RECOVERY_WORKFLOW_ARN",
                    "arn:aws:lambda:us-east-1:123456789012:function:x",
                )],
                &["RECOVERY_WORKFLOW_ARN is not a Step Functions state machine ARN"],
            ),
            (
                &[("VERIFY_DEADLINE_SECONDS", "5")],
                &["VERIFY_DEADLINE_SECONDS must be a whole number from 30 to 14400"],
            ),
            (
                &[
                    ("VERIFY_DEADLINE_SECONDS", "14400"),
                    ("VERIFY_POLL_SECONDS", "5"),
                ],
                &["allows 2880 polls; at most 2000"],
            ),
            (
                &[("TAKEOVER_AFTER_SECONDS", "0")],
                &["TAKEOVER_AFTER_SECONDS must be a whole number from 30"],
            ),
            (
                &[("REMINDER_MINUTES", "0")],
                &["REMINDER_MINUTES must be a whole number from 1 to 1440"],
            ),
            (
                &[("HEALTH_CHECK_INTERVAL_SECONDS", "20")],
                &["HEALTH_CHECK_INTERVAL_SECONDS must be 10 or 30"],
            ),
            (
                &[("HEALTH_CHECK_INTERVAL_SECONDS", "60")],
                &["HEALTH_CHECK_INTERVAL_SECONDS must be a whole number from 10 to 30"],
            ),
            (
                &[("REGIONS", "us-east-1:a:hc-a,eu-west-1:b")],
                &["REGIONS[1] \"eu-west-1:b\" is not region:cluster:health-check-id"],
            ),
            (
                &[("REGIONS", "us-east-1:a:hc-a,us-east-1:b:hc-b")],
                &["REGIONS[1] repeats region \"us-east-1\""],
            ),
            (
                &[("REGIONS", "us-east-1:a:hc-a")],
                &["REGIONS must name at least two regions"],
            ),
            (
                &[("REGIONS", "us-east-1:a:hc-a,eu-west-1:b:")],
                &["REGIONS[1] health_check_id is empty"],
            ),
            (
                &[
                    ("REGIONS", "us-east-1:a:hc-a,eu-west-1:b:hc-b"),
                    ("HEALTH_ALARM_NAME", "pf-platform-health"),
                ],
                &["HEALTH_ALARM_NAME must contain {region}"],
            ),
            (
                &[("RESTART_SPREAD_SECONDS", "601")],
                &["RESTART_SPREAD_SECONDS must be a whole number from 0 to 600"],
            ),
            (
                &[("DRILL_EVIDENCE_DAYS", "0")],
                &["DRILL_EVIDENCE_DAYS must be a whole number from 1 to 3650"],
            ),
            (
                &[("RECONCILER_STALE_MINUTES", "1")],
                &["RECONCILER_STALE_MINUTES must be a whole number from 2 to 1440"],
            ),
            (
                &[("CONFIRM_SAMPLES", "0")],
                &["CONFIRM_SAMPLES must be a whole number from 1 to 10"],
            ),
            (
                &[("CONFIRM_INTERVAL_SECONDS", "ten")],
                &["CONFIRM_INTERVAL_SECONDS must be a whole number"],
            ),
            (
                &[("HEALTHY_CHECKER_RATIO", "1.5")],
                &["HEALTHY_CHECKER_RATIO must be a number from 0"],
            ),
            (
                &[("REGIONS", "us-east-1")],
                &["REGIONS[0] \"us-east-1\" is not region:cluster:health-check-id"],
            ),
            (
                &[("REGIONS", "[{\"name\": \"us-east-1\"}]")],
                &["REGIONS is not a JSON array"],
            ),
            (
                &[
                    ("CONFIRM_SAMPLES", "5"),
                    ("CONFIRM_INTERVAL_SECONDS", "60"),
                    ("TAKEOVER_AFTER_SECONDS", "120"),
                ],
                &["TAKEOVER_AFTER_SECONDS (120) must be at least the confirmation time"],
            ),
            (
                &[(
                    "REGIONS",
                    r#"[{"name":"us-east-1","cluster":"c","health_check_id":"h"}]"#,
                )],
                &["REGIONS must name at least two regions"],
            ),
            (
                &[(
                    "REGIONS",
                    r#"[{"name":"East","cluster":"c","health_check_id":"h"},{"name":"eu-west-1","cluster":"","health_check_id":"h"}]"#,
                )],
                &[
                    "REGIONS[0] name \"East\" is not an AWS region name",
                    "REGIONS[1] cluster is empty",
                    "REGIONS[1] repeats health check \"h\"",
                ],
            ),
            (
                &[(
                    "REGIONS",
                    r#"[{"name":"us-east-1","cluster":"c","health_check_id":"h","alarm":"x"}]"#,
                )],
                &["unknown field `alarm`"],
            ),
            (
                &[
                    ("APPROVAL_MODE", "manual"),
                    ("REQUIRED_APPROVALS", "4"),
                    ("APPROVAL_TIMEOUT_MINUTES", "0"),
                ],
                &[
                    "APPROVAL_MODE must be auto or approve, not \"manual\"",
                    "REQUIRED_APPROVALS must be a whole number from 1 to 3, not \"4\"",
                    "APPROVAL_TIMEOUT_MINUTES must be a whole number from 1 to 1440",
                ],
            ),
            (
                &[("INCIDENT_TABLE", " "), ("PLATFORM_REPLICAS", "-1")],
                &[
                    "INCIDENT_TABLE is required",
                    "PLATFORM_REPLICAS must be a whole number",
                ],
            ),
        ];
        for (overrides, expected) in cases {
            let error = with(overrides).unwrap_err();
            let Error::Config(message) = &error else {
                panic!("expected a configuration error, got {error:?}");
            };
            for part in *expected {
                assert!(
                    message.contains(part),
                    "{overrides:?}: {message:?} should contain {part:?}"
                );
            }
        }
    }

    #[test]
    fn approval_is_off_unless_asked_for() {
        let auto = with(&[]).unwrap().approval;
        assert_eq!(
            (auto.mode, auto.required, auto.timeout),
            (ApprovalMode::Auto, 1, Duration::from_secs(1800))
        );
        let approve = with(&[
            ("APPROVAL_MODE", "Approve"),
            ("REQUIRED_APPROVALS", "2"),
            ("APPROVAL_TIMEOUT_MINUTES", "5"),
        ])
        .unwrap()
        .approval;
        assert_eq!(
            (approve.mode, approve.required, approve.timeout),
            (ApprovalMode::Approve, 2, Duration::from_secs(300))
        );
    }

    #[test]
    fn region_names_are_checked() {
        for (name, ok) in [
            ("us-east-1", true),
            ("us-gov-west-1", true),
            ("eu-central-2", true),
            ("us-east", false),
            ("US-EAST-1", false),
            ("", false),
            ("us--1", false),
        ] {
            assert_eq!(is_region_name(name), ok, "{name}");
        }
    }
}
