//! Whether a recovery would work if an outage began now: the checks of the
//! readiness evaluation, each a pure function of what was read, each
//! failing one with the exact fix.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{RegionSettings, Settings};
use crate::model::diagnosis::ClusterReach;
use crate::model::readiness::{
    Access, AlarmConfig, Check, CheckKind, ClusterFacts, Facts, HealthCheckConfig, ORCHESTRATOR,
    Probe, RegionFacts, Report,
};
use crate::model::trigger::AlarmState;

/// The functions that reach the clusters, each probed as itself.
pub const PROBED: [&str; 3] = ["restore-platform", "verify-recovery", "check-derp-peers"];

/// How to give the functions their Kubernetes access to one cluster.
fn grant(region: &RegionSettings, settings: &Settings) -> String {
    format!(
        "scripts/grant-eks-access --cluster {} --region {} --restore-role-arn <stack output RestorePlatformRoleArn> --read-role-arn <VerifyRecoveryRoleArn> --read-role-arn <CheckDerpPeersRoleArn> --namespace {} --deployment {}",
        region.cluster, region.name, settings.platform.namespace, settings.platform.deployment
    )
}

/// The function a Lambda ARN names (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`).
fn lambda_function(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    let lambda = parts.next() == Some("arn") && parts.nth(1) == Some("lambda");
    let function = parts.nth(2) == Some("function");
    parts.next().filter(|_| lambda && function)
}

/// IAM's `ArnLike`: `*` any run of characters, `?` any one.
fn arn_like(pattern: &str, arn: &str) -> bool {
    fn matches(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => (0..=text.len()).any(|skip| matches(rest, &text[skip..])),
            Some((b'?', rest)) => !text.is_empty() && matches(rest, &text[1..]),
            Some((c, rest)) => text.first() == Some(c) && matches(rest, &text[1..]),
        }
    }
    matches(pattern.as_bytes(), arn.as_bytes())
}

/// Every check, in a fixed order: each region's detection path, access
/// and standby; the orchestrator's own; then the drift between regions.
/// `confirm_outage` is the stack's name of that function.
pub fn evaluate(facts: &Facts, settings: &Settings, confirm_outage: &str) -> Report {
    let mut checks = Vec::new();
    for region in &settings.regions {
        let Some(read) = facts.regions.iter().find(|f| f.region == region.name) else {
            continue;
        };
        checks.extend(alarms(region, read, &facts.alarm_sources, confirm_outage));
        checks.push(health_check(region, &read.health_check, settings));
        checks.extend(access(region, &facts.probes, settings));
        checks.extend(standby(region, &read.cluster, settings));
        checks.push(drill_evidence(region, read, facts.now, settings));
    }
    checks.push(reconciler(&facts.reconciler_last_run, facts.now, settings));
    checks.extend(probe_failures(&facts.probes));
    checks.extend(drift(&facts.regions, &facts.probes, settings));
    Report {
        evaluated_at: facts.now,
        checks,
    }
}

fn alarm_region(alarm: &AlarmConfig) -> &str {
    alarm.arn.split(':').nth(3).unwrap_or("us-east-1")
}

fn alarms(
    region: &RegionSettings,
    read: &RegionFacts,
    sources: &Result<Vec<String>, String>,
    confirm_outage: &str,
) -> Vec<Check> {
    let scope = region.name.as_str();
    let kind = CheckKind::HealthAlarm;
    let deploy = "deploy the stack again (sam deploy): it creates the region's health alarm";
    if region.alarm_names.is_empty() {
        return vec![Check::fail(
            kind,
            scope,
            "no health alarm is configured: an outage here is never detected, only restored by hand",
            "name the region's alarm in the stack's regions and deploy it (sam deploy)",
        )];
    }
    let found = match &read.alarms {
        Ok(found) => found,
        Err(error) => {
            return vec![Check::fail(
                kind,
                scope,
                format!("the alarms could not be read: {error}"),
                "let the readiness function's role call cloudwatch:DescribeAlarms (sam deploy)",
            )];
        }
    };
    let mut checks = Vec::new();
    for name in &region.alarm_names {
        let Some(alarm) = found.iter().find(|a| &a.name == name) else {
            checks.push(Check::fail(
                kind,
                scope,
                format!("alarm {name} does not exist"),
                deploy,
            ));
            continue;
        };
        let at = alarm_region(alarm);
        checks.push(if !alarm.actions_enabled {
            Check::fail(
                kind,
                scope,
                format!("alarm {name}: its actions are disabled, so it invokes nothing"),
                format!("aws cloudwatch enable-alarm-actions --alarm-names {name} --region {at}"),
            )
        } else if !alarm
            .alarm_actions
            .iter()
            .any(|a| lambda_function(a) == Some(confirm_outage))
        {
            Check::fail(
                kind,
                scope,
                format!("alarm {name} does not invoke confirm-outage ({confirm_outage})"),
                deploy,
            )
        } else if alarm.state == AlarmState::InsufficientData {
            Check::fail(
                kind,
                scope,
                format!("alarm {name} is in INSUFFICIENT_DATA: it would not fire on an outage"),
                format!(
                    "check that health check {} exists and reports its HealthCheckStatus metric to CloudWatch in us-east-1, and that the alarm reads that metric",
                    region.health_check_id
                ),
            )
        } else if alarm.state == AlarmState::Alarm {
            Check::warn(
                kind,
                scope,
                format!("alarm {name} is in ALARM: an outage is being handled"),
                format!("failoverctl status --region {scope}"),
            )
        } else {
            Check::pass(kind, scope, format!("alarm {name} is OK and invokes confirm-outage"))
        });
        let kind = CheckKind::InvokePermission;
        checks.push(match sources {
            Err(error) => Check::fail(
                kind,
                scope,
                format!("confirm-outage's resource policy could not be read: {error}"),
                "let the readiness function's role call lambda:GetPolicy on confirm-outage (sam deploy)",
            ),
            Ok(sources) if sources.iter().any(|s| arn_like(s, &alarm.arn)) => Check::pass(
                kind,
                scope,
                format!("alarm {name} may invoke confirm-outage"),
            ),
            Ok(_) => Check::fail(
                kind,
                scope,
                format!("alarm {name} may not invoke confirm-outage: its resource policy has no statement for the alarm"),
                format!(
                    "aws lambda add-permission --function-name {confirm_outage} --statement-id {name}-invoke --action lambda:InvokeFunction --principal lambda.alarms.cloudwatch.amazonaws.com --source-arn {}",
                    alarm.arn
                ),
            ),
        });
    }
    checks
}

fn health_check(
    region: &RegionSettings,
    read: &Result<Option<HealthCheckConfig>, String>,
    settings: &Settings,
) -> Check {
    let (scope, kind, id) = (
        region.name.as_str(),
        CheckKind::HealthCheck,
        &region.health_check_id,
    );
    let policy = &settings.readiness;
    let update = format!("aws route53 update-health-check --health-check-id {id}");
    match read {
        Err(error) => Check::fail(
            kind,
            scope,
            format!("health check {id} could not be read: {error}"),
            "let the readiness function's role call route53:GetHealthCheck on it (sam deploy)",
        ),
        Ok(None) => Check::fail(
            kind,
            scope,
            format!("health check {id} does not exist"),
            format!(
                "create the region's health check and set its id for {scope} in the stack's regions (sam deploy)"
            ),
        ),
        Ok(Some(check)) if check.disabled => Check::fail(
            kind,
            scope,
            format!("health check {id} is disabled: Route 53 reports it healthy whatever happens"),
            format!("{update} --no-disabled"),
        ),
        Ok(Some(check)) if check.inverted => Check::fail(
            kind,
            scope,
            format!("health check {id} is inverted: an outage reads healthy"),
            format!("{update} --no-inverted"),
        ),
        Ok(Some(check))
            if check
                .failure_threshold
                .is_some_and(|t| t != policy.health_check_failure_threshold) =>
        {
            Check::warn(
                kind,
                scope,
                format!(
                    "health check {id} fails after {} checks, the confirmation assumes {}",
                    check.failure_threshold.unwrap_or_default(),
                    policy.health_check_failure_threshold
                ),
                format!(
                    "{update} --failure-threshold {}",
                    policy.health_check_failure_threshold
                ),
            )
        }
        Ok(Some(check))
            if check
                .request_interval
                .is_some_and(|i| i != policy.health_check_interval) =>
        {
            Check::warn(
                kind,
                scope,
                format!(
                    "health check {id} checks every {} s, the confirmation assumes {} s",
                    check.request_interval.unwrap_or_default(),
                    policy.health_check_interval
                ),
                format!(
                    "Route 53 cannot change an interval: set the stack parameter HealthCheckIntervalSeconds (HEALTH_CHECK_INTERVAL_SECONDS) to {}, or recreate the check with --request-interval {}",
                    check.request_interval.unwrap_or_default(),
                    policy.health_check_interval
                ),
            )
        }
        Ok(Some(_)) => Check::pass(
            kind,
            scope,
            format!("health check {id} is enabled, not inverted, as assumed"),
        ),
    }
}

/// Each probed function's access to the region's cluster.
fn access(
    region: &RegionSettings,
    probes: &[Result<Probe, (String, String)>],
    settings: &Settings,
) -> Vec<Check> {
    let scope = region.name.as_str();
    let mut checks = Vec::new();
    for probe in probes.iter().flatten() {
        let function = probe.function.as_str();
        let Some(found) = probe.regions.iter().find(|r| r.region == region.name) else {
            checks.push(Check::fail(
                CheckKind::ClusterAccess,
                scope,
                format!("{function} does not know the region: its configuration differs from the stack's"),
                "deploy the stack again (sam deploy)",
            ));
            continue;
        };
        if let Some(error) = &found.describe_error {
            checks.push(Check::fail(
                CheckKind::ClusterAccess,
                scope,
                format!("{function} cannot describe cluster {}: {error}", region.cluster),
                format!(
                    "let {function}'s role call eks:DescribeCluster on {} (the stack grants it: check the ClusterArns, then sam deploy)",
                    region.cluster
                ),
            ));
            continue;
        }
        checks.push(Check::pass(
            CheckKind::ClusterAccess,
            scope,
            format!("{function} describes cluster {}", region.cluster),
        ));
        let kind = CheckKind::KubernetesPermissions;
        if let Some(error) = &found.review_error {
            checks.push(Check::fail(
                kind,
                scope,
                format!("{function} could not review its permissions: {error}"),
                grant(region, settings),
            ));
            continue;
        }
        let denied: Vec<String> = found
            .answers
            .iter()
            .filter(|a| !a.allowed)
            .map(|a| a.access.to_string())
            .collect();
        checks.push(if denied.is_empty() {
            Check::pass(
                kind,
                scope,
                format!(
                    "{function} may make each of its {} requests",
                    found.answers.len()
                ),
            )
        } else {
            Check::fail(
                kind,
                scope,
                format!("{function} may not: {}", denied.join("; ")),
                grant(region, settings),
            )
        });
    }
    checks
}

fn probe_failures(probes: &[Result<Probe, (String, String)>]) -> Vec<Check> {
    probes
        .iter()
        .filter_map(|p| p.as_ref().err())
        .map(|(function, error)| {
            Check::fail(
                CheckKind::KubernetesPermissions,
                ORCHESTRATOR,
                format!("{function} could not be probed: {error}"),
                format!("let the readiness function's role invoke {function} (sam deploy), then see {function}'s logs"),
            )
        })
        .collect()
}

fn standby(
    region: &RegionSettings,
    read: &Result<ClusterFacts, String>,
    settings: &Settings,
) -> Vec<Check> {
    let scope = region.name.as_str();
    let (namespace, name) = (&settings.platform.namespace, &settings.platform.deployment);
    let cluster = match read {
        Err(error) => {
            return vec![Check::fail(
                CheckKind::ClusterActive,
                scope,
                format!("cluster {} could not be read: {error}", region.cluster),
                grant(region, settings),
            )];
        }
        Ok(cluster) => cluster,
    };
    let active = match &cluster.reach {
        ClusterReach::Reachable => Check::pass(
            CheckKind::ClusterActive,
            scope,
            format!("cluster {} is ACTIVE and its API answers", region.cluster),
        ),
        ClusterReach::NotActive(status) => Check::fail(
            CheckKind::ClusterActive,
            scope,
            format!("cluster {} is {status}", region.cluster),
            format!(
                "aws eks describe-cluster --name {} --region {scope}: wait for ACTIVE or repair the cluster",
                region.cluster
            ),
        ),
        ClusterReach::Unreachable(why) => Check::fail(
            CheckKind::ClusterActive,
            scope,
            format!(
                "the API of cluster {} does not answer: {why}",
                region.cluster
            ),
            grant(region, settings),
        ),
    };
    if cluster.reach != ClusterReach::Reachable {
        return vec![active];
    }
    let wanted = settings.platform.replicas;
    let ready = match cluster.replicas {
        None => Check::fail(
            CheckKind::PlatformReady,
            scope,
            format!("deployment {namespace}/{name} does not exist"),
            format!(
                "install the platform in {scope} (helm upgrade --install loft vcluster-platform --namespace {namespace})"
            ),
        ),
        Some((_, ready)) if ready < wanted => Check::fail(
            CheckKind::PlatformReady,
            scope,
            format!("deployment {namespace}/{name}: {ready} of {wanted} replicas ready"),
            format!(
                "kubectl --namespace {namespace} describe deployment {name} (in {scope}): find why its pods are not ready"
            ),
        ),
        Some((_, ready)) => Check::pass(
            CheckKind::PlatformReady,
            scope,
            format!("deployment {namespace}/{name}: {ready} replicas ready"),
        ),
    };
    let listed = cluster.peers.as_deref().unwrap_or_default();
    let offline: Vec<&str> = listed
        .iter()
        .filter(|p| !p.online)
        .map(|p| p.name.as_str())
        .collect();
    let list = format!("kubectl get networkpeers.storage.loft.sh (in {scope})");
    let peers = if cluster.peers.is_none() {
        Check::warn(
            CheckKind::DerpPeers,
            scope,
            "the DERP peers could not be read",
            format!("{list}; then see verify-recovery's logs"),
        )
    } else if listed.is_empty() {
        Check::warn(
            CheckKind::DerpPeers,
            scope,
            "no DERP peers are registered",
            format!("{list}: check that the platform's DERP relays registered"),
        )
    } else if offline.is_empty() {
        Check::pass(
            CheckKind::DerpPeers,
            scope,
            format!("{} DERP peers online", listed.len()),
        )
    } else {
        Check::warn(
            CheckKind::DerpPeers,
            scope,
            format!("DERP peers offline: {}", offline.join(", ")),
            format!("{list}: check the offline peers' relays"),
        )
    };
    vec![active, ready, peers]
}

fn drill_evidence(
    region: &RegionSettings,
    read: &RegionFacts,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Check {
    let (scope, kind) = (region.name.as_str(), CheckKind::DrillEvidence);
    let max = settings.readiness.drill_evidence_max_age;
    let max_days = max.as_secs() / 86_400;
    let drill = format!(
        "exercise the recovery of {scope} on a non-production stack (scripts/drill on the local cloud proves the orchestrator, not your stack)"
    );
    match &read.last_recovery {
        Err(error) => Check::fail(
            kind,
            scope,
            format!("the incident records could not be read: {error}"),
            "let the readiness function's role query the incident table (sam deploy)",
        ),
        Ok(None) => Check::warn(
            kind,
            scope,
            format!("no successful recovery or drill in the last {max_days} days"),
            drill,
        ),
        Ok(Some(at)) => {
            let age = now
                .signed_duration_since(*at)
                .to_std()
                .unwrap_or(Duration::ZERO);
            // The time, not the age, so that the outcome only changes when
            // the evidence does.
            if age > max {
                Check::warn(
                    kind,
                    scope,
                    format!(
                        "the last successful recovery, at {}, is more than {max_days} days old",
                        at.to_rfc3339()
                    ),
                    drill,
                )
            } else {
                Check::pass(
                    kind,
                    scope,
                    format!("last recovered at {}", at.to_rfc3339()),
                )
            }
        }
    }
}

fn reconciler(
    last_run: &Result<Option<DateTime<Utc>>, String>,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Check {
    let kind = CheckKind::Reconciler;
    let stale = settings.readiness.reconciler_stale_after;
    let fix = "check that the stack's ReconcileSchedule rule is enabled (aws events describe-rule), then see the reconcile function's errors";
    match last_run {
        Err(error) => Check::fail(
            kind,
            ORCHESTRATOR,
            format!("its heartbeat could not be read: {error}"),
            fix,
        ),
        Ok(None) => Check::fail(kind, ORCHESTRATOR, "the reconciler never ran", fix),
        Ok(Some(at)) => {
            let age = now
                .signed_duration_since(*at)
                .to_std()
                .unwrap_or(Duration::ZERO);
            let minutes = stale.as_secs() / 60;
            if age > stale {
                Check::fail(
                    kind,
                    ORCHESTRATOR,
                    format!(
                        "the reconciler has not run for more than {minutes} min (last at {})",
                        at.to_rfc3339()
                    ),
                    fix,
                )
            } else {
                Check::pass(
                    kind,
                    ORCHESTRATOR,
                    format!("the reconciler ran within {minutes} min"),
                )
            }
        }
    }
}

/// `major.minor` as numbers, for ordering versions.
fn version_key(version: &str) -> (u32, u32) {
    let mut parts = version
        .split('.')
        .map(|p| p.trim_end_matches('+').parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// `us-east-1 1.31, eu-west-1 1.30`.
fn by_region<T: std::fmt::Display>(values: &[(&str, T)]) -> String {
    values
        .iter()
        .map(|(region, value)| format!("{region} {value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The most common value; on a tie, the first region's.
fn majority<'a, T: Ord>(values: &'a [(&str, T)]) -> Option<&'a T> {
    let mut counts: BTreeMap<&T, usize> = BTreeMap::new();
    for (_, value) in values {
        *counts.entry(value).or_default() += 1;
    }
    let most = counts.values().copied().max()?;
    values
        .iter()
        .map(|(_, v)| v)
        .find(|v| counts.get(v) == Some(&most))
}

fn drift(
    regions: &[RegionFacts],
    probes: &[Result<Probe, (String, String)>],
    settings: &Settings,
) -> Vec<Check> {
    let read: Vec<(&str, &ClusterFacts)> = regions
        .iter()
        .filter_map(|r| r.cluster.as_ref().ok().map(|c| (r.region.as_str(), c)))
        .filter(|(_, c)| c.reach == ClusterReach::Reachable)
        .collect();
    let cluster = |name: &str| {
        settings
            .region(name)
            .map_or(name.to_owned(), |r| r.cluster.clone())
    };
    let mut checks = Vec::new();

    let versions: Vec<(&str, &str)> = read
        .iter()
        .filter_map(|(r, c)| c.kubernetes_version.as_deref().map(|v| (*r, v)))
        .collect();
    let distinct: BTreeSet<&str> = versions.iter().map(|(_, v)| *v).collect();
    let kind = CheckKind::KubernetesVersionDrift;
    checks.push(if distinct.len() > 1 {
        let newest = distinct.iter().copied().max_by_key(|v| version_key(v)).unwrap_or_default();
        let behind: Vec<String> = versions
            .iter()
            .filter(|(_, v)| *v != newest)
            .map(|(r, _)| {
                format!("aws eks update-cluster-version --name {} --kubernetes-version {newest} --region {r}", cluster(r))
            })
            .collect();
        Check::fail(
            kind,
            ORCHESTRATOR,
            format!("the regions run different Kubernetes versions: {}", by_region(&versions)),
            behind.join("; "),
        )
    } else {
        Check::pass(kind, ORCHESTRATOR, format!("Kubernetes {}", by_region(&versions)))
    });

    let mut images: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (region, facts) in &read {
        for image in &facts.images {
            images
                .entry(image.container.as_str())
                .or_default()
                .push((region, image.image.as_str()));
        }
    }
    let namespace = &settings.platform.namespace;
    let deployment = &settings.platform.deployment;
    let kind = CheckKind::ImageDrift;
    let mut differing = Vec::new();
    let mut fixes = Vec::new();
    for (container, values) in &images {
        let distinct: BTreeSet<&str> = values.iter().map(|(_, v)| *v).collect();
        let missing: Vec<&str> = read
            .iter()
            .map(|(r, _)| *r)
            .filter(|r| !values.iter().any(|(v, _)| v == r))
            .collect();
        if distinct.len() > 1 || !missing.is_empty() {
            let wanted = majority(values).copied().unwrap_or_default();
            differing.push(format!(
                "container {container}: {}{}",
                by_region(values),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(", none in {}", missing.join(", "))
                }
            ));
            for (region, image) in values {
                if *image != wanted {
                    fixes.push(format!(
                        "in {region}: kubectl --namespace {namespace} set image deployment/{deployment} {container}={wanted} (or upgrade the platform's release to it)"
                    ));
                }
            }
        }
    }
    checks.push(if differing.is_empty() {
        Check::pass(
            kind,
            ORCHESTRATOR,
            "every region runs the same platform images",
        )
    } else {
        let fix = if fixes.is_empty() {
            "run the same platform release in every region".to_owned()
        } else {
            fixes.join("; ")
        };
        Check::fail(
            kind,
            ORCHESTRATOR,
            format!("the platform images differ: {}", differing.join("; ")),
            fix,
        )
    });

    let replicas: Vec<(&str, u32)> = read
        .iter()
        .filter_map(|(r, c)| c.replicas.map(|(wanted, _)| (*r, wanted)))
        .collect();
    let distinct: BTreeSet<u32> = replicas.iter().map(|(_, n)| *n).collect();
    let kind = CheckKind::ReplicasDrift;
    let wanted = settings.platform.replicas;
    checks.push(if distinct.len() > 1 || distinct.iter().any(|n| *n != wanted) {
        let fixes: Vec<String> = replicas
            .iter()
            .filter(|(_, n)| *n != wanted)
            .map(|(r, _)| format!("in {r}: kubectl --namespace {namespace} scale deployment/{deployment} --replicas={wanted}"))
            .collect();
        Check::warn(
            kind,
            ORCHESTRATOR,
            format!("the platform deployments want {} replicas (PLATFORM_REPLICAS is {wanted})", by_region(&replicas)),
            fixes.join("; "),
        )
    } else {
        Check::pass(kind, ORCHESTRATOR, format!("every region wants {wanted} replicas"))
    });

    checks.push(permission_drift(probes, settings));
    checks
}

/// What a function may do in one region but not in another.
fn permission_drift(probes: &[Result<Probe, (String, String)>], settings: &Settings) -> Check {
    let kind = CheckKind::PermissionDrift;
    let mut differences = Vec::new();
    let mut fixes = Vec::new();
    for probe in probes.iter().flatten() {
        let allowed: Vec<(&str, BTreeSet<&Access>)> = probe
            .regions
            .iter()
            .filter(|r| r.describe_error.is_none() && r.review_error.is_none())
            .map(|r| {
                let set = r
                    .answers
                    .iter()
                    .filter(|a| a.allowed)
                    .map(|a| &a.access)
                    .collect();
                (r.region.as_str(), set)
            })
            .collect();
        let every: BTreeSet<&Access> = allowed
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .collect();
        for (region, set) in &allowed {
            let lacking: Vec<String> = every.difference(set).map(ToString::to_string).collect();
            if lacking.is_empty() {
                continue;
            }
            differences.push(format!(
                "{} may in another region but not in {region}: {}",
                probe.function,
                lacking.join("; ")
            ));
            if let Some(settings_region) = settings.region(region) {
                let fix = grant(settings_region, settings);
                if !fixes.contains(&fix) {
                    fixes.push(fix);
                }
            }
        }
    }
    if differences.is_empty() {
        Check::pass(
            kind,
            ORCHESTRATOR,
            "each function may do the same in every region",
        )
    } else {
        Check::fail(kind, ORCHESTRATOR, differences.join("; "), fixes.join("; "))
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod function_names {
    use super::{arn_like, lambda_function};

    #[test]
    fn a_source_arn_matches_as_iam_arn_like_does() {
        let alarm =
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:stack-us-east-1-platform-health";
        let cases = [
            (alarm, true),
            ("*", true),
            (
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:stack-*",
                true,
            ),
            (
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:stack-us-east-?-platform-health",
                true,
            ),
            (
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:other-*",
                false,
            ),
            (
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:stack-us-east-1",
                false,
            ),
            ("", false),
        ];
        for (pattern, want) in cases {
            assert_eq!(arn_like(pattern, alarm), want, "{pattern}");
        }
    }

    #[test]
    fn a_lambda_arn_names_its_function() {
        let cases = [
            (
                "arn:aws:lambda:us-east-1:123456789012:function:stack-confirm-outage",
                Some("stack-confirm-outage"),
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:stack-confirm-outage:live",
                Some("stack-confirm-outage"),
            ),
            ("arn:aws:sns:us-east-1:123456789012:function:x", None),
            ("arn:aws:lambda:us-east-1:123456789012:layer:x", None),
            ("stack-confirm-outage", None),
        ];
        for (arn, want) in cases {
            assert_eq!(lambda_function(arn), want, "{arn}");
        }
    }
}
