//! Is the region back? (runbook steps 4 and 5)

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::diagnosis::DeploymentView;
use crate::model::health::Health;
use crate::rules::peers::PeersVerdict;

/// Where a rollout stands (`kubectl rollout status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rollout", content = "detail")]
pub enum Rollout {
    Done,
    InProgress(String),
    /// The deployment's `Progressing` condition gave up (`ProgressDeadlineExceeded`).
    Failed(String),
}

pub fn rollout(deployment: &DeploymentView, wanted: u32) -> Rollout {
    if deployment.progress_deadline_exceeded {
        return Rollout::Failed(
            "the rollout exceeded its progress deadline (ProgressDeadlineExceeded)".into(),
        );
    }
    if deployment.observed_generation < deployment.generation {
        return Rollout::InProgress(format!(
            "the controller has not seen generation {} yet (observed {})",
            deployment.generation, deployment.observed_generation
        ));
    }
    let counts = [
        ("updated", deployment.updated),
        ("ready", deployment.ready),
        ("available", deployment.available),
    ];
    match counts.iter().find(|(_, n)| *n < wanted) {
        Some((what, n)) => Rollout::InProgress(format!("{n} of {wanted} replicas {what}")),
        None if deployment.replicas < wanted => Rollout::InProgress(format!(
            "{} of {wanted} replicas wanted",
            deployment.replicas
        )),
        None => Rollout::Done,
    }
}

/// Healthy on the last `needed` readings in a row: one good sample of a
/// flapping check does not close an incident.
pub fn health_settled(readings: &[Health], needed: u32) -> bool {
    let needed = needed as usize;
    needed > 0
        && readings.len() >= needed
        && readings[readings.len() - needed..]
            .iter()
            .all(|h| *h == Health::Healthy)
}

/// What one verification poll saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub rollout: Rollout,
    /// The failed region's health readings so far, oldest first.
    pub health: Vec<Health>,
    /// Regions whose platform pods are not all ready (the restored one included).
    pub regions_not_ready: Vec<String>,
    /// DERP peers, per region.
    pub peers: Vec<(String, PeersVerdict)>,
}

/// What the workflow does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Recovery {
    /// Recovered; warnings name what is still degraded but does not block traffic.
    Recovered { warnings: Vec<String> },
    KeepWaiting {
        wait_seconds: u64,
        pending: Vec<String>,
    },
    /// The remedy did not take (the rollout failed) and there is time
    /// left: decide again, within the restart budget.
    RestoreAgain { reasons: Vec<String> },
    /// A person must act.
    Failed { reasons: Vec<String> },
}

/// Decides one poll. DERP peers do not hold the incident open past the
/// deadline: the platform serves traffic without them, so an offline peer
/// becomes a warning on the recovery rather than an escalation.
pub fn evaluate(
    seen: &Observation,
    healthy_needed: u32,
    poll_seconds: u64,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Recovery {
    let mut blocking = Vec::new();
    let past_deadline = now >= deadline;
    match &seen.rollout {
        Rollout::Failed(why) if past_deadline => {
            return Recovery::Failed {
                reasons: vec![why.clone()],
            };
        }
        Rollout::Failed(why) => {
            return Recovery::RestoreAgain {
                reasons: vec![why.clone()],
            };
        }
        Rollout::InProgress(why) => blocking.push(format!("rollout: {why}")),
        Rollout::Done => {}
    }
    if !health_settled(&seen.health, healthy_needed) {
        blocking.push(format!(
            "health check: not yet healthy on {healthy_needed} readings in a row"
        ));
    }
    if !seen.regions_not_ready.is_empty() {
        blocking.push(format!(
            "pods not ready in {}",
            seen.regions_not_ready.join(", ")
        ));
    }
    let peer_issues: Vec<String> = seen
        .peers
        .iter()
        .filter(|(_, v)| !matches!(v, PeersVerdict::AllOnline { .. }))
        .map(|(region, v)| format!("{region}: {}", v.describe()))
        .collect();
    match (blocking.is_empty(), peer_issues.is_empty(), past_deadline) {
        (true, true, _) => Recovery::Recovered {
            warnings: Vec::new(),
        },
        (true, false, true) => Recovery::Recovered {
            warnings: peer_issues,
        },
        (false, _, true) => Recovery::Failed {
            reasons: [blocking, peer_issues].concat(),
        },
        (_, _, false) => Recovery::KeepWaiting {
            wait_seconds: poll_seconds,
            pending: [blocking, peer_issues].concat(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::peers::PeerView;
    use crate::rules::peers::judge_peers;
    use Health::{Healthy as H, Unhealthy as U, Unknown as X};

    fn deployment(
        generation: i64,
        observed: i64,
        updated: u32,
        ready: u32,
        available: u32,
        deadline: bool,
    ) -> DeploymentView {
        DeploymentView {
            replicas: 3,
            ready,
            available,
            updated,
            generation,
            observed_generation: observed,
            paused: false,
            progress_deadline_exceeded: deadline,
        }
    }

    #[test]
    fn rollout_status_like_kubectl() {
        let table = [
            (deployment(3, 3, 3, 3, 3, false), Rollout::Done),
            (
                deployment(4, 3, 3, 3, 3, false),
                Rollout::InProgress(
                    "the controller has not seen generation 4 yet (observed 3)".into(),
                ),
            ),
            (
                deployment(3, 3, 1, 1, 1, false),
                Rollout::InProgress("1 of 3 replicas updated".into()),
            ),
            (
                deployment(3, 3, 3, 2, 2, false),
                Rollout::InProgress("2 of 3 replicas ready".into()),
            ),
            (
                deployment(3, 3, 3, 3, 2, false),
                Rollout::InProgress("2 of 3 replicas available".into()),
            ),
            (
                deployment(3, 3, 3, 3, 3, true),
                Rollout::Failed(
                    "the rollout exceeded its progress deadline (ProgressDeadlineExceeded)".into(),
                ),
            ),
        ];
        for (d, expected) in table {
            assert_eq!(rollout(&d, 3), expected, "{d:?}");
        }
    }

    #[test]
    fn health_needs_consecutive_healthy_readings() {
        let table: &[(&[Health], u32, bool)] = &[
            (&[H, H, H], 3, true),
            (&[U, H, H, H], 3, true),
            (&[H, H, U, H, H], 3, false),
            (&[H, H], 3, false),
            (&[H, X, H], 2, false),
            (&[U], 1, false),
            (&[H], 0, false),
        ];
        for (readings, needed, expected) in table {
            assert_eq!(
                health_settled(readings, *needed),
                *expected,
                "{readings:?} need {needed}"
            );
        }
    }

    fn peer(name: &str, online: bool) -> PeerView {
        PeerView {
            name: name.into(),
            online,
            last_seen: (!online).then(|| "2026-11-22T09:58:00Z".parse().unwrap()),
            home_derp_region: Some(900),
        }
    }

    #[test]
    fn peers_verdicts_name_the_offline_ones() {
        let one_down = [peer("eu-west-1-peer", true), peer("us-east-1-peer", false)];
        assert_eq!(
            judge_peers(Ok(&[peer("a", true), peer("b", true)])),
            PeersVerdict::AllOnline { peers: 2 }
        );
        let degraded = judge_peers(Ok(&one_down));
        assert_eq!(
            degraded,
            PeersVerdict::Degraded {
                peers: 2,
                offline: vec![peer("us-east-1-peer", false)]
            }
        );
        assert_eq!(
            degraded.describe(),
            "1 of 2 DERP peers offline: us-east-1-peer (offline, last seen 2026-11-22T09:58:00+00:00)"
        );
        let unreachable = judge_peers(Err("cluster platform-eu-west-1 is FAILED"));
        assert_eq!(
            unreachable.describe(),
            "DERP peers unreadable: cluster platform-eu-west-1 is FAILED"
        );
        assert_eq!(judge_peers(Ok(&[])), PeersVerdict::AllOnline { peers: 0 });
    }

    #[test]
    fn each_poll_decides_recovered_wait_or_failed() {
        let now: DateTime<Utc> = "2026-11-22T10:10:00Z".parse().unwrap();
        let before = now + chrono::Duration::minutes(5);
        let after = now - chrono::Duration::seconds(1);
        let online = || vec![("us-east-1".to_owned(), PeersVerdict::AllOnline { peers: 2 })];
        let degraded = || {
            vec![(
                "us-east-1".to_owned(),
                judge_peers(Ok(&[peer("p1", false)])),
            )]
        };
        let seen = |rollout: Rollout,
                    health: &[Health],
                    not_ready: &[&str],
                    peers: Vec<(String, PeersVerdict)>| Observation {
            rollout,
            health: health.to_vec(),
            regions_not_ready: not_ready.iter().map(|s| s.to_string()).collect(),
            peers,
        };
        let wait = |pending: &[&str]| Recovery::KeepWaiting {
            wait_seconds: 15,
            pending: pending.iter().map(|s| s.to_string()).collect(),
        };
        let table = [
            ("all good", seen(Rollout::Done, &[H, H, H], &[], online()), before, Recovery::Recovered { warnings: vec![] }),
            ("rollout running", seen(Rollout::InProgress("1 of 3 replicas ready".into()), &[H, H, H], &[], online()), before, wait(&["rollout: 1 of 3 replicas ready"])),
            ("flapping check", seen(Rollout::Done, &[H, H, U, H], &[], online()), before, wait(&["health check: not yet healthy on 3 readings in a row"])),
            ("other region not ready", seen(Rollout::Done, &[H, H, H], &["eu-west-1"], online()), before, wait(&["pods not ready in eu-west-1"])),
            ("peer offline, before deadline", seen(Rollout::Done, &[H, H, H], &[], degraded()), before, wait(&["us-east-1: 1 of 1 DERP peers offline: p1 (offline, last seen 2026-11-22T09:58:00+00:00)"])),
            (
                "peer offline at deadline: recovered with a warning",
                seen(Rollout::Done, &[H, H, H], &[], degraded()),
                after,
                Recovery::Recovered { warnings: vec!["us-east-1: 1 of 1 DERP peers offline: p1 (offline, last seen 2026-11-22T09:58:00+00:00)".into()] },
            ),
            ("rollout failed: decide again", seen(Rollout::Failed("deadline".into()), &[U, U], &[], online()), before, Recovery::RestoreAgain { reasons: vec!["deadline".into()] }),
            ("rollout failed at the deadline", seen(Rollout::Failed("deadline".into()), &[U, U], &[], online()), after, Recovery::Failed { reasons: vec!["deadline".into()] }),
            ("deadline passed, check still failing", seen(Rollout::Done, &[U, U], &[], online()), after, Recovery::Failed { reasons: vec!["health check: not yet healthy on 3 readings in a row".into()] }),
        ];
        for (name, observation, deadline, expected) in table {
            assert_eq!(
                evaluate(&observation, 3, 15, now, deadline),
                expected,
                "{name}"
            );
        }
    }
}
