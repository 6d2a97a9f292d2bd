//! What the process answers: its exit code, and an error's message with
//! whether a retry can help.

use failover_core::Error;
use failover_core::app::operate::Attention;
use failover_core::error::RetryPolicy;
use failover_core::model::readiness::Status;

pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const INCIDENT_OPEN: u8 = 3;
pub const REGION_DOWN: u8 = 4;
pub const READINESS_FAILING: u8 = 5;

/// A refusal of the request as given (an unknown name, a missing reason, a
/// closed incident) is bad usage; everything else failed on the way.
pub fn of_error(error: &Error) -> u8 {
    match error {
        Error::InvalidEvent(_) => USAGE,
        Error::Config(_)
        | Error::Unavailable { .. }
        | Error::Rejected { .. }
        | Error::Conflict(_)
        | Error::Internal(_) => FAILED,
    }
}

/// A warning is for a person to read; only a failing check fails the call.
pub fn of_readiness(status: Status) -> u8 {
    match status {
        Status::Pass | Status::Warn => OK,
        Status::Fail => READINESS_FAILING,
    }
}

pub fn of_attention(attention: Attention) -> u8 {
    match attention {
        Attention::None => OK,
        Attention::IncidentOpen => INCIDENT_OPEN,
        Attention::RegionDown => REGION_DOWN,
    }
}

/// One line for stderr: the error with its causes, and whether to retry.
pub fn message(error: &Error) -> String {
    // A request the CLI refused is no "invalid event" to the person who typed it.
    if let Error::InvalidEvent(why) = error {
        return format!("failoverctl: refused: {why} (nothing was changed)");
    }
    let advice = match (error, error.retry_policy()) {
        (Error::InvalidEvent(_), _) => "nothing was changed",
        (_, RetryPolicy::Retry) => "a retry may help",
        (_, RetryPolicy::Fail) => "a retry will not help until the cause is fixed",
    };
    format!(
        "failoverctl: {} ({}; {advice})",
        error.chain(),
        error.kind()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_exit_code_and_says_whether_to_retry() {
        for (error, code, advice) in [
            (
                Error::InvalidEvent("unknown region \"x\"".into()),
                USAGE,
                "nothing was changed",
            ),
            (
                Error::unavailable("DynamoDB", "throttled"),
                FAILED,
                "a retry may help",
            ),
            (
                Error::Conflict("incident changed".into()),
                FAILED,
                "a retry may help",
            ),
            (
                Error::rejected("Lambda", "AccessDenied"),
                FAILED,
                "a retry will not help",
            ),
            (
                Error::Config("REGIONS is required".into()),
                FAILED,
                "a retry will not help",
            ),
            (
                Error::Internal("bug".into()),
                FAILED,
                "a retry will not help",
            ),
        ] {
            assert_eq!(of_error(&error), code, "{error}");
            let text = message(&error);
            assert!(text.contains(advice), "{text}");
            if matches!(error, Error::InvalidEvent(_)) {
                assert_eq!(
                    text,
                    "failoverctl: refused: unknown region \"x\" (nothing was changed)"
                );
            } else {
                assert!(text.contains(error.kind()), "{text}");
            }
        }
    }

    #[test]
    fn a_status_exit_code_says_what_needs_attention() {
        assert_eq!(of_attention(Attention::None), 0);
        assert_eq!(of_attention(Attention::IncidentOpen), 3);
        assert_eq!(of_attention(Attention::RegionDown), 4);
    }

    #[test]
    fn only_a_failing_readiness_check_fails_the_call() {
        for (status, code) in [
            (Status::Pass, OK),
            (Status::Warn, OK),
            (Status::Fail, READINESS_FAILING),
        ] {
            assert_eq!(of_readiness(status), code, "{status}");
        }
    }
}
