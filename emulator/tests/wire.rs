//! Raw HTTP checks of wire details the SDK clients hide: path-label encoding, error headers and
//! bodies, missing or mis-scoped SigV4 credentials, and the XML and Status error documents.

use std::io::{Read, Write};
use std::net::TcpStream;

use emulator::{sample_cluster, Aws, AwsWorld, Kube, KubeWorld};

const AUTH_EKS: &str = "AWS4-HMAC-SHA256 Credential=AKIAADMIN/20240101/us-east-1/eks/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
const AUTH_IAM: &str = "AWS4-HMAC-SHA256 Credential=AKIAADMIN/20240101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";

struct Reply {
    status: u16,
    head: String,
    body: String,
}

/// Sends one HTTP/1.1 request and reads the whole reply.
async fn send(endpoint: &str, method: &str, path: &str, auth: Option<&str>, body: &str) -> Reply {
    let addr = endpoint.trim_start_matches("http://").to_string();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    if method == "POST" && path == "/" {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        Reply {
            status,
            head: head.to_ascii_lowercase(),
            body: body.to_string(),
        }
    })
    .await
    .unwrap()
}

fn world() -> AwsWorld {
    let mut w = AwsWorld::default();
    let mut c = sample_cluster("prod", "111122223333");
    c.authentication_mode = "API".into();
    w.add_cluster(c)
        .add_role("arn:aws:iam::111122223333:role/dev")
        .add_credentials("AKIAADMIN", "arn:aws:iam::111122223333:user/admin");
    w
}

#[tokio::test]
async fn eks_labels_must_be_one_encoded_segment() {
    let aws = Aws::start(world()).await;
    let ok = send(
        &aws.endpoint(),
        "GET",
        "/clusters/prod/access-entries?maxResults=10",
        Some(AUTH_EKS),
        "",
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, r#"{"accessEntries":[]}"#);
    let raw = send(
        &aws.endpoint(),
        "GET",
        "/clusters/prod/access-entries/arn:aws:iam::111122223333:role/dev",
        Some(AUTH_EKS),
        "",
    )
    .await;
    assert_eq!(raw.status, 404);
    assert!(raw
        .head
        .contains("x-amzn-errortype: unknownoperationexception"));
    let encoded = send(
        &aws.endpoint(),
        "GET",
        "/clusters/prod/access-entries/arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev",
        Some(AUTH_EKS),
        "",
    )
    .await;
    assert_eq!(encoded.status, 404);
    assert!(encoded
        .head
        .contains("x-amzn-errortype: resourcenotfoundexception"));
    assert!(encoded
        .body
        .starts_with(r#"{"message":"The specified principalArn could not be found."#));
    assert_eq!(aws.calls_by_operation()["Unknown"], 1);
}

#[tokio::test]
async fn eks_needs_sigv4_credentials_scoped_to_eks() {
    let aws = Aws::start(world()).await;
    let none = send(&aws.endpoint(), "GET", "/clusters", None, "").await;
    assert_eq!(none.status, 403);
    assert!(none
        .head
        .contains("x-amzn-errortype: missingauthenticationtokenexception"));
    let wrong = send(&aws.endpoint(), "GET", "/clusters", Some(AUTH_IAM), "").await;
    assert_eq!(wrong.status, 403);
    assert!(wrong
        .head
        .contains("x-amzn-errortype: invalidsignatureexception"));
    let bad_json = send(
        &aws.endpoint(),
        "POST",
        "/clusters/prod/access-entries",
        Some(AUTH_EKS),
        "{not json",
    )
    .await;
    assert_eq!(bad_json.status, 400);
}

#[tokio::test]
async fn query_protocol_documents() {
    let aws = Aws::start(world()).await;
    let ok = send(
        &aws.endpoint(),
        "POST",
        "/",
        Some(AUTH_IAM),
        "Action=GetRole&Version=2010-05-08&RoleName=dev",
    )
    .await;
    assert_eq!(ok.status, 200);
    assert!(ok
        .body
        .starts_with(r#"<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">"#));
    assert!(ok.body.contains("<Path>/</Path>"));
    let missing = send(
        &aws.endpoint(),
        "POST",
        "/",
        Some(AUTH_IAM),
        "Action=GetRole&Version=2010-05-08&RoleName=ghost",
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing
        .body
        .starts_with(r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">"#));
    assert!(missing.body.contains("<Type>Sender</Type>"));
    assert!(missing.body.contains("<Code>NoSuchEntity</Code>"));
    assert!(missing.body.contains("<RequestId>"));
    // STS signed for IAM is refused; an unknown action is InvalidAction.
    let sts = send(
        &aws.endpoint(),
        "POST",
        "/",
        Some(AUTH_IAM),
        "Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(sts.status, 403);
    assert!(sts.body.contains("<Code>SignatureDoesNotMatch</Code>"));
    let unknown = send(
        &aws.endpoint(),
        "POST",
        "/",
        Some(AUTH_IAM),
        "Action=DeleteRole&Version=2010-05-08&RoleName=dev",
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("<Code>InvalidAction</Code>"));
}

#[tokio::test]
async fn kube_errors_are_status_objects() {
    let kube = Kube::start(KubeWorld::with_token("t")).await;
    let r = send(
        &kube.endpoint(),
        "GET",
        "/api/v1/namespaces/kube-system/configmaps/aws-auth",
        None,
        "",
    )
    .await;
    assert_eq!(r.status, 401);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["kind"], "Status");
    assert_eq!(v["reason"], "Unauthorized");
    let r = send(
        &kube.endpoint(),
        "GET",
        "/api/v1/namespaces/kube-system/configmaps/aws-auth",
        Some("Bearer t"),
        "",
    )
    .await;
    assert_eq!(r.status, 404);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["message"], "configmaps \"aws-auth\" not found");
    assert_eq!(v["details"]["kind"], "configmaps");
    let r = send(&kube.endpoint(), "GET", "/apis", Some("Bearer t"), "").await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["groups"][0]["name"], "rbac.authorization.k8s.io");
}
