//! Files only their owner may read, for what holds a cluster's access
//! configuration (the journal, saved plans, snapshots): folders are created
//! 0700, files 0600, and nothing is ever written through a symbolic link
//! planted at the path (it is refused, its target left alone).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// The error for a symbolic link found where a file is to be written.
fn symlink_refused(path: &Path) -> io::Error {
    io::Error::other(format!(
        "{} is a symbolic link; refusing to write through it",
        path.display()
    ))
}

/// Creates `dir` and its missing parents, each 0700 (existing ones are left
/// as they are).
///
/// # Errors
/// As [`DirBuilder::create`].
pub(crate) fn create_dirs(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Opens `path` for reading and appending, creating it 0600; a symbolic
/// link at `path` is refused.
///
/// # Errors
/// As [`OpenOptions::open`], and a refusal for a symbolic link.
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| refused_if_link(path, e))
}

/// Opens `path` for reading; a symbolic link there is refused.
///
/// # Errors
/// As [`OpenOptions::open`], and a refusal for a symbolic link.
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| refused_if_link(path, e))
}

/// ELOOP from an `O_NOFOLLOW` open means a symbolic link was there.
fn refused_if_link(path: &Path, e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) => symlink_refused(path),
        _ => e,
    }
}

/// Writes `bytes` to `path` as a 0600 file, all or nothing: a new file next
/// to it is written, synced and renamed over it. A symbolic link at `path`
/// is refused.
///
/// # Errors
/// As the file operations, and a refusal for a symbolic link.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(symlink_refused(path));
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} names no file", path.display())))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&temp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
