//! The IAM (GetRole, GetUser, ListRoles, ListUsers) and STS (GetCallerIdentity, AssumeRole)
//! query-protocol APIs: form parameters in, XML documents in the real shapes out.

use std::collections::BTreeMap;

use crate::util::{iso8601, now_epoch, page_token, parse_page_token, xml_escape, Arn};
use crate::world::{AwsWorld, IamPrincipal};

pub(crate) const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub(crate) const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The query-protocol service an action belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Iam,
    Sts,
}

impl Service {
    pub(crate) fn of_action(action: &str) -> Option<Service> {
        match action {
            "GetRole" | "GetUser" | "ListRoles" | "ListUsers" => Some(Service::Iam),
            "GetCallerIdentity" | "AssumeRole" => Some(Service::Sts),
            _ => None,
        }
    }

    pub(crate) fn signing_name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }

    pub(crate) fn xmlns(self) -> &'static str {
        match self {
            Service::Iam => IAM_XMLNS,
            Service::Sts => STS_XMLNS,
        }
    }
}

/// A query-protocol error: HTTP status, `Sender`/`Receiver`, code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

fn qerr(status: u16, code: &'static str, message: impl Into<String>) -> QueryError {
    QueryError {
        status,
        code,
        message: message.into(),
    }
}

fn validation(message: impl Into<String>) -> QueryError {
    qerr(400, "ValidationError", message)
}

/// The `<ErrorResponse>` document.
pub(crate) fn error_xml(service: Service, e: &QueryError, request_id: &str) -> String {
    let kind = if e.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"{}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        service.xmlns(),
        e.code,
        xml_escape(&e.message)
    )
}

/// Wraps a result body in `<ActionResponse><ActionResult>...` with the request id.
fn wrap(service: Service, action: &str, result: &str, request_id: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{}\">\n  <{action}Result>\n{result}  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
        service.xmlns()
    )
}

/// Who signed the request.
pub(crate) struct Caller {
    pub arn: String,
}

/// Runs one IAM/STS action; returns the XML body.
pub(crate) fn handle(
    world: &mut AwsWorld,
    service: Service,
    action: &str,
    params: &BTreeMap<String, String>,
    caller: &Caller,
    time: u64,
    request_id: &str,
) -> Result<String, QueryError> {
    let caller_account = Arn::account_of(&caller.arn);
    let result = match action {
        "GetRole" => get_role(world, params, &caller_account, time)?,
        "GetUser" => get_user(world, params, caller, &caller_account, time)?,
        "ListRoles" | "ListUsers" => {
            list_principals(world, action == "ListRoles", params, &caller_account, time)?
        }
        "GetCallerIdentity" => get_caller_identity(world, caller),
        "AssumeRole" => assume_role(world, params, caller)?,
        _ => {
            return Err(qerr(
                400,
                "InvalidAction",
                format!(
                    "Could not find operation {action} for version {}",
                    params.get("Version").map(String::as_str).unwrap_or("")
                ),
            ))
        }
    };
    Ok(wrap(service, action, &result, request_id))
}

/// GetRole: the caller's account's role named `RoleName` (case-insensitively).
fn get_role(
    world: &AwsWorld,
    params: &BTreeMap<String, String>,
    caller_account: &str,
    time: u64,
) -> Result<String, QueryError> {
    let name = required_name(params, "RoleName", "roleName", 64)?;
    let role = world
        .roles
        .iter()
        .find(|r| r.account() == caller_account && r.name().eq_ignore_ascii_case(&name))
        .ok_or_else(|| {
            qerr(
                404,
                "NoSuchEntity",
                format!("The role with name {name} cannot be found."),
            )
        })?;
    Ok(format!(
        "    <Role>\n{}    </Role>\n",
        role_xml(role, time, "      ")
    ))
}

/// GetUser: the user named `UserName` in the caller's account, or else the calling user.
fn get_user(
    world: &AwsWorld,
    params: &BTreeMap<String, String>,
    caller: &Caller,
    caller_account: &str,
    time: u64,
) -> Result<String, QueryError> {
    let user = match params.get("UserName") {
        Some(_) => {
            let name = required_name(params, "UserName", "userName", 64)?;
            world
                .users
                .iter()
                .find(|u| u.account() == caller_account && u.name().eq_ignore_ascii_case(&name))
                .ok_or_else(|| {
                    qerr(
                        404,
                        "NoSuchEntity",
                        format!("The user with name {name} cannot be found."),
                    )
                })?
        }
        None => world
            .users
            .iter()
            .find(|u| u.arn == caller.arn)
            .ok_or_else(|| {
                validation("Must specify userName when calling with non-User credentials")
            })?,
    };
    Ok(format!(
        "    <User>\n{}    </User>\n",
        user_xml(user, time, "      ")
    ))
}

/// ListRoles (`roles`) or ListUsers: one page of the caller's account's principals.
fn list_principals(
    world: &AwsWorld,
    roles: bool,
    params: &BTreeMap<String, String>,
    caller_account: &str,
    time: u64,
) -> Result<String, QueryError> {
    let (prefix, max, after) = list_params(params)?;
    let list = if roles { &world.roles } else { &world.users };
    let matching: Vec<&IamPrincipal> = list
        .iter()
        .filter(|p| p.account() == caller_account && p.path().starts_with(&prefix))
        .collect();
    let start = after.unwrap_or(0);
    let end = (start + max).min(matching.len());
    let slice = matching.get(start..end).unwrap_or(&[]);
    let truncated = end < matching.len();
    let (list_tag, indent) = (if roles { "Roles" } else { "Users" }, "        ");
    let mut out = format!("    <{list_tag}>\n");
    for p in slice {
        let inner = if roles {
            role_xml(p, time, indent)
        } else {
            user_xml(p, time, indent)
        };
        out.push_str(&format!("      <member>\n{inner}      </member>\n"));
    }
    out.push_str(&format!("    </{list_tag}>\n"));
    out.push_str(&format!("    <IsTruncated>{truncated}</IsTruncated>\n"));
    if truncated {
        out.push_str(&format!(
            "    <Marker>{}</Marker>\n",
            page_token(&end.to_string())
        ));
    }
    Ok(out)
}

/// A list call's `PathPrefix` (default `/`), `MaxItems` (1-1000, default 100) and `Marker`.
fn list_params(
    params: &BTreeMap<String, String>,
) -> Result<(String, usize, Option<usize>), QueryError> {
    let prefix = params
        .get("PathPrefix")
        .cloned()
        .unwrap_or_else(|| "/".into());
    if !prefix.starts_with('/') {
        return Err(validation(format!(
            "1 validation error detected: Value '{prefix}' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*"
        )));
    }
    let max = match params.get("MaxItems") {
        None => 100,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => n as usize,
            _ => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{v}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
                )))
            }
        },
    };
    let after = match params.get("Marker") {
        None => None,
        Some(m) => Some(
            parse_page_token(m)
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or_else(|| validation("Invalid Marker."))?,
        ),
    };
    Ok((prefix, max, after))
}

/// GetCallerIdentity: the caller's ARN, user id and account.
fn get_caller_identity(world: &AwsWorld, caller: &Caller) -> String {
    let arn = Arn::parse(&caller.arn);
    let user_id = caller_user_id(world, &caller.arn);
    format!(
        "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
        xml_escape(&caller.arn),
        xml_escape(&user_id),
        arn.map(|a| a.account).unwrap_or_default()
    )
}

/// A required IAM name parameter matching `[\w+=,.@-]+` of at most `max` characters.
fn required_name(
    params: &BTreeMap<String, String>,
    param: &str,
    member: &str,
    max: usize,
) -> Result<String, QueryError> {
    let Some(v) = params.get(param) else {
        return Err(validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        )));
    };
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if v.is_empty() || v.len() > max || !v.chars().all(ok_char) {
        return Err(validation(format!(
            "1 validation error detected: Value '{v}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    Ok(v.clone())
}

const TRUST_POLICY: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";

fn role_xml(r: &IamPrincipal, time: u64, indent: &str) -> String {
    format!(
        "{indent}<Path>{}</Path>\n{indent}<RoleName>{}</RoleName>\n{indent}<RoleId>{}</RoleId>\n{indent}<Arn>{}</Arn>\n{indent}<CreateDate>{}</CreateDate>\n{indent}<AssumeRolePolicyDocument>{TRUST_POLICY}</AssumeRolePolicyDocument>\n{indent}<MaxSessionDuration>3600</MaxSessionDuration>\n",
        xml_escape(&r.path()),
        xml_escape(&r.name()),
        xml_escape(&r.id),
        xml_escape(&r.arn),
        iso8601(time)
    )
}

fn user_xml(u: &IamPrincipal, time: u64, indent: &str) -> String {
    format!(
        "{indent}<Path>{}</Path>\n{indent}<UserName>{}</UserName>\n{indent}<UserId>{}</UserId>\n{indent}<Arn>{}</Arn>\n{indent}<CreateDate>{}</CreateDate>\n",
        xml_escape(&u.path()),
        xml_escape(&u.name()),
        xml_escape(&u.id),
        xml_escape(&u.arn),
        iso8601(time)
    )
}

/// GetCallerIdentity's UserId: `AROA...:session` for assumed roles, `AIDA...` for users, the
/// account id for root.
fn caller_user_id(world: &AwsWorld, caller_arn: &str) -> String {
    let Some(arn) = Arn::parse(caller_arn) else {
        return String::new();
    };
    if arn.resource == "root" {
        return arn.account;
    }
    if let Some(rest) = arn.resource.strip_prefix("assumed-role/") {
        let (role, session) = rest.split_once('/').unwrap_or((rest, ""));
        let id = world
            .roles
            .iter()
            .find(|r| r.account() == arn.account && r.name() == role)
            .map(|r| r.id.clone())
            .unwrap_or_else(|| IamPrincipal::new(caller_arn).id);
        return format!("{id}:{session}");
    }
    world
        .users
        .iter()
        .chain(world.roles.iter())
        .find(|p| p.arn == caller_arn)
        .map(|p| p.id.clone())
        .unwrap_or_else(|| IamPrincipal::new(caller_arn).id)
}

fn assume_role(
    world: &mut AwsWorld,
    params: &BTreeMap<String, String>,
    caller: &Caller,
) -> Result<String, QueryError> {
    let Some(role_arn) = params.get("RoleArn") else {
        return Err(validation(
            "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
        ));
    };
    let session = match params.get("RoleSessionName") {
        Some(s)
            if (2..=64).contains(&s.len())
                && s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)) =>
        {
            s.clone()
        }
        Some(s) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{s}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            )))
        }
        None => {
            return Err(validation(
                "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
            ))
        }
    };
    let duration = params
        .get("DurationSeconds")
        .and_then(|d| d.parse::<u64>().ok())
        .unwrap_or(3600);
    let Some((key, secret)) = world.assumable.get(role_arn).cloned() else {
        return Err(qerr(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn
            ),
        ));
    };
    let parsed = Arn::parse(role_arn).unwrap_or(Arn {
        partition: "aws".into(),
        service: "iam".into(),
        region: String::new(),
        account: String::new(),
        resource: String::new(),
    });
    let role_name = parsed.resource.rsplit('/').next().unwrap_or_default();
    let session_arn = format!(
        "arn:{}:sts::{}:assumed-role/{role_name}/{session}",
        parsed.partition, parsed.account
    );
    let role_id = world
        .roles
        .iter()
        .find(|r| r.arn == *role_arn)
        .map(|r| r.id.clone())
        .unwrap_or_else(|| IamPrincipal::new(role_arn).id);
    world.credentials.insert(key.clone(), session_arn.clone());
    world.secrets.insert(key.clone(), secret.clone());
    Ok(format!(
        "    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>emulator-session-{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n    <AssumedRoleUser>\n      <AssumedRoleId>{role_id}:{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <PackedPolicySize>0</PackedPolicySize>\n",
        xml_escape(&key),
        xml_escape(&secret),
        xml_escape(&key),
        iso8601(now_epoch() + duration),
        xml_escape(&session),
        xml_escape(&session_arn)
    ))
}
