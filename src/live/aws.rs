//! AWS configuration and errors: the standard credential and region chain of
//! aws-config (`--profile`, `--region`, `AWS_*` variables, and the endpoint
//! overrides `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_EKS|IAM|STS`), retries with
//! backoff for throttling and 5xx, timeouts so an unreachable endpoint fails
//! instead of hanging, and `--assume-role` for a cross-account run.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_eks::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::LiveError;

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

/// Loads the SDK configuration.
///
/// # Errors
/// [`LiveError::NoRegion`] when no region is configured anywhere.
pub async fn load(settings: &AwsSettings) -> Result<SdkConfig, LiveError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(settings.max_attempts.max(1))
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

/// Turns an SDK error into a [`LiveError`] that says what failed and why.
pub(crate) fn error<E, R>(operation: &'static str, err: SdkError<E, R>) -> LiveError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &err {
        // The SDK resolves credentials as it sends: their absence shows here.
        SdkError::DispatchFailure(_) if is_missing_credentials(&err) => LiveError::Credentials {
            operation,
            message: DisplayErrorContext(&err).to_string(),
        },
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => LiveError::Unreachable {
            operation,
            message: DisplayErrorContext(&err).to_string(),
        },
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = e.message().unwrap_or_default().to_string();
            if is_credentials_code(&code) {
                LiveError::Credentials {
                    operation,
                    message: format!("{code}: {message}"),
                }
            } else {
                LiveError::Aws {
                    operation,
                    code,
                    message,
                }
            }
        }
        _ => {
            let message = DisplayErrorContext(&err).to_string();
            if message.contains("credentials") || message.contains("identity") {
                LiveError::Credentials { operation, message }
            } else {
                LiveError::Aws {
                    operation,
                    code: "Client".into(),
                    message,
                }
            }
        }
    }
}

fn is_missing_credentials<E, R>(err: &SdkError<E, R>) -> bool
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = DisplayErrorContext(err).to_string();
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

/// The service error code of `err`, if it is a service error.
pub(crate) fn code_of<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}
