use chrono::TimeZone;

use super::*;
use crate::config::tests::sample_settings;
use crate::model::peers::PeerView;
use crate::model::readiness::{AccessAnswer, ContainerImage, RegionAccess, Status};

const CONFIRM: &str = "stack-confirm-outage";
const CONFIRM_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:stack-confirm-outage";
const IMAGE: &str = "ghcr.io/loft-sh/vcluster-platform:4.8.0";

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0)
        .single()
        .expect("a time")
}

fn alarm(name: &str) -> AlarmConfig {
    AlarmConfig {
        name: name.into(),
        arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
        actions_enabled: true,
        alarm_actions: vec![CONFIRM_ARN.into()],
        state: AlarmState::Ok,
    }
}

fn cluster() -> ClusterFacts {
    ClusterFacts {
        reach: ClusterReach::Reachable,
        kubernetes_version: Some("1.31".into()),
        replicas: Some((3, 3)),
        images: vec![ContainerImage {
            container: "manager".into(),
            image: IMAGE.into(),
        }],
        peers: Some(vec![PeerView {
            name: "peer-a".into(),
            online: true,
            last_seen: None,
            home_derp_region: None,
        }]),
    }
}

fn access(verb: &str, resource: &str) -> Access {
    Access {
        verb: verb.into(),
        group: "apps".into(),
        resource: resource.into(),
        subresource: None,
        namespace: Some("vcluster-platform".into()),
        name: Some("loft".into()),
    }
}

fn probe(function: &str) -> Probe {
    Probe {
        function: function.into(),
        regions: ["us-east-1", "eu-west-1"]
            .iter()
            .map(|region| RegionAccess {
                region: (*region).into(),
                describe_error: None,
                answers: vec![
                    AccessAnswer {
                        access: access("get", "deployments"),
                        allowed: true,
                        reason: String::new(),
                    },
                    AccessAnswer {
                        access: access("patch", "deployments"),
                        allowed: true,
                        reason: String::new(),
                    },
                ],
                review_error: None,
            })
            .collect(),
    }
}

/// A setup in which every check passes.
fn ready() -> Facts {
    let region = |name: &str, alarm_name: &str, check: &str| RegionFacts {
        region: name.into(),
        alarms: Ok(vec![alarm(alarm_name)]),
        health_check: Ok(Some(HealthCheckConfig {
            id: check.into(),
            disabled: false,
            inverted: false,
            request_interval: Some(30),
            failure_threshold: Some(3),
        })),
        cluster: Ok(cluster()),
        last_recovery: Ok(Some(at(1, 0))),
    };
    Facts {
        now: at(2, 0),
        regions: vec![
            region("us-east-1", "alarm-a", "hc-a"),
            region("eu-west-1", "alarm-b", "hc-b"),
        ],
        alarm_sources: Ok(vec![alarm("alarm-a").arn, alarm("alarm-b").arn]),
        probes: PROBED.iter().map(|f| Ok(probe(f))).collect(),
        reconciler_last_run: Ok(Some(at(2, 0) - chrono::Duration::seconds(50))),
    }
}

fn region<'a>(facts: &'a mut Facts, name: &str) -> &'a mut RegionFacts {
    facts
        .regions
        .iter_mut()
        .find(|r| r.region == name)
        .expect("a region")
}

fn east(facts: &mut Facts) -> &mut RegionFacts {
    region(facts, "us-east-1")
}

fn west(facts: &mut Facts) -> &mut RegionFacts {
    region(facts, "eu-west-1")
}

fn east_cluster(facts: &mut Facts) -> &mut ClusterFacts {
    east(facts).cluster.as_mut().expect("read")
}

fn evaluated(facts: &Facts) -> Report {
    evaluate(facts, &sample_settings(), CONFIRM)
}

#[test]
fn a_ready_setup_passes_every_check() {
    let report = evaluated(&ready());
    assert_eq!(report.status(), Status::Pass, "{:#?}", report.findings());
    let kinds: BTreeSet<CheckKind> = report.checks.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        CheckKind::ALL.into_iter().collect(),
        "every kind of check was made"
    );
    assert!(report.checks.iter().all(|c| c.fix.is_none()));
}

type Change = fn(&mut Facts);

/// One thing wrong, and the one check it must fail (or warn), with words
/// its detail and its fix must contain.
struct Case {
    name: &'static str,
    change: Change,
    kind: CheckKind,
    scope: &'static str,
    status: Status,
    detail: &'static str,
    fix: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "a deleted alarm",
        change: |f| east(f).alarms = Ok(vec![]),
        kind: CheckKind::HealthAlarm,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "alarm alarm-a does not exist",
        fix: "sam deploy",
    },
    Case {
        name: "a disabled alarm action",
        change: |f| {
            if let Ok(alarms) = &mut east(f).alarms
                && let Some(alarm) = alarms.first_mut()
            {
                alarm.actions_enabled = false;
            }
        },
        kind: CheckKind::HealthAlarm,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "actions are disabled",
        fix: "aws cloudwatch enable-alarm-actions --alarm-names alarm-a --region us-east-1",
    },
    Case {
        name: "an alarm acting on something else",
        change: |f| {
            if let Ok(alarms) = &mut west(f).alarms
                && let Some(alarm) = alarms.first_mut()
            {
                alarm.alarm_actions = vec!["arn:aws:sns:us-east-1:123456789012:other".into()];
            }
        },
        kind: CheckKind::HealthAlarm,
        scope: "eu-west-1",
        status: Status::Fail,
        detail: "does not invoke confirm-outage",
        fix: "sam deploy",
    },
    Case {
        name: "an alarm in INSUFFICIENT_DATA",
        change: |f| {
            if let Ok(alarms) = &mut east(f).alarms
                && let Some(alarm) = alarms.first_mut()
            {
                alarm.state = AlarmState::InsufficientData;
            }
        },
        kind: CheckKind::HealthAlarm,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "INSUFFICIENT_DATA",
        fix: "health check hc-a exists",
    },
    Case {
        name: "an alarm in ALARM",
        change: |f| {
            if let Ok(alarms) = &mut east(f).alarms
                && let Some(alarm) = alarms.first_mut()
            {
                alarm.state = AlarmState::Alarm;
            }
        },
        kind: CheckKind::HealthAlarm,
        scope: "us-east-1",
        status: Status::Warn,
        detail: "an outage is being handled",
        fix: "failoverctl status --region us-east-1",
    },
    Case {
        name: "alarms that cannot be read",
        change: |f| east(f).alarms = Err("CloudWatch is unavailable: throttled".into()),
        kind: CheckKind::HealthAlarm,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "throttled",
        fix: "cloudwatch:DescribeAlarms",
    },
    Case {
        name: "a missing invoke permission",
        change: |f| f.alarm_sources = Ok(vec![alarm("alarm-a").arn]),
        kind: CheckKind::InvokePermission,
        scope: "eu-west-1",
        status: Status::Fail,
        detail: "alarm alarm-b may not invoke confirm-outage",
        fix: "aws lambda add-permission --function-name stack-confirm-outage --statement-id alarm-b-invoke --action lambda:InvokeFunction --principal lambda.alarms.cloudwatch.amazonaws.com --source-arn arn:aws:cloudwatch:us-east-1:123456789012:alarm:alarm-b",
    },
    Case {
        name: "a deleted health check",
        change: |f| east(f).health_check = Ok(None),
        kind: CheckKind::HealthCheck,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "health check hc-a does not exist",
        fix: "set its id for us-east-1",
    },
    Case {
        name: "a disabled health check",
        change: |f| {
            if let Ok(Some(check)) = &mut west(f).health_check {
                check.disabled = true;
            }
        },
        kind: CheckKind::HealthCheck,
        scope: "eu-west-1",
        status: Status::Fail,
        detail: "disabled",
        fix: "aws route53 update-health-check --health-check-id hc-b --no-disabled",
    },
    Case {
        name: "an inverted health check",
        change: |f| {
            if let Ok(Some(check)) = &mut east(f).health_check {
                check.inverted = true;
            }
        },
        kind: CheckKind::HealthCheck,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "inverted",
        fix: "--no-inverted",
    },
    Case {
        name: "another failure threshold",
        change: |f| {
            if let Ok(Some(check)) = &mut east(f).health_check {
                check.failure_threshold = Some(5);
            }
        },
        kind: CheckKind::HealthCheck,
        scope: "us-east-1",
        status: Status::Warn,
        detail: "fails after 5 checks, the confirmation assumes 3",
        fix: "--failure-threshold 3",
    },
    Case {
        name: "another request interval",
        change: |f| {
            if let Ok(Some(check)) = &mut east(f).health_check {
                check.request_interval = Some(10);
            }
        },
        kind: CheckKind::HealthCheck,
        scope: "us-east-1",
        status: Status::Warn,
        detail: "every 10 s, the confirmation assumes 30 s",
        fix: "HEALTH_CHECK_INTERVAL_SECONDS) to 10",
    },
    Case {
        name: "a reconciler that stopped",
        change: |f| f.reconciler_last_run = Ok(Some(at(1, 23))),
        kind: CheckKind::Reconciler,
        scope: ORCHESTRATOR,
        status: Status::Fail,
        detail: "has not run for more than 5 min (last at 2026-12-01T23:00:00+00:00)",
        fix: "ReconcileSchedule",
    },
    Case {
        name: "a reconciler that never ran",
        change: |f| f.reconciler_last_run = Ok(None),
        kind: CheckKind::Reconciler,
        scope: ORCHESTRATOR,
        status: Status::Fail,
        detail: "never ran",
        fix: "ReconcileSchedule",
    },
    Case {
        name: "a missing Kubernetes permission",
        change: |f| {
            if let Ok(probe) = &mut f.probes[0]
                && let Some(answer) = probe.regions[0].answers.get_mut(1)
            {
                answer.allowed = false;
            }
        },
        kind: CheckKind::KubernetesPermissions,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "restore-platform may not: patch apps/deployments loft in vcluster-platform",
        fix: "scripts/grant-eks-access --cluster platform-us-east-1 --region us-east-1",
    },
    Case {
        name: "a review the cluster refused",
        change: |f| {
            if let Ok(probe) = &mut f.probes[1] {
                probe.regions[1].review_error = Some("Kubernetes rejected the request: 401".into());
                probe.regions[1].answers.clear();
            }
        },
        kind: CheckKind::KubernetesPermissions,
        scope: "eu-west-1",
        status: Status::Fail,
        detail: "verify-recovery could not review its permissions: Kubernetes rejected the request: 401",
        fix: "scripts/grant-eks-access --cluster platform-eu-west-1 --region eu-west-1",
    },
    Case {
        name: "a cluster a function cannot describe",
        change: |f| {
            if let Ok(probe) = &mut f.probes[2] {
                probe.regions[0].describe_error =
                    Some("EKS rejected the request: AccessDenied".into());
            }
        },
        kind: CheckKind::ClusterAccess,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "check-derp-peers cannot describe cluster platform-us-east-1: EKS rejected the request: AccessDenied",
        fix: "eks:DescribeCluster on platform-us-east-1",
    },
    Case {
        name: "a function that could not be probed",
        change: |f| {
            f.probes[0] = Err((
                "restore-platform".into(),
                "Lambda is unavailable: timeout".into(),
            ));
        },
        kind: CheckKind::KubernetesPermissions,
        scope: ORCHESTRATOR,
        status: Status::Fail,
        detail: "restore-platform could not be probed: Lambda is unavailable: timeout",
        fix: "invoke restore-platform",
    },
    Case {
        name: "an inactive cluster",
        change: |f| east_cluster(f).reach = ClusterReach::NotActive("UPDATING".into()),
        kind: CheckKind::ClusterActive,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "cluster platform-us-east-1 is UPDATING",
        fix: "aws eks describe-cluster --name platform-us-east-1 --region us-east-1",
    },
    Case {
        name: "a missing deployment",
        change: |f| {
            let cluster = east_cluster(f);
            cluster.replicas = None;
            cluster.images.clear();
        },
        kind: CheckKind::PlatformReady,
        scope: "us-east-1",
        status: Status::Fail,
        detail: "deployment vcluster-platform/loft does not exist",
        fix: "helm upgrade --install",
    },
    Case {
        name: "a standby with too few ready replicas",
        change: |f| {
            if let Ok(cluster) = &mut west(f).cluster {
                cluster.replicas = Some((3, 1));
            }
        },
        kind: CheckKind::PlatformReady,
        scope: "eu-west-1",
        status: Status::Fail,
        detail: "1 of 3 replicas ready",
        fix: "describe deployment loft",
    },
    Case {
        name: "an offline DERP peer",
        change: |f| {
            if let Some(peers) = &mut east_cluster(f).peers
                && let Some(peer) = peers.first_mut()
            {
                peer.online = false;
            }
        },
        kind: CheckKind::DerpPeers,
        scope: "us-east-1",
        status: Status::Warn,
        detail: "DERP peers offline: peer-a",
        fix: "networkpeers",
    },
    Case {
        name: "DERP peers that could not be read",
        change: |f| east_cluster(f).peers = None,
        kind: CheckKind::DerpPeers,
        scope: "us-east-1",
        status: Status::Warn,
        detail: "could not be read",
        fix: "verify-recovery's logs",
    },
    Case {
        name: "no DERP peers registered",
        change: |f| east_cluster(f).peers = Some(vec![]),
        kind: CheckKind::DerpPeers,
        scope: "us-east-1",
        status: Status::Warn,
        detail: "no DERP peers are registered",
        fix: "relays registered",
    },
    Case {
        name: "an older Kubernetes in one region",
        change: |f| {
            if let Ok(cluster) = &mut west(f).cluster {
                cluster.kubernetes_version = Some("1.30".into());
            }
        },
        kind: CheckKind::KubernetesVersionDrift,
        scope: ORCHESTRATOR,
        status: Status::Fail,
        detail: "us-east-1 1.31, eu-west-1 1.30",
        fix: "aws eks update-cluster-version --name platform-eu-west-1 --kubernetes-version 1.31 --region eu-west-1",
    },
    Case {
        name: "versions ordered as numbers, not text",
        change: |f| east_cluster(f).kubernetes_version = Some("1.9".into()),
        kind: CheckKind::KubernetesVersionDrift,
        scope: ORCHESTRATOR,
        status: Status::Fail,
        detail: "us-east-1 1.9, eu-west-1 1.31",
        fix: "--name platform-us-east-1 --kubernetes-version 1.31 --region us-east-1",
    },
    Case {
        name: "an older platform image in one region",
        change: |f| {
            if let Ok(cluster) = &mut west(f).cluster
                && let Some(image) = cluster.images.first_mut()
            {
                image.image = "ghcr.io/loft-sh/vcluster-platform:4.7.2".into();
            }
        },
        kind: CheckKind::ImageDrift,
        scope: ORCHESTRATOR,
        status: Status::Fail,
        detail: "container manager: us-east-1 ghcr.io/loft-sh/vcluster-platform:4.8.0, eu-west-1 ghcr.io/loft-sh/vcluster-platform:4.7.2",
        fix: "in eu-west-1: kubectl --namespace vcluster-platform set image deployment/loft manager=ghcr.io/loft-sh/vcluster-platform:4.8.0",
    },
    Case {
        name: "a deployment that wants other replicas",
        change: |f| east_cluster(f).replicas = Some((5, 5)),
        kind: CheckKind::ReplicasDrift,
        scope: ORCHESTRATOR,
        status: Status::Warn,
        detail: "us-east-1 5, eu-west-1 3",
        fix: "in us-east-1: kubectl --namespace vcluster-platform scale deployment/loft --replicas=3",
    },
    Case {
        name: "a permission granted in one region only",
        change: |f| {
            if let Ok(probe) = &mut f.probes[0]
                && let Some(answer) = probe.regions[1].answers.get_mut(1)
            {
                answer.allowed = false;
            }
        },
        kind: CheckKind::PermissionDrift,
        scope: ORCHESTRATOR,
        status: Status::Fail,
        detail: "restore-platform may in another region but not in eu-west-1: patch apps/deployments loft",
        fix: "scripts/grant-eks-access --cluster platform-eu-west-1 --region eu-west-1",
    },
    Case {
        name: "no recovery on record",
        change: |f| east(f).last_recovery = Ok(None),
        kind: CheckKind::DrillEvidence,
        scope: "us-east-1",
        status: Status::Warn,
        detail: "no successful recovery or drill in the last 60 days",
        fix: "exercise the recovery of us-east-1",
    },
    Case {
        name: "a recovery long ago",
        change: |f| {
            west(f).last_recovery = Ok(Some(at(2, 0) - chrono::Duration::days(61)));
        },
        kind: CheckKind::DrillEvidence,
        scope: "eu-west-1",
        status: Status::Warn,
        detail: "at 2026-10-02T00:00:00+00:00, is more than 60 days old",
        fix: "exercise the recovery of eu-west-1",
    },
];

#[test]
fn each_thing_wrong_fails_its_check_with_its_fix() {
    for case in CASES {
        let mut facts = ready();
        (case.change)(&mut facts);
        let report = evaluated(&facts);
        let found: Vec<&Check> = report
            .checks
            .iter()
            .filter(|c| c.kind == case.kind && c.scope == case.scope && c.status == case.status)
            .collect();
        assert!(
            found.iter().any(|c| c.detail.contains(case.detail)
                && c.fix.as_deref().is_some_and(|f| f.contains(case.fix))),
            "{}: no {:?} {} check in {} with {:?} and fix {:?}; found {:#?}",
            case.name,
            case.status,
            case.kind,
            case.scope,
            case.detail,
            case.fix,
            report.findings()
        );
        assert_eq!(
            report.status().max(case.status),
            report.status(),
            "{}",
            case.name
        );
    }
}

#[test]
fn a_read_that_failed_is_a_failing_check_not_a_missing_one() {
    let mut facts = ready();
    east(&mut facts).cluster = Err("EKS is unavailable: throttled".into());
    east(&mut facts).health_check = Err("Route 53 is unavailable: throttled".into());
    let report = evaluated(&facts);
    let failing: Vec<(CheckKind, &str)> = report
        .findings()
        .iter()
        .map(|c| (c.kind, c.scope.as_str()))
        .collect();
    assert_eq!(
        failing,
        [
            (CheckKind::HealthCheck, "us-east-1"),
            (CheckKind::ClusterActive, "us-east-1")
        ]
    );
    // The region that could not be read is left out of the comparison.
    let drift = report
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::KubernetesVersionDrift)
        .expect("a drift check");
    assert_eq!(drift.detail, "Kubernetes eu-west-1 1.31");
}

#[test]
fn a_healthy_setup_evaluated_twice_has_the_same_outcome() {
    let first = evaluated(&ready());
    let mut later = ready();
    later.now = at(2, 0) + chrono::Duration::minutes(3);
    assert!(first.same_outcome(&evaluated(&later)));
}

#[test]
fn the_majority_image_is_the_wanted_one() {
    type Values<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Values, Option<&str>)] = &[
        (&[("a", "x"), ("b", "y"), ("c", "y")], Some("y")),
        (&[("a", "x"), ("b", "y")], Some("x")),
        (&[("a", "x")], Some("x")),
        (&[], None),
    ];
    for (values, want) in cases {
        assert_eq!(majority(values).copied(), *want, "{values:?}");
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn with(chosen: &[usize]) -> Report {
        let mut facts = ready();
        for index in chosen {
            (CASES[*index].change)(&mut facts);
        }
        evaluated(&facts)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever is wrong at once: the report is as bad as its worst
        /// check; a check says what to do exactly when it did not pass;
        /// something wrong never reads as ready; and one more thing wrong
        /// never makes the report better.
        #[test]
        fn things_wrong_at_once_never_read_better_than_one_of_them(
            chosen in proptest::sample::subsequence((0..CASES.len()).collect::<Vec<_>>(), 0..=CASES.len()),
            extra in 0..CASES.len(),
        ) {
            let report = with(&chosen);
            let worst = report.checks.iter().map(|c| c.status).max().unwrap_or(Status::Pass);
            prop_assert_eq!(report.status(), worst);
            prop_assert!(report.checks.iter().all(|c| (c.status == Status::Pass) == c.fix.is_none()));
            prop_assert_eq!(report.status() == Status::Pass, chosen.is_empty());
            let mut more = chosen.clone();
            more.push(extra);
            prop_assert!(with(&more).status() >= report.status());
        }
    }
}
