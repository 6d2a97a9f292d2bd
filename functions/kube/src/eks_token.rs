//! The bearer token EKS accepts: `k8s-aws-v1.` + base64url (no padding) of a
//! presigned STS `GetCallerIdentity` URL whose signature covers the
//! `x-k8s-aws-id` header set to the cluster name. EKS asks STS who signed it,
//! so the token proves the caller's IAM identity for that one cluster.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use failover_core::Error;

const PREFIX: &str = "k8s-aws-v1.";
/// What `aws eks get-token` sends. EKS accepts a token for about 15 minutes
/// whatever this says, so a leaked one is usable that long: it never
/// appears in a log, an error or an answer.
pub(crate) const VALIDITY: Duration = Duration::from_secs(60);

/// A bearer token. Its `Debug` and `Display` never show the secret part.
#[derive(Clone, PartialEq, Eq)]
pub struct EksToken(String);

impl EksToken {
    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EksToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EksToken(k8s-aws-v1.***)")
    }
}

/// Signs a token for `cluster` in `region` with the caller's credentials.
pub fn eks_token(
    credentials: &Credentials,
    cluster: &str,
    region: &str,
    now: SystemTime,
) -> Result<EksToken, Error> {
    let failed =
        |what: &str, e: &dyn fmt::Display| Error::rejected("EKS token", format!("{what}: {e}"));
    let host = format!("sts.{region}.amazonaws.com");
    let url = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(VALIDITY);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| failed("signing parameters", &e))?
        .into();
    let headers = [("host", host.as_str()), ("x-k8s-aws-id", cluster)];
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| failed("request", &e))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| failed("signing", &e))?
        .into_parts();
    let mut presigned = http::Request::get(url.as_str())
        .body(())
        .map_err(|e| failed("URL", &e))?;
    instructions.apply_to_request_http1x(&mut presigned);
    Ok(EksToken(format!(
        "{PREFIX}{}",
        URL_SAFE_NO_PAD.encode(presigned.uri().to_string())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(session_token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token.map(Into::into),
            None,
            "test",
        )
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn presigned_url(token: &EksToken) -> String {
        let encoded = token.expose().strip_prefix(PREFIX).expect("prefix");
        assert!(
            !encoded.contains('=') && !encoded.contains('+') && !encoded.contains('/'),
            "base64url without padding"
        );
        String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("utf-8")
    }

    #[test]
    fn token_has_the_form_eks_expects() {
        // 2026-11-22T10:00:00Z
        let token = eks_token(
            &credentials(None),
            "platform-us-east-1",
            "us-east-1",
            at(1_795_341_600),
        )
        .unwrap();
        let url = presigned_url(&token);
        assert!(
            url.starts_with("https://sts.us-east-1.amazonaws.com/?"),
            "{url}"
        );
        for part in [
            "Action=GetCallerIdentity",
            "Version=2011-06-15",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20261122%2Fus-east-1%2Fsts%2Faws4_request",
            "X-Amz-Date=20261122T100000Z",
            "X-Amz-Expires=60",
            "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
        ] {
            assert!(url.contains(part), "{part} missing from {url}");
        }
        let signature = url.split("X-Amz-Signature=").nth(1).expect("signature");
        assert_eq!(signature.len(), 64);
        assert!(signature.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn signature_matches_the_reference_presigner() {
        // Computed with botocore's SigV4QueryAuth for the same request (what
        // `aws eks get-token` does): GET on that URL, headers host and
        // x-k8s-aws-id=platform-us-east-1, expires 60, the credentials above.
        let token = eks_token(
            &credentials(None),
            "platform-us-east-1",
            "us-east-1",
            at(1_795_341_600),
        )
        .unwrap();
        let url = presigned_url(&token);
        assert!(
            url.ends_with(&format!("X-Amz-Signature={REFERENCE_SIGNATURE}")),
            "{url}"
        );
    }

    #[test]
    fn the_signature_is_bound_to_the_cluster_and_region() {
        let a = presigned_url(
            &eks_token(
                &credentials(None),
                "cluster-a",
                "eu-west-1",
                at(1_795_341_600),
            )
            .unwrap(),
        );
        let b = presigned_url(
            &eks_token(
                &credentials(None),
                "cluster-b",
                "eu-west-1",
                at(1_795_341_600),
            )
            .unwrap(),
        );
        assert!(a.starts_with("https://sts.eu-west-1.amazonaws.com/"));
        assert_ne!(a, b, "another cluster, another signature");
    }

    /// What a subscriber wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Signs a token with a session token while `subscriber` logs.
    fn logged_while_signing(subscriber: impl tracing::Subscriber + Send + Sync) {
        tracing::subscriber::with_default(subscriber, || {
            eks_token(
                &credentials(Some("SECRET-SESSION-TOKEN")),
                "c",
                "us-east-1",
                at(1_795_341_600),
            )
            .expect("token");
        });
    }

    #[test]
    fn no_credential_reaches_the_logs_even_at_trace() {
        let captured = Captured::default();
        let writer = captured.clone();
        let plain = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        logged_while_signing(plain);
        let unfiltered =
            String::from_utf8(captured.0.lock().expect("log buffer").clone()).expect("utf-8");
        // What the signer prints at TRACE: the request and the credentials'
        // access key id (the canonical request too, with the session token,
        // in some releases).
        assert!(
            unfiltered.contains("AKIDEXAMPLE"),
            "the signer no longer logs its credentials at TRACE; this test then guards nothing: {unfiltered}"
        );

        let captured = Captured::default();
        let writer = captured.clone();
        logged_while_signing(failover_aws::log_subscriber("TRACE", true, move || {
            writer.clone()
        }));
        tracing::subscriber::with_default(
            failover_aws::log_subscriber("TRACE", true, {
                let writer = captured.clone();
                move || writer.clone()
            }),
            || tracing::trace!("our own trace line"),
        );
        let logged =
            String::from_utf8(captured.0.lock().expect("log buffer").clone()).expect("utf-8");
        assert!(logged.contains("our own trace line"), "{logged}");
        assert!(!logged.contains("SECRET-SESSION-TOKEN"), "{logged}");
        assert!(!logged.contains("AKIDEXAMPLE"), "{logged}");
    }

    #[test]
    fn temporary_credentials_carry_their_session_token() {
        let url = presigned_url(
            &eks_token(
                &credentials(Some("SESSION/TOKEN+1")),
                "c",
                "us-east-1",
                at(1_795_341_600),
            )
            .unwrap(),
        );
        assert!(
            url.contains("X-Amz-Security-Token=SESSION%2FTOKEN%2B1"),
            "{url}"
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = eks_token(&credentials(None), "c", "us-east-1", at(1_795_341_600)).unwrap();
        assert_eq!(format!("{token:?}"), "EksToken(k8s-aws-v1.***)");
    }

    const REFERENCE_SIGNATURE: &str =
        "9f0588a1336a241d01968a3c1126321cacf7a489289d82718c351ab1a4d0c25c";
}
