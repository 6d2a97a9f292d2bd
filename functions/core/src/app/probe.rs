//! The probe mode of the functions that reach the clusters: each asks every
//! region's cluster, as its own identity, whether it may make the requests
//! it makes. The readiness evaluation invokes it; it changes nothing.

use serde::Serialize;

use crate::app::ports::{AccessReviews, StandbyClusters};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::readiness::{Access, ClusterFacts, Probe};
use crate::notices::operator::unknown;

/// What a probe asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeRequest {
    /// What the function may do in every region.
    Permissions,
    /// What the function sees of one region's cluster (verify-recovery only).
    Cluster { region: String },
}

/// A probe's answer, as the function returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ProbeAnswer {
    Permissions(Probe),
    Cluster(Box<ClusterFacts>),
}

/// The function that owns the probe. `standby` is given only to the
/// function that reads standby clusters for the evaluation.
pub struct Prober<'a> {
    pub function: &'a str,
    pub settings: &'a Settings,
    pub reviews: &'a dyn AccessReviews,
    pub standby: Option<&'a dyn StandbyClusters>,
    /// Every Kubernetes request the function makes.
    pub wanted: &'a [Access],
}

/// Answers one probe; it changes nothing anywhere.
pub async fn answer(prober: &Prober<'_>, request: &ProbeRequest) -> Result<ProbeAnswer> {
    match request {
        ProbeRequest::Permissions => Ok(ProbeAnswer::Permissions(
            probe(
                prober.function,
                prober.settings,
                prober.reviews,
                prober.wanted,
            )
            .await,
        )),
        ProbeRequest::Cluster { region } => {
            let Some(standby) = prober.standby else {
                return Err(Error::InvalidEvent(format!(
                    "{} answers only {{\"probe\": \"permissions\"}}; verify-recovery reads the clusters",
                    prober.function
                )));
            };
            let Some(settings) = prober.settings.region(region) else {
                let known = prober.settings.region_names();
                return Err(Error::InvalidEvent(unknown("region", region, &known)));
            };
            Ok(ProbeAnswer::Cluster(Box::new(
                standby.facts(settings).await?,
            )))
        }
    }
}

/// What `function` may do in each region: one review of each of `wanted`.
pub async fn probe(
    function: &str,
    settings: &Settings,
    clusters: &dyn AccessReviews,
    wanted: &[Access],
) -> Probe {
    let mut regions = Vec::new();
    for region in &settings.regions {
        regions.push(clusters.review(region, wanted).await);
    }
    Probe {
        function: function.to_owned(),
        regions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{FakeReadiness, events_settings};

    fn access(verb: &str) -> Access {
        Access {
            verb: verb.into(),
            group: "apps".into(),
            resource: "deployments".into(),
            subresource: None,
            namespace: Some("vcluster-platform".into()),
            name: Some("loft".into()),
        }
    }

    #[tokio::test]
    async fn a_cluster_probe_reads_a_known_region_of_the_function_that_may() {
        let settings = events_settings(&[]);
        let fakes = FakeReadiness::default();
        let reader = Prober {
            function: "verify-recovery",
            settings: &settings,
            reviews: &fakes,
            standby: Some(&fakes),
            wanted: &[],
        };
        let unknown = ProbeRequest::Cluster {
            region: "ap-south-1".into(),
        };
        let error = answer(&reader, &unknown).await.unwrap_err();
        assert!(
            error.to_string().contains("us-east-1, eu-west-1"),
            "{error}"
        );
        let unread = ProbeRequest::Cluster {
            region: "eu-west-1".into(),
        };
        let error = answer(&reader, &unread).await.unwrap_err();
        assert_eq!(error.retry_policy(), crate::error::RetryPolicy::Retry);

        let restore = Prober {
            function: "restore-platform",
            standby: None,
            ..reader
        };
        let error = answer(&restore, &unread).await.unwrap_err();
        assert!(matches!(error, Error::InvalidEvent(_)), "{error}");
        assert!(
            error
                .to_string()
                .contains("verify-recovery reads the clusters")
        );
    }

    #[tokio::test]
    async fn every_region_is_asked_about_every_request() {
        let settings = events_settings(&[]);
        let clusters = FakeReadiness::default();
        clusters.denied.lock().unwrap().push(access("patch"));
        let probe = probe(
            "restore-platform",
            &settings,
            &clusters,
            &[access("get"), access("patch")],
        )
        .await;
        assert_eq!(probe.function, "restore-platform");
        let answers: Vec<(&str, Vec<bool>)> = probe
            .regions
            .iter()
            .map(|r| {
                (
                    r.region.as_str(),
                    r.answers.iter().map(|a| a.allowed).collect(),
                )
            })
            .collect();
        assert_eq!(
            answers,
            [
                ("us-east-1", vec![true, false]),
                ("eu-west-1", vec![true, false])
            ]
        );
    }
}
