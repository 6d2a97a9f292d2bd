//! Test support: a scripted EKS (what `connect` answers, and who asked) and
//! a mock Kubernetes API server behind a real `kube::Client`, which answers
//! from a script and records every request it received.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use failover_core::config::{PlatformSettings, RegionSettings};
use failover_core::{Error, Result};
use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::cluster::{Connect, Described};

pub(crate) fn region(name: &str) -> RegionSettings {
    RegionSettings {
        name: name.into(),
        cluster: format!("platform-{name}"),
        health_check_id: format!("hc-{name}"),
        alarm_names: Vec::new(),
    }
}

pub(crate) fn platform_settings() -> PlatformSettings {
    PlatformSettings {
        namespace: "vcluster-platform".into(),
        deployment: "loft".into(),
        selector: "app=loft".into(),
        replicas: 3,
    }
}

/// What `connect` answers, in order, and the regions it was asked for.
#[derive(Clone)]
pub(crate) struct FakeEks {
    script: Arc<Mutex<Script>>,
}

struct Script {
    answers: VecDeque<Result<Described>>,
    calls: Vec<String>,
}

impl FakeEks {
    pub(crate) fn new(answers: Vec<Result<Described>>) -> Self {
        Self {
            script: Arc::new(Mutex::new(Script {
                answers: answers.into(),
                calls: Vec::new(),
            })),
        }
    }

    /// A cluster that is not ACTIVE, with these statuses in turn.
    pub(crate) fn answering<const N: usize>(statuses: [&str; N]) -> Self {
        Self::new(
            statuses
                .iter()
                .map(|s| Ok(Described::NotActive((*s).into())))
                .collect(),
        )
    }

    /// An ACTIVE cluster reached through these clients in turn.
    pub(crate) fn connecting<const N: usize>(clients: [kube::Client; N]) -> Self {
        Self::new(
            clients
                .into_iter()
                .map(|c| Ok(Described::Active(c)))
                .collect(),
        )
    }

    /// The regions `connect` was called for (one `DescribeCluster` each).
    pub(crate) fn calls(&self) -> Vec<String> {
        self.script.lock().unwrap().calls.clone()
    }
}

#[async_trait]
impl Connect for FakeEks {
    async fn connect(&self, region: &RegionSettings) -> Result<Described> {
        let mut script = self.script.lock().unwrap();
        script.calls.push(region.name.clone());
        script
            .answers
            .pop_front()
            .unwrap_or_else(|| Err(Error::Internal("no more connections scripted".into())))
    }
}

/// One request the mock API server received.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    pub(crate) method: String,
    /// Path and query, as sent.
    pub(crate) uri: String,
    pub(crate) content_type: Option<String>,
    /// The JSON body; `Null` when there was none.
    pub(crate) body: Value,
}

impl Seen {
    pub(crate) fn get(uri: &str) -> Self {
        Self {
            method: "GET".into(),
            uri: uri.into(),
            content_type: None,
            body: Value::Null,
        }
    }

    pub(crate) fn merge_patch(uri: &str, body: Value) -> Self {
        Self {
            method: "PATCH".into(),
            uri: uri.into(),
            content_type: Some("application/merge-patch+json".into()),
            body,
        }
    }
}

/// A mock API server answering `answers` (status, JSON body) in order; a
/// request past the script is answered 418 and recorded like the others.
/// Its task ends, returning what it saw, when every client is dropped.
pub(crate) fn api_server(answers: Vec<(u16, Value)>) -> (kube::Client, JoinHandle<Vec<Seen>>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let task = tokio::spawn(async move {
        let mut handle = pin!(handle);
        let mut answers = VecDeque::from(answers);
        let mut seen = Vec::new();
        while let Some((request, reply)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            seen.push(Seen {
                method: parts.method.to_string(),
                uri: parts
                    .uri
                    .path_and_query()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                content_type: parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap().to_owned()),
                body: if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).unwrap()
                },
            });
            let (status, answer) = answers
                .pop_front()
                .unwrap_or_else(|| (418, status(418, "Unexpected", "not in the script")));
            reply.send_response(
                Response::builder()
                    .status(status)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(Body::from(serde_json::to_vec(&answer).unwrap()))
                    .unwrap(),
            );
        }
        seen
    });
    (kube::Client::new(service, "default"), task)
}

/// What the server saw, once the adapter holding its client is dropped.
pub(crate) async fn requests(server: JoinHandle<Vec<Seen>>) -> Vec<Seen> {
    // The clock is paused: an adapter still holding a client fails here at
    // once instead of hanging.
    tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("the adapter still holds a client of the mock API server")
        .unwrap()
}

/// A `Status` answer as the API server writes it.
pub(crate) fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

pub(crate) fn list(kind: &str, api_version: &str, items: Vec<Value>) -> Value {
    json!({
        "kind": kind,
        "apiVersion": api_version,
        "metadata": {"resourceVersion": "1"},
        "items": items,
    })
}
