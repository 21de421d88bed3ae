//! AWS configuration and errors: the standard credential and region chain of
//! aws-config (`--profile`, `--region`, `AWS_*` variables, and the endpoint
//! overrides `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_EKS|IAM|STS`), retries with
//! backoff for throttling and 5xx, timeouts so an unreachable endpoint fails
//! instead of hanging, and `--assume-role` for a cross-account run.
//! `AWS_MAX_ATTEMPTS`, as the AWS CLI reads it, sets the attempts per call.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_eks::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{in_words, LiveError};

/// How to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// A role to assume for every call (a cross-account run).
    pub assume_role: Option<String>,
    /// Roles to assume for IAM lookups in their own accounts.
    pub lookup_roles: Vec<String>,
    /// Attempts per call, the first included (throttling and 5xx are retried).
    pub max_attempts: u32,
}

/// `AWS_MAX_ATTEMPTS`'s value, checked.
fn max_attempts(value: &str) -> Result<u32, LiveError> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| LiveError::BadMaxAttempts {
            value: crate::model::untrusted::terminal(value).into_owned(),
        })
}

/// Loads the SDK configuration.
///
/// # Errors
/// [`LiveError::NoRegion`] when no region is configured anywhere,
/// [`LiveError::BadMaxAttempts`] for a bad `AWS_MAX_ATTEMPTS`.
pub async fn load(settings: &AwsSettings) -> Result<SdkConfig, LiveError> {
    let attempts = match std::env::var_os("AWS_MAX_ATTEMPTS") {
        None => settings.max_attempts.max(1),
        Some(v) => max_attempts(&v.to_string_lossy())?,
    };
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        );
    if let Some(p) = &settings.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &settings.region {
        loader = loader.region(Region::new(r.clone()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(LiveError::NoRegion);
    }
    match &settings.assume_role {
        Some(role) => Ok(assume(&config, role).await),
        None => Ok(config),
    }
}

/// The same configuration, with credentials of `role` assumed through STS.
pub async fn assume(config: &SdkConfig, role: &str) -> SdkConfig {
    let provider = AssumeRoleProvider::builder(role)
        .session_name("migrate-auth")
        .configure(config)
        .build()
        .await;
    config
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// What an AWS service error means for the caller, from its code (the code
/// itself stays in [`LiveError::Aws`] for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// `ResourceNotFoundException`, IAM's `NoSuchEntity`.
    NotFound,
    /// `ResourceInUseException`: the access entry already exists.
    InUse,
    /// `AccessDeniedException`, IAM's and STS's `AccessDenied`.
    AccessDenied,
    /// `ThrottlingException`, `Throttling`, `TooManyRequestsException`.
    Throttled,
    /// `InvalidRequestException`: the request is not allowed in the cluster's
    /// state (for example an access-entry call in `CONFIG_MAP` mode).
    InvalidRequest,
    /// `InvalidParameterException`: a value was refused.
    InvalidParameter,
    /// `ResourceLimitExceededException`: a quota (3,000 entries per cluster).
    LimitExceeded,
    /// `ServerException`, `ServiceUnavailableException`.
    Server,
    /// Any other code.
    Other,
}

impl AwsErrorKind {
    /// The kind of the service error code `code`.
    pub fn of(code: &str) -> AwsErrorKind {
        match code {
            "ResourceNotFoundException" | "NoSuchEntity" => AwsErrorKind::NotFound,
            "ResourceInUseException" => AwsErrorKind::InUse,
            "AccessDeniedException" | "AccessDenied" => AwsErrorKind::AccessDenied,
            "ThrottlingException" | "Throttling" | "TooManyRequestsException" => {
                AwsErrorKind::Throttled
            }
            "InvalidRequestException" => AwsErrorKind::InvalidRequest,
            "InvalidParameterException" => AwsErrorKind::InvalidParameter,
            "ResourceLimitExceededException" => AwsErrorKind::LimitExceeded,
            "ServerException" | "ServiceUnavailableException" => AwsErrorKind::Server,
            _ => AwsErrorKind::Other,
        }
    }
}

/// Turns an SDK error into a [`LiveError`] that says what failed and why.
pub(crate) fn error<E, R>(operation: &'static str, err: SdkError<E, R>) -> LiveError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + 'static,
{
    match &err {
        // The SDK resolves credentials as it sends: their absence shows here.
        SdkError::DispatchFailure(_) if is_missing_credentials(&err) => LiveError::Credentials {
            operation,
            message: in_words(&err),
        },
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => LiveError::Unreachable {
            operation,
            message: in_words(&err),
        },
        SdkError::ServiceError(service) => service_error(operation, service.err()),
        _ => {
            let message = in_words(&err);
            if message.contains("credentials") || message.contains("identity") {
                LiveError::Credentials { operation, message }
            } else {
                LiveError::Client { operation, message }
            }
        }
    }
}

/// A service's refusal, by its code; an error without a code keeps its message.
fn service_error(operation: &'static str, e: &impl ProvideErrorMetadata) -> LiveError {
    let message = e.message().unwrap_or("(no message)").to_string();
    let Some(code) = e.code() else {
        return LiveError::Client { operation, message };
    };
    if is_credentials_code(code) {
        return LiveError::Credentials {
            operation,
            message: format!("{code}: {message}"),
        };
    }
    LiveError::Aws {
        operation,
        kind: AwsErrorKind::of(code),
        code: code.to_string(),
        message,
    }
}

fn is_missing_credentials<E, R>(err: &SdkError<E, R>) -> bool
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let text = in_words(err);
    text.contains("no credentials found") || text.contains("credential provider")
}

fn is_credentials_code(code: &str) -> bool {
    matches!(
        code,
        "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "MissingAuthenticationToken"
            | "InvalidSignatureException"
    )
}
