//! The optional inputs beside aws-auth, each read from a file the user exported:
//! RBAC objects ([`rbac`]), IAM role and user dumps ([`iam`]), the overrides a
//! human writes to settle errors ([`overrides`]), and the cluster's current
//! state ([`current`]). Pure: callers pass the bytes.

pub mod current;
pub mod fleet;
pub mod iam;
pub mod overrides;
pub mod rbac;

use crate::model::finding::Source;
use crate::reader::{self, ReadError};
use crate::yaml::{self, Node, YamlError};

/// Why an input file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Not UTF-8 or too large.
    #[error(transparent)]
    Text(#[from] ReadError),
    /// Not well-formed YAML or JSON.
    #[error("{file}:{line}: not valid YAML/JSON: {}", error.what())]
    Yaml {
        file: String,
        line: usize,
        error: YamlError,
    },
    /// Well-formed, but not what the option expects.
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
}

/// Parses every YAML/JSON document of an input file.
fn documents(file: &str, bytes: &[u8]) -> Result<Vec<Node>, InputError> {
    let text = reader::utf8(file, bytes)?;
    yaml::parse_file(text).map_err(|error| InputError::Yaml {
        file: file.into(),
        line: error.line(),
        error,
    })
}

fn invalid(file: &str, line: usize, message: impl Into<String>) -> InputError {
    InputError::Invalid {
        file: file.into(),
        line,
        message: message.into(),
    }
}

fn source_at(file: &str, node: &Node) -> Source {
    Source {
        file: file.into(),
        key: None,
        index: None,
        line: node.line,
    }
}

/// A list of strings, or an error naming the key.
fn string_list(file: &str, key: &str, node: &Node) -> Result<Vec<String>, InputError> {
    let items = node.as_seq().ok_or_else(|| {
        invalid(
            file,
            node.line,
            format!("`{key}` must be a list of strings"),
        )
    })?;
    items
        .iter()
        .map(|n| {
            n.as_str().map(str::to_string).ok_or_else(|| {
                invalid(
                    file,
                    n.line,
                    format!("`{key}` must hold strings, found {}", n.kind_name()),
                )
            })
        })
        .collect()
}
