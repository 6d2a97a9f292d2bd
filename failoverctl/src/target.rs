//! Where the CLI reads its configuration, once: a deployed stack (its
//! outputs, and the confirm-outage function's environment) or a local
//! cloud environment (the file `scripts/local-cloud provision` prints).
//! Either way the settings are the functions' own, parsed by the core.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use failover_core::config::Settings;
use failover_core::{Error, Result};
use serde::Deserialize;

use crate::aws;
use crate::cli;

/// One deployment, resolved: its settings, the AWS configuration its
/// clients are built from, and how to reach its functions.
pub struct Deployment {
    /// The stack's name, or the local environment's.
    pub name: String,
    pub settings: Settings,
    pub sdk: aws_config::SdkConfig,
    pub confirm_outage: String,
    pub reconcile: String,
    /// `None` for a stack deployed before the function existed.
    pub evaluate_readiness: Option<String>,
    lambda: LambdaAt,
}

enum LambdaAt {
    Aws,
    Endpoint(String),
    /// The local cloud's emulator registry (admin API), looked up only when
    /// a function is invoked.
    Registry {
        admin: String,
        environment: String,
    },
}

impl Deployment {
    pub async fn resolve(target: &cli::Target) -> Result<Self> {
        if target.local {
            local(target).await
        } else {
            stack(target).await
        }
    }

    /// The client that invokes the functions.
    pub fn invoker(&self) -> Result<aws_sdk_lambda::Client> {
        let endpoint = match &self.lambda {
            LambdaAt::Aws => None,
            LambdaAt::Endpoint(url) => Some(url.clone()),
            LambdaAt::Registry { admin, environment } => Some(registered(admin, environment)?),
        };
        Ok(aws::invoke_client(&self.sdk, endpoint.as_deref()))
    }
}

async fn stack(target: &cli::Target) -> Result<Deployment> {
    let defaults = match find_upwards("samconfig.toml") {
        Some(path) => samconfig(&read(&path)?),
        None => SamDefaults::default(),
    };
    let name = target
        .stack
        .clone()
        .or(defaults.stack_name)
        .ok_or_else(|| {
            Error::InvalidEvent(
                "no stack named: pass --stack NAME (or run from the project, whose samconfig.toml names it), or --local"
                    .into(),
            )
        })?;
    let region = target
        .stack_region
        .clone()
        .or(defaults.region)
        .unwrap_or_else(|| "us-east-1".to_owned());
    let sdk = failover_aws::load_aws_config()
        .await
        .into_builder()
        .region(aws_config::Region::new(region.clone()))
        .build();
    let outputs =
        aws::stack_outputs(&aws_sdk_cloudformation::Client::new(&sdk), &name, &region).await?;
    let output = |key: &str| {
        outputs.get(key).cloned().ok_or_else(|| {
            Error::Config(format!(
                "stack {name} has no output {key}: is it this project's template?"
            ))
        })
    };
    let confirm_outage = output("ConfirmOutageFunctionName")?;
    let reconcile = output("ReconcileFunctionName")?;
    let evaluate_readiness = outputs.get("EvaluateReadinessFunctionName").cloned();
    let vars =
        aws::function_environment(&aws_sdk_lambda::Client::new(&sdk), &confirm_outage).await?;
    let settings = Settings::from_vars(vars)
        .map_err(|e| Error::Config(format!("the configuration of {confirm_outage}: {e}")))?;
    Ok(Deployment {
        name,
        settings,
        sdk,
        confirm_outage,
        reconcile,
        evaluate_readiness,
        lambda: LambdaAt::Aws,
    })
}

/// The environment file `scripts/local-cloud provision` prints (and `up`
/// writes as `.local-cloud/platform-failover.json`): the functions'
/// configuration.
#[derive(Debug, Deserialize)]
struct LocalEnvironment {
    name: String,
    function_env: BTreeMap<String, String>,
}

const LOCAL_DEFAULT: &str = ".local-cloud/platform-failover.json";
/// Where `scripts/local-cloud up` writes how a person reaches the local
/// cloud: its endpoints, its static credentials, its admin API.
const LOCAL_ENDPOINTS: &str = ".local-cloud/endpoints.env";

async fn local(target: &cli::Target) -> Result<Deployment> {
    let up = |what: &str| {
        Error::InvalidEvent(format!(
            "no {what} here or above: run `scripts/local-cloud up` in the project (and failoverctl from there)"
        ))
    };
    let path = match &target.local_env {
        Some(path) => path.clone(),
        None => find_upwards(LOCAL_DEFAULT).ok_or_else(|| up(LOCAL_DEFAULT))?,
    };
    let environment: LocalEnvironment = serde_json::from_str(&read(&path)?).map_err(|e| {
        Error::InvalidEvent(format!(
            "{} is not an environment as `scripts/local-cloud provision` prints it: {e}",
            path.display()
        ))
    })?;
    let settings = Settings::from_vars(environment.function_env)?;
    let endpoints_path = find_upwards(LOCAL_ENDPOINTS).ok_or_else(|| up(LOCAL_ENDPOINTS))?;
    let endpoints = env_file(&read(&endpoints_path)?);
    let var = |key: &str| {
        endpoints
            .get(key)
            .cloned()
            .ok_or_else(|| Error::Config(format!("{} has no {key}", endpoints_path.display())))
    };
    let credentials = match local_identity(|key| std::env::var(key).ok()) {
        Some(yours) => yours,
        None => aws_sdk_sts::config::Credentials::new(
            var("AWS_ACCESS_KEY_ID")?,
            var("AWS_SECRET_ACCESS_KEY")?,
            None,
            None,
            "local-cloud",
        ),
    };
    let sdk = failover_aws::load_aws_config()
        .await
        .into_builder()
        .region(aws_config::Region::new(
            var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        ))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .endpoint_url(var("AWS_ENDPOINT_URL")?)
        .service_config(aws::LocalEndpoints(endpoints.clone()))
        .build();
    let lambda = match &target.lambda_endpoint {
        Some(url) => LambdaAt::Endpoint(url.clone()),
        None => LambdaAt::Registry {
            admin: var("LOCAL_CLOUD_KUBE_ADMIN")?,
            environment: environment.name.clone(),
        },
    };
    Ok(Deployment {
        name: environment.name,
        settings,
        sdk,
        // `cargo lambda watch` serves each function by its binary's name.
        confirm_outage: "confirm-outage".into(),
        reconcile: "reconcile".into(),
        evaluate_readiness: Some("evaluate-readiness".into()),
        lambda,
    })
}

/// Another identity in the local cloud (a moto IAM user's access key, as
/// the four-eyes drill approves with two people): the static credentials
/// of the environment when both are set, else none (the local cloud's own).
fn local_identity(
    var: impl Fn(&str) -> Option<String>,
) -> Option<aws_sdk_sts::config::Credentials> {
    let set = |key: &str| var(key).filter(|v| !v.trim().is_empty());
    Some(aws_sdk_sts::config::Credentials::new(
        set("AWS_ACCESS_KEY_ID")?,
        set("AWS_SECRET_ACCESS_KEY")?,
        set("AWS_SESSION_TOKEN"),
        None,
        "environment",
    ))
}

/// `KEY=value` lines (values optionally quoted), as the shell reads them.
fn env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_owned(),
                v.trim().trim_matches('\'').trim_matches('"').to_owned(),
            )
        })
        .collect()
}

/// The emulator registered for `environment` (`GET /lambda/ENV`).
fn registered(admin: &str, environment: &str) -> Result<String> {
    let url = format!("{admin}/lambda/{environment}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .build()
        .into();
    let mut answer = agent.get(&url).call().map_err(|e| {
        Error::unavailable("the local cloud's admin API", format!("GET {url}: {e}"))
    })?;
    let status = answer.status().as_u16();
    let text = answer.body_mut().read_to_string().map_err(|e| {
        Error::unavailable("the local cloud's admin API", format!("GET {url}: {e}"))
    })?;
    if status == 404 {
        return Err(Error::InvalidEvent(format!(
            "no Lambda emulator is registered for {environment}: run `scripts/local-cloud lambda` (for platform-failover), or pass --lambda-endpoint URL"
        )));
    }
    let entry: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::rejected(
            "the local cloud's admin API",
            format!("GET {url}: {status}: {e}"),
        )
    })?;
    entry["endpoint"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::rejected(
                "the local cloud's admin API",
                format!("GET {url}: {status}: no endpoint in {text}"),
            )
        })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::InvalidEvent(format!("cannot read {}: {e}", path.display())))
}

/// `relative` in the current directory or the nearest parent that has it.
fn find_upwards(relative: &str) -> Option<PathBuf> {
    let here = std::env::current_dir().ok()?;
    here.ancestors()
        .map(|dir| dir.join(relative))
        .find(|path| path.is_file())
}

#[derive(Debug, Default, PartialEq, Eq)]
struct SamDefaults {
    stack_name: Option<String>,
    region: Option<String>,
}

/// `stack_name` and `region` of `[default.global.parameters]`.
fn samconfig(text: &str) -> SamDefaults {
    let mut defaults = SamDefaults::default();
    let mut in_section = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[default.global.parameters]";
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !in_section {
            continue;
        }
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim() {
            "stack_name" => defaults.stack_name = Some(value),
            "region" => defaults.region = Some(value),
            _ => {}
        }
    }
    defaults
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samconfig_gives_the_global_stack_name_and_region() {
        let text = include_str!("../../samconfig.toml");
        assert_eq!(
            samconfig(text),
            SamDefaults {
                stack_name: Some("platform-failover".into()),
                region: Some("us-east-1".into())
            }
        );
        assert_eq!(
            samconfig("[default.deploy.parameters]\nstack_name = \"other\"\n"),
            SamDefaults::default(),
            "only the global section"
        );
    }

    #[test]
    fn the_local_cloud_s_credentials_unless_the_environment_has_both_keys() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        type Vars = &'static [(&'static str, &'static str)];
        let table: &[(Vars, Option<&str>)] = &[
            (&[], None),
            (&[("AWS_ACCESS_KEY_ID", "AKIABOB")], None),
            (
                &[
                    ("AWS_ACCESS_KEY_ID", "AKIABOB"),
                    ("AWS_SECRET_ACCESS_KEY", " "),
                ],
                None,
            ),
            (
                &[
                    ("AWS_ACCESS_KEY_ID", "AKIABOB"),
                    ("AWS_SECRET_ACCESS_KEY", "s"),
                ],
                Some("AKIABOB"),
            ),
        ];
        for (pairs, expected) in table {
            let found = local_identity(vars(pairs));
            assert_eq!(
                found.as_ref().map(|c| c.access_key_id()),
                *expected,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn an_env_file_reads_as_the_shell_reads_it() {
        let vars = env_file(
            "# local cloud\nAWS_ENDPOINT_URL=http://127.0.0.1:4566\nAWS_REGION='us-east-1'\nEMPTY=\nnot a line\n",
        );
        assert_eq!(
            vars,
            BTreeMap::from([
                (
                    "AWS_ENDPOINT_URL".to_owned(),
                    "http://127.0.0.1:4566".to_owned()
                ),
                ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
                ("EMPTY".to_owned(), String::new()),
            ])
        );
    }
}
