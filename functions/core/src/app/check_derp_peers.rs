//! Use case: are the DERP relay peers online in every region? Run by hand it
//! reports; run on a schedule it also tells people when the answer changes,
//! and only then.

use serde::Serialize;

use crate::app::context::Records;
use crate::app::ports::Peers;
use crate::config::Settings;
use crate::error::Result;
use crate::rules::peers::{Overall, PeersVerdict, judge_peers};

/// The name under which the last reported state is kept.
const WATCH: &str = "derp-peers";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionPeers {
    pub region: String,
    #[serde(flatten)]
    pub verdict: PeersVerdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeersReport {
    /// The worst of the regions.
    pub verdict: Overall,
    pub regions: Vec<RegionPeers>,
    /// Scheduled runs: whether the answer differs from the last one reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
    pub notified: bool,
    pub summary: String,
}

pub async fn check_derp_peers(
    settings: &Settings,
    records: &Records<'_>,
    peers: &dyn Peers,
    scheduled: bool,
) -> Result<PeersReport> {
    let mut regions = Vec::new();
    for region in &settings.regions {
        let verdict = match peers.peers(region).await {
            Ok(list) => judge_peers(Ok(&list)),
            Err(error) => judge_peers(Err(&error.to_string())),
        };
        regions.push(RegionPeers {
            region: region.name.clone(),
            verdict,
        });
    }
    let verdict = Overall::of(regions.iter().map(|r| &r.verdict));
    let summary = regions
        .iter()
        .map(|r| format!("{}: {}", r.region, r.verdict.describe()))
        .collect::<Vec<_>>()
        .join("; ");
    let mut report = PeersReport {
        verdict,
        regions,
        changed: None,
        notified: false,
        summary,
    };
    if !scheduled {
        return Ok(report);
    }

    let state = fingerprint(&report);
    // Nothing was reported yet: all online is the quiet starting point.
    let previous = records
        .store
        .watch_state(WATCH)
        .await?
        .unwrap_or_else(|| "all_online".to_owned());
    let changed = previous != state;
    report.changed = Some(changed);
    if changed {
        // Published before the state is saved: if saving fails, the next run tells again.
        records
            .notifier
            .publish(&crate::notices::peers::changed(
                report.verdict,
                &affected(&report),
                &report.summary,
                format!("{WATCH}/{}/{state}", records.clock.now().timestamp()),
                records.clock.now(),
            ))
            .await?;
        records.store.save_watch_state(WATCH, &state).await?;
        report.notified = true;
    }
    Ok(report)
}

/// The regions whose peers are not all online.
fn affected(report: &PeersReport) -> Vec<&str> {
    report
        .regions
        .iter()
        .filter(|r| !matches!(r.verdict, PeersVerdict::AllOnline { .. }))
        .map(|r| r.region.as_str())
        .collect()
}

/// What makes two answers the same: the verdict and who is offline or unreadable.
fn fingerprint(report: &PeersReport) -> String {
    let mut parts = vec![report.verdict.as_str().to_owned()];
    for r in &report.regions {
        match &r.verdict {
            PeersVerdict::AllOnline { .. } => {}
            PeersVerdict::Degraded { offline, .. } => {
                parts.extend(offline.iter().map(|p| format!("{}/{}", r.region, p.name)))
            }
            PeersVerdict::Unreachable { .. } => parts.push(format!("{}/unreachable", r.region)),
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::Settings;
    use crate::config::tests::sample_vars;
    use crate::fakes::{FakeClock, MemoryStore, RecordingNotifier, ScriptedHealth};
    use crate::model::peers::PeerView;

    struct FakePeers(std::collections::HashMap<String, std::result::Result<Vec<PeerView>, String>>);

    #[async_trait::async_trait]
    impl Peers for FakePeers {
        async fn peers(&self, region: &crate::config::RegionSettings) -> Result<Vec<PeerView>> {
            self.0[&region.name]
                .clone()
                .map_err(|why| crate::Error::rejected("EKS", why))
        }
    }

    fn peer(name: &str, online: bool) -> PeerView {
        PeerView {
            name: name.into(),
            online,
            last_seen: (!online).then(|| "2026-11-22T09:58:00Z".parse().unwrap()),
            home_derp_region: None,
        }
    }

    fn peers(
        a: std::result::Result<Vec<PeerView>, String>,
        b: std::result::Result<Vec<PeerView>, String>,
    ) -> FakePeers {
        FakePeers([("us-east-1".to_owned(), a), ("eu-west-1".to_owned(), b)].into())
    }

    async fn run(
        store: &MemoryStore,
        notifier: &RecordingNotifier,
        peers: &FakePeers,
        scheduled: bool,
    ) -> PeersReport {
        let settings = Settings::from_vars(sample_vars()).unwrap();
        let (health, clock) = (
            ScriptedHealth::default(),
            FakeClock::at("2026-11-22T10:00:00Z"),
        );
        let metrics = crate::fakes::RecordingMetrics::default();
        let deps = crate::fakes::context(&settings, &health, store, notifier, &clock, &metrics);
        check_derp_peers(deps.settings, &deps.records, peers, scheduled)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn verdicts_per_region_and_overall() {
        let table = [
            (
                peers(Ok(vec![peer("a", true)]), Ok(vec![peer("b", true)])),
                Overall::AllOnline,
            ),
            (
                peers(Ok(vec![peer("a", false)]), Ok(vec![peer("b", true)])),
                Overall::Degraded,
            ),
            (
                peers(
                    Ok(vec![peer("a", false)]),
                    Err("cluster platform-eu-west-1 is FAILED, not ACTIVE".into()),
                ),
                Overall::Unreachable,
            ),
        ];
        for (fake, verdict) in table {
            let (store, notifier) = (MemoryStore::default(), RecordingNotifier::default());
            let report = run(&store, &notifier, &fake, false).await;
            assert_eq!(report.verdict, verdict);
            assert!(
                notifier.sent.lock().unwrap().is_empty(),
                "a manual check only reports"
            );
        }
        let (store, notifier) = (MemoryStore::default(), RecordingNotifier::default());
        let report = run(
            &store,
            &notifier,
            &peers(
                Ok(vec![peer("us-east-1-peer", false)]),
                Err("cluster platform-eu-west-1 is FAILED, not ACTIVE".into()),
            ),
            false,
        )
        .await;
        assert!(
            report
                .summary
                .contains("us-east-1-peer (offline, last seen 2026-11-22T09:58:00+00:00)"),
            "{}",
            report.summary
        );
        assert!(
            report
                .summary
                .contains("cluster platform-eu-west-1 is FAILED"),
            "{}",
            report.summary
        );
    }

    #[tokio::test]
    async fn a_schedule_tells_only_changes() {
        let (store, notifier) = (MemoryStore::default(), RecordingNotifier::default());
        let online = || peers(Ok(vec![peer("a", true)]), Ok(vec![peer("b", true)]));
        let one_down = || peers(Ok(vec![peer("a", false)]), Ok(vec![peer("b", true)]));
        let two_down = || peers(Ok(vec![peer("a", false)]), Ok(vec![peer("b", false)]));
        let steps = [
            (online(), false, 0, None),
            (
                one_down(),
                true,
                1,
                Some("[WARNING] DERP relay degraded in us-east-1"),
            ),
            (one_down(), false, 1, None),
            (
                two_down(),
                true,
                2,
                Some("[WARNING] DERP relay degraded in us-east-1,eu-west-1"),
            ),
            (
                online(),
                true,
                3,
                Some("[INFO] DERP relay peers all online again"),
            ),
            (online(), false, 3, None),
        ];
        for (i, (fake, changed, sent, subject)) in steps.into_iter().enumerate() {
            let report = run(&store, &notifier, &fake, true).await;
            assert_eq!(report.changed, Some(changed), "step {i}");
            assert_eq!(report.notified, changed, "step {i}");
            let notices = notifier.sent.lock().unwrap().clone();
            assert_eq!(notices.len(), sent, "step {i}");
            if let Some(subject) = subject {
                assert_eq!(notices.last().unwrap().subject, subject, "step {i}");
                assert_eq!(notices.last().unwrap().incident_id, None);
            }
        }
    }
}
