//! The AWS calls only the operator makes: the stack's outputs
//! (CloudFormation), the functions' configuration and invocation (Lambda),
//! and who the caller is (STS). Kept here, not in `failover-aws`, so the
//! function binaries never build these SDK crates.

use std::collections::BTreeMap;
use std::time::Duration;

use failover_aws::lambda_invoke::Answered;
use failover_aws::sdk_error::classify;
use failover_core::{Error, Result};
use serde_json::Value;

/// Every output of a deployed stack, by key. A stack that does not exist is
/// refused naming it and the stacks that do.
pub async fn stack_outputs(
    client: &aws_sdk_cloudformation::Client,
    stack: &str,
    region: &str,
) -> Result<BTreeMap<String, String>> {
    let answer = match client.describe_stacks().stack_name(stack).send().await {
        Ok(answer) => answer,
        Err(error) => {
            let missing = error
                .as_service_error()
                .and_then(|e| aws_sdk_cloudformation::error::ProvideErrorMetadata::message(e))
                .is_some_and(|m| m.contains("does not exist"));
            if !missing {
                return Err(classify("CloudFormation", error));
            }
            let known = stack_names(client).await.unwrap_or_default();
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(Error::InvalidEvent(format!(
                "{} in {region} (pass --stack, --stack-region, or set stack_name in samconfig.toml)",
                failover_core::notices::operator::unknown("stack", stack, &known)
            )));
        }
    };
    let Some(found) = answer.stacks().first() else {
        return Err(Error::InvalidEvent(format!(
            "stack {stack:?} does not exist in {region}"
        )));
    };
    Ok(found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect())
}

/// The stacks that exist (not deleted), first page.
async fn stack_names(client: &aws_sdk_cloudformation::Client) -> Result<Vec<String>> {
    let answer = client
        .list_stacks()
        .send()
        .await
        .map_err(|e| classify("CloudFormation", e))?;
    Ok(answer
        .stack_summaries()
        .iter()
        .filter(|s| {
            s.stack_status()
                .is_some_and(|status| status.as_str() != "DELETE_COMPLETE")
        })
        .filter_map(|s| s.stack_name().map(str::to_owned))
        .collect())
}

/// The caller's identity, as every step by hand records it.
pub async fn caller(client: &aws_sdk_sts::Client) -> Result<String> {
    let answer = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify("STS", e))?;
    answer
        .arn()
        .map(str::to_owned)
        .ok_or_else(|| Error::rejected("STS", "GetCallerIdentity answered no ARN"))
}

/// A function's environment variables: its configuration.
pub async fn function_environment(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<BTreeMap<String, String>> {
    let answer = client
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| classify("Lambda", e))?;
    Ok(answer
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// Waits for a function as long as Lambda lets one run (a confirmation
/// samples for a while), and never retries by itself: a second invocation
/// is a second trigger, the operator's call.
pub fn invoke_client(
    sdk: &aws_config::SdkConfig,
    endpoint: Option<&str>,
) -> aws_sdk_lambda::Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(900))
        .operation_attempt_timeout(Duration::from_secs(900))
        .operation_timeout(Duration::from_secs(900))
        .build();
    let mut config = aws_sdk_lambda::config::Builder::from(sdk)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(timeouts);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_lambda::Client::from_conf(config.build())
}

/// Invokes `function` with `event` and answers its JSON answer. A function
/// error comes back as the core error its `errorType` names, so it says
/// whether a retry can help.
pub async fn invoke(
    client: &aws_sdk_lambda::Client,
    function: &str,
    event: &Value,
) -> Result<Value> {
    let json = |payload: &[u8]| {
        serde_json::from_slice::<Value>(payload)
            .map_err(|e| Error::rejected("Lambda", format!("{function} answered no JSON: {e}")))
    };
    match failover_aws::lambda_invoke::invoke(client, function, event).await? {
        Answered::Payload(payload) => json(&payload),
        Answered::FunctionError(payload) => Err(function_error(function, &json(&payload)?)),
    }
}

/// The core error a function answered (its `errorType` is `Error::kind`).
fn function_error(function: &str, body: &Value) -> Error {
    let kind = body["errorType"].as_str().unwrap_or("Unhandled");
    let message = format!(
        "{function}: {}",
        body["errorMessage"].as_str().unwrap_or("no error message")
    );
    match kind {
        "InvalidEvent" => Error::InvalidEvent(message),
        "ConfigurationError" => Error::Config(message),
        "UpstreamUnavailable" => Error::unavailable("Lambda function", message),
        "ConcurrentUpdate" => Error::Conflict(message),
        "InternalError" => Error::Internal(message),
        _ => Error::rejected("Lambda function", format!("{kind}: {message}")),
    }
}

/// The local cloud's endpoints as its functions see them: `AWS_ENDPOINT_URL`
/// and `AWS_ENDPOINT_URL_<SERVICE>` from the environment file, resolved by
/// each client exactly as `aws-config` resolves the process environment.
#[derive(Debug)]
pub struct LocalEndpoints(pub BTreeMap<String, String>);

impl aws_types::service_config::LoadServiceConfig for LocalEndpoints {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace(' ', "_");
        self.0
            .get(&format!("{}_{service}", key.env()))
            .or_else(|| self.0.get(key.env()))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

    #[test]
    fn a_function_error_keeps_its_retry_policy() {
        for (kind, expected) in [
            ("InvalidEvent", "InvalidEvent"),
            ("UpstreamUnavailable", "UpstreamUnavailable"),
            ("ConcurrentUpdate", "ConcurrentUpdate"),
            ("ConfigurationError", "ConfigurationError"),
            ("InternalError", "InternalError"),
            ("Runtime.ExitError", "UpstreamRejected"),
        ] {
            let error = function_error(
                "confirm-outage",
                &serde_json::json!({"errorType": kind, "errorMessage": "m"}),
            );
            assert_eq!(error.kind(), expected, "{kind}");
            assert!(error.to_string().contains("confirm-outage: m"), "{error}");
        }
    }

    #[test]
    fn local_endpoints_resolve_per_service_then_for_all() {
        let endpoints = LocalEndpoints(BTreeMap::from([
            (
                "AWS_ENDPOINT_URL".to_owned(),
                "http://127.0.0.1:4566".to_owned(),
            ),
            (
                "AWS_ENDPOINT_URL_DYNAMODB".to_owned(),
                "http://127.0.0.1:4567".to_owned(),
            ),
        ]));
        let key = |service| {
            ServiceConfigKey::builder()
                .service_id(service)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap()
        };
        assert_eq!(
            endpoints.load_config(key("DynamoDB")).as_deref(),
            Some("http://127.0.0.1:4567")
        );
        assert_eq!(
            endpoints.load_config(key("Route 53")).as_deref(),
            Some("http://127.0.0.1:4566")
        );
    }
}
