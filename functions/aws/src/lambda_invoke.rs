//! A synchronous Lambda invocation and what it answered, the one way the
//! probes and the operator's CLI call a function.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use failover_core::Result;
use serde_json::Value;

use crate::sdk_error::classify;

/// The function's answer: its payload, or the error body of a function
/// that failed. Each caller reads either as it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    Payload(Vec<u8>),
    FunctionError(Vec<u8>),
}

/// Invokes `function` (a name or an ARN) with `event` and waits for it. A
/// failure of the invocation itself (throttled, refused, unreachable) is the
/// error, classified for a retry.
pub async fn invoke(
    client: &aws_sdk_lambda::Client,
    function: &str,
    event: &Value,
) -> Result<Answered> {
    let answer = client
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(event.to_string()))
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let payload = answer
                .payload()
                .map(|p| p.as_ref().to_vec())
                .unwrap_or_default();
            Ok(if answer.function_error().is_some() {
                Answered::FunctionError(payload)
            } else {
                Answered::Payload(payload)
            })
        }
        Err(error) => {
            // The local cloud's runtime emulator (`cargo lambda watch`)
            // answers a function error as HTTP 500 with the error as body,
            // where Lambda answers 200 and `X-Amz-Function-Error`.
            let failed = error
                .raw_response()
                .and_then(|r| r.body().bytes())
                .filter(|b| {
                    serde_json::from_slice::<Value>(b)
                        .is_ok_and(|body| body.get("errorType").is_some())
                })
                .map(<[u8]>::to_vec);
            match failed {
                Some(body) => Ok(Answered::FunctionError(body)),
                None => Err(classify("Lambda", error)),
            }
        }
    }
}
