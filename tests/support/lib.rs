//! Harness for the system tests: the local cloud (moto and DynamoDB Local,
//! started by `scripts/local-cloud`), one isolated environment per test, and
//! the real function binaries run by the Lambda runtime emulator
//! (`cargo lambda watch`).
//!
//! A harness failure is a test failure, so it panics with what went wrong.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod emf;
pub mod template;

use std::collections::{BTreeMap, HashMap};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;
use serde_json::{Value, json};

pub type Item = HashMap<String, AttributeValue>;

/// The short-wait profile (`scripts/localcloud/short-waits.env`, shared
/// with the local cloud and the drill): every wait of a whole recovery in
/// seconds, not minutes, for the tests that run the workflow end to end.
pub fn short_waits() -> Vec<(&'static str, &'static str)> {
    include_str!("../../scripts/localcloud/short-waits.env")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .collect()
}

/// The project root (where `Cargo.toml` and `scripts/` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_bin() -> PathBuf {
    root().join(".tools/venv/bin")
}

fn path_with_tools() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", venv_bin().display())
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The local cloud, started (once, whoever asks first) by `scripts/local-cloud up`.
pub struct LocalCloud {
    endpoints: Vec<(String, String)>,
    sdk: aws_config::SdkConfig,
}

/// `.local-cloud/endpoints.env`, written by `local-cloud up`.
fn endpoints() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join(".local-cloud/endpoints.env"))
        .expect("endpoints.env written by local-cloud up");
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('\'').to_owned()))
        .collect()
}

impl LocalCloud {
    pub async fn start() -> Self {
        run(Command::new(root().join("scripts/local-cloud")).arg("up"));
        let endpoints = endpoints();
        let get = |key: &str| {
            endpoints
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{key} missing from endpoints.env"))
        };
        let credentials = aws_sdk_dynamodb::config::Credentials::new(
            get("AWS_ACCESS_KEY_ID"),
            get("AWS_SECRET_ACCESS_KEY"),
            None,
            None,
            "local-cloud",
        );
        let sdk = failover_aws::aws_config_loader()
            .region(aws_config::Region::new(get("AWS_REGION")))
            .credentials_provider(credentials)
            .endpoint_url(get("AWS_ENDPOINT_URL"))
            .load()
            .await;
        Self { endpoints, sdk }
    }

    fn endpoint(&self, key: &str) -> String {
        self.endpoints
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .expect("endpoint")
    }

    /// A fresh environment (table, topic + inbox queue, health checks) that
    /// no other test shares, in us-east-1 and eu-west-1.
    pub fn provision(&self, label: &str) -> Environment {
        self.provision_in(label, &["us-east-1", "eu-west-1"])
    }

    /// The same, in `regions`.
    pub fn provision_in(&self, label: &str, regions: &[&str]) -> Environment {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
            % 100_000_000;
        let name = format!(
            "{label}-{stamp}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let json = run(Command::new(root().join("scripts/local-cloud")).args([
            "provision",
            "--name",
            &name,
            "--regions",
            &regions.join(","),
        ]));
        serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("provision printed no environment ({e}): {json}"))
    }

    /// The AWS configuration of the local cloud, for adapters under test.
    pub fn sdk(&self) -> aws_config::SdkConfig {
        self.sdk.clone()
    }

    /// The variables of `.local-cloud/endpoints.env`: endpoints, static
    /// credentials and region, as a program outside the functions gets them.
    pub fn endpoint_vars(&self) -> &[(String, String)] {
        &self.endpoints
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(&self.sdk)
            .endpoint_url(self.endpoint("AWS_ENDPOINT_URL_DYNAMODB"))
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// Sets what Route 53 answers for a health check, through the real
    /// `ChangeTagsForResource` API: a comma-separated `Success`/`Failure`
    /// sequence, one value per `GetHealthCheckStatus` call, the last sticking.
    pub async fn set_health(&self, health_check_id: &str, sequence: &str) {
        let tag = aws_sdk_route53::types::Tag::builder()
            .key("local-cloud:status")
            .value(sequence)
            .build();
        aws_sdk_route53::Client::new(&self.sdk)
            .change_tags_for_resource()
            .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
            .resource_id(health_check_id)
            .add_tags(tag)
            .send()
            .await
            .expect("set health status tag");
    }

    /// Sets a CloudWatch alarm's state through the real `SetAlarmState` API,
    /// as CloudWatch does when the health check's metric crosses (the local
    /// cloud never evaluates alarms itself): `ALARM`, `OK` or
    /// `INSUFFICIENT_DATA`.
    pub async fn set_alarm(&self, alarm_name: &str, state: &str) {
        aws_sdk_cloudwatch::Client::new(&self.sdk)
            .set_alarm_state()
            .alarm_name(alarm_name)
            .state_value(aws_sdk_cloudwatch::types::StateValue::from(state))
            .state_reason("set by a system test")
            .send()
            .await
            .expect("set alarm state");
    }

    /// Stops an execution, as a person does from the console.
    pub async fn stop_execution(&self, execution_arn: &str, cause: &str) {
        aws_sdk_sfn::Client::new(&self.sdk)
            .stop_execution()
            .execution_arn(execution_arn)
            .cause(cause)
            .send()
            .await
            .expect("stop execution");
    }

    /// The recovery workflow's executions in an environment (newest first).
    pub async fn executions(&self, env: &Environment) -> Vec<String> {
        let answer = aws_sdk_sfn::Client::new(&self.sdk)
            .list_executions()
            .state_machine_arn(&env.workflow_arn)
            .send()
            .await
            .expect("list executions");
        answer
            .executions()
            .iter()
            .map(|e| e.execution_arn().to_owned())
            .collect()
    }

    /// Waits until an execution ends (or `within` passes), and tells how.
    pub async fn finished(&self, execution_arn: &str, within: Duration) -> Execution {
        let sfn = aws_sdk_sfn::Client::new(&self.sdk);
        let deadline = Instant::now() + within;
        loop {
            let described = sfn
                .describe_execution()
                .execution_arn(execution_arn)
                .send()
                .await
                .expect("describe execution");
            let status = described.status().as_str().to_owned();
            if status != "RUNNING" || Instant::now() >= deadline {
                let events: Vec<_> = sfn
                    .get_execution_history()
                    .execution_arn(execution_arn)
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .map(|e| e.expect("execution history"))
                    .collect();
                let states = events
                    .iter()
                    .filter_map(|e| e.state_entered_event_details())
                    .map(|d| d.name().to_owned())
                    .collect();
                return Execution {
                    status,
                    states,
                    error: described.error().map(str::to_owned),
                    output: described
                        .output()
                        .and_then(|o| serde_json::from_str(o).ok())
                        .unwrap_or(Value::Null),
                };
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every item of a table.
    pub async fn items(&self, table: &str) -> Vec<Item> {
        let pages = self
            .dynamodb()
            .scan()
            .table_name(table)
            .into_paginator()
            .items()
            .send();
        let items: Vec<Result<Item, _>> = pages.collect().await;
        items.into_iter().map(|i| i.expect("scan")).collect()
    }

    /// Notices the topic delivered to the environment's queue: waits until
    /// `expected` arrived (or `within` passed), then a little longer to catch
    /// any extra one.
    pub async fn notices(
        &self,
        env: &Environment,
        expected: usize,
        within: Duration,
    ) -> Vec<Delivered> {
        self.inbox(&env.queue_url, expected, within).await
    }

    /// What the operations topic delivered, as [`Self::notices`].
    pub async fn ops_notices(
        &self,
        env: &Environment,
        expected: usize,
        within: Duration,
    ) -> Vec<Delivered> {
        self.inbox(&env.ops_queue_url, expected, within).await
    }

    async fn inbox(&self, queue_url: &str, expected: usize, within: Duration) -> Vec<Delivered> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut delivered = Vec::new();
        let deadline = Instant::now() + within;
        let mut settle_until: Option<Instant> = None;
        loop {
            let now = Instant::now();
            if settle_until.is_some_and(|t| now >= t) || (settle_until.is_none() && now >= deadline)
            {
                return delivered;
            }
            if settle_until.is_none() && delivered.len() >= expected {
                settle_until = Some(now + Duration::from_millis(1500));
            }
            let answer = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive from the notices inbox");
            for message in answer.messages() {
                let envelope: Value =
                    serde_json::from_str(message.body().unwrap_or_default()).expect("SNS envelope");
                delivered.push(Delivered::from_envelope(&envelope));
                if let Some(handle) = message.receipt_handle() {
                    sqs.delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete message");
                }
            }
        }
    }
}

/// How a workflow execution ended.
#[derive(Debug, Clone)]
pub struct Execution {
    /// `SUCCEEDED`, `FAILED`, … (`RUNNING` when it did not end in time).
    pub status: String,
    /// The states it entered, in order.
    pub states: Vec<String>,
    pub error: Option<String>,
    pub output: Value,
}

/// One SNS message as the subscribed queue received it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub subject: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
}

impl Delivered {
    fn from_envelope(envelope: &Value) -> Self {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let attributes = envelope["MessageAttributes"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), text(&v["Value"])))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            subject: text(&envelope["Subject"]),
            body: text(&envelope["Message"]),
            attributes,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Environment {
    pub name: String,
    pub table: String,
    pub topic_arn: String,
    pub queue_url: String,
    /// The operations topic, and the queue subscribed to it.
    pub ops_topic_arn: String,
    pub ops_queue_url: String,
    pub regions: Vec<RegionEnv>,
    pub function_env: BTreeMap<String, String>,
    /// The recovery workflow: `template.yaml`'s definition, provisioned.
    pub workflow_arn: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RegionEnv {
    pub name: String,
    pub cluster: String,
    pub health_check_id: String,
    pub alarm_names: Vec<String>,
    /// The local Kubernetes API's admin URL for this region's cluster.
    pub kube_admin: String,
}

impl RegionEnv {
    pub fn kube(&self) -> KubeAdmin {
        KubeAdmin {
            base: self.kube_admin.clone(),
        }
    }
}

/// A test playing the controller of a region's local Kubernetes API.
pub struct KubeAdmin {
    base: String,
}

impl KubeAdmin {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.base);
        let mut response = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            (_, body) => {
                let text = body.map(Value::to_string).unwrap_or_default();
                let request = if method == "PUT" {
                    agent.put(&url)
                } else if method == "PATCH" {
                    agent.patch(&url)
                } else {
                    agent.post(&url)
                };
                request
                    .header("content-type", "application/json")
                    .send(text.as_str())
            }
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("admin answer");
        assert!(status < 300, "{method} {url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Merges into the cluster's scenario (see scripts/localcloud/kubeapi/).
    pub fn scenario(&self, patch: Value) {
        self.call("PATCH", "/scenario", Some(&patch));
    }

    pub fn state(&self) -> Value {
        self.call("GET", "/state", None)
    }

    pub fn fault(&self, fault: Value) {
        self.call("POST", "/faults", Some(&fault));
    }

    pub fn clear_faults(&self) {
        self.call("DELETE", "/faults", None);
    }

    /// Takes `verb` out of the rules of one role of this cluster's RBAC
    /// (`roles/<namespace>/<role>` or `clusterroles/<role>`) that name
    /// `resource`, as a permission nobody granted.
    pub fn remove_verb(&self, role: &str, verb: &str, resource: &str) {
        self.call(
            "DELETE",
            &format!("/rbac/{role}/verbs/{verb}?resource={resource}"),
            None,
        );
    }

    /// The Kubernetes requests the cluster received (never the token).
    pub fn requests(&self) -> Vec<Value> {
        self.call("GET", "/requests", None)["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The endpoint and CA data (base64 PEM) that DescribeCluster answers.
    pub fn endpoint_and_ca_data(&self) -> (String, String) {
        let cluster = self.call("GET", "", None);
        let text = |key: &str| {
            cluster[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key} missing: {cluster}"))
                .to_owned()
        };
        (text("endpoint"), text("certificate_authority_data"))
    }
}

impl Environment {
    pub fn region(&self, name: &str) -> &RegionEnv {
        self.regions
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{name} not provisioned"))
    }
}

/// Builds a function binary (a no-op when it is up to date) and returns its path.
pub fn binary(name: &str) -> PathBuf {
    run(Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["build", "--quiet", "--bin", name]));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target.join("debug").join(name)
}

/// `cargo lambda watch` serving the workspace's functions with one
/// environment's configuration. Stopped (with its function instances) on drop.
pub struct Emulator {
    child: Child,
    port: u16,
    log: PathBuf,
    environment: String,
    serving_workflow: bool,
}

/// A function's answer through the invoke API.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn is_error(&self) -> bool {
        self.status >= 400
    }

    pub fn error_type(&self) -> &str {
        self.body["errorType"].as_str().unwrap_or_default()
    }

    pub fn error_message(&self) -> &str {
        self.body["errorMessage"].as_str().unwrap_or_default()
    }
}

/// The static credentials an override may name (see `Emulator::start`).
const STATIC_CREDENTIALS: [&str; 2] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

impl Emulator {
    /// `overrides` replace or add function variables (`""` removes one).
    ///
    /// Each function runs as its own role (the local cloud's credentials
    /// endpoint in `function_env`). Static credentials come first in the
    /// SDK's chain, so an override of one of them runs every function with
    /// the local cloud's static credentials (`endpoints.env`) so changed.
    pub fn start(env: &Environment, overrides: &[(&str, &str)], concurrency: u32) -> Self {
        let mut vars = env.function_env.clone();
        if overrides
            .iter()
            .any(|(key, _)| STATIC_CREDENTIALS.contains(key))
        {
            for (key, value) in endpoints() {
                if STATIC_CREDENTIALS.contains(&key.as_str()) {
                    vars.insert(key, value);
                }
            }
        }
        for (key, value) in overrides {
            if value.is_empty() {
                vars.remove(*key);
            } else {
                vars.insert((*key).to_owned(), (*value).to_owned());
            }
        }
        let dir = root().join("target/system-tests").join(&env.name);
        std::fs::create_dir_all(&dir).expect("emulator folder");
        let env_file = dir.join("function.env");
        let lines: String = vars.iter().map(|(k, v)| format!("{k}='{v}'\n")).collect();
        std::fs::write(&env_file, lines).expect("env file");
        let log = dir.join("emulator.log");
        let port = free_port();
        let child = Command::new(venv_bin().join("cargo-lambda"))
            .current_dir(root())
            .env("PATH", path_with_tools())
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "--quiet",
                "-A",
                "127.0.0.1",
            ])
            .args([
                "-P",
                &port.to_string(),
                "--concurrency",
                &concurrency.to_string(),
            ])
            .arg("--env-file")
            .arg(&env_file)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(std::fs::File::create(dir.join("emulator.err")).expect("log"))
            .process_group(0)
            .spawn()
            .expect("start cargo lambda watch (run scripts/tools first)");
        let emulator = Self {
            child,
            port,
            log,
            environment: env.name.clone(),
            serving_workflow: false,
        };
        emulator.wait_until_listening(Duration::from_secs(60));
        emulator
    }

    /// Serves the environment's recovery workflow too: its Lambda tasks
    /// reach these functions (registered with the local cloud). Without it
    /// an execution's tasks find no function and change nothing.
    pub fn serving_workflow(mut self) -> Self {
        lambda_route(&self.environment, Some(self.port));
        self.serving_workflow = true;
        self
    }

    fn wait_until_listening(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen on {} (log {})",
                self.port,
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Invokes a function and waits for its answer (blocking; see `spawn_invoke`).
    pub fn invoke(&self, function: &str, payload: &str) -> Answer {
        invoke_at(self.port, function, payload)
    }

    /// Invokes a function on a blocking thread, so many invocations can be in flight at once.
    pub fn spawn_invoke(&self, function: &str, payload: String) -> tokio::task::JoinHandle<Answer> {
        let (port, function) = (self.port, function.to_owned());
        tokio::task::spawn_blocking(move || invoke_at(port, &function, &payload))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Longer than any function here runs; a function that never answers (it
/// died at its cold start, say) fails the test instead of hanging it.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(180);

fn invoke_at(port: u16, function: &str, payload: &str) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(INVOKE_TIMEOUT))
        .build()
        .into();
    let url = format!("http://127.0.0.1:{port}/2015-03-31/functions/{function}/invocations");
    let mut response = agent
        .post(&url)
        .header("content-type", "application/json")
        .send(payload)
        .unwrap_or_else(|e| {
            panic!("invoking {function} failed: {e} (see target/system-tests/*/emulator.err)")
        });
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("invoke answer");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, body }
}

impl Drop for Emulator {
    /// Stops the emulator; its function instances exit once their runtime API is gone.
    fn drop(&mut self) {
        if self.serving_workflow {
            lambda_route(&self.environment, None);
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "INT", "--", &group])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .status();
        let _ = self.child.wait();
    }
}

/// Registers (`Some(port)`) or removes the emulator the local cloud's Step
/// Functions sends an environment's Lambda tasks to.
fn lambda_route(environment: &str, port: Option<u16>) {
    let base = endpoints()
        .into_iter()
        .find(|(k, _)| k == "LOCAL_CLOUD_KUBE_ADMIN")
        .map(|(_, v)| v)
        .expect("LOCAL_CLOUD_KUBE_ADMIN in endpoints.env");
    let url = format!("{base}/lambda/{environment}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let status = match port {
        Some(port) => agent
            .put(&url)
            .header("content-type", "application/json")
            .send(
                json!({"endpoint": format!("http://127.0.0.1:{port}")})
                    .to_string()
                    .as_str(),
            ),
        None => agent.delete(&url).call(),
    }
    .map(|r| r.status().as_u16());
    // Removing is best effort: the cloud may be gone already.
    if port.is_some() {
        assert!(matches!(status, Ok(s) if s < 300), "PUT {url}: {status:?}");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// An event file from `events/`, as JSON.
pub fn event(file: &str) -> Value {
    let path = root().join("events").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An attribute of a stored item, as text (strings and numbers).
pub fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(s)) | Some(AttributeValue::N(s)) => s.clone(),
        Some(AttributeValue::Bool(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// The items whose sort key starts with `prefix` (`LEASE`, `INCIDENT`, `TIMELINE#`).
pub fn of_kind<'a>(items: &'a [Item], prefix: &str) -> Vec<&'a Item> {
    items
        .iter()
        .filter(|i| text(i, "sk").starts_with(prefix))
        .collect()
}

/// An alarm event from `events/` re-addressed to `alarm_name`, whichever of
/// the three shapes AWS delivers it in.
pub fn alarm_event(file: &str, alarm_name: &str) -> Value {
    let mut event = event(file);
    if event.get("alarmData").is_some() {
        event["alarmData"]["alarmName"] = alarm_name.into();
    } else if event.get("detail").is_some() {
        event["detail"]["alarmName"] = alarm_name.into();
    } else if let Some(message) = event
        .pointer("/Records/0/Sns/Message")
        .and_then(Value::as_str)
    {
        let mut notification: Value = serde_json::from_str(message).expect("alarm notification");
        notification["AlarmName"] = alarm_name.into();
        event["Records"][0]["Sns"]["Message"] = notification.to_string().into();
    } else {
        panic!("{file} is not an alarm event");
    }
    event
}
