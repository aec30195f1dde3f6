//! Where testgen writes into a project: `PATH/.testgen/`, which carries its
//! own `.gitignore` (`*`) so nothing of it is ever committed by accident.
//! Every write is atomic (temp file + rename): a crash never leaves half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

pub const DIR: &str = ".testgen";

/// Creates `root/.testgen/` with its `.gitignore` when missing; returns its path.
pub fn ensure_dir(root: &Path) -> std::io::Result<PathBuf> {
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        write_atomic(&ignore, b"*\n")?;
    }
    Ok(dir)
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    // tempfile's default 0600 suits secrets, not reports other tools read.
    let perms = std::os::unix::fs::PermissionsExt::from_mode(0o644);
    let mut tmp = tempfile::Builder::new()
        .permissions(perms)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether writing `path` stays inside `root` once symlinks are followed:
/// the deepest part of `path` that exists is resolved and must lie under
/// the resolved root. Err names where it would really go.
pub fn check_inside(root: &Path, path: &Path) -> Result<(), String> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut existing = path;
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(existing).is_err() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let real = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    if real.starts_with(&root) {
        return Ok(());
    }
    let mut target = real;
    target.extend(rest.iter().rev());
    Err(format!(
        "{} leads outside the project (to {}, through a symbolic link); testgen never writes outside the project",
        path.display(),
        target.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_through_a_symlink_out_of_the_project_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("tests")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("tests/generated")).unwrap();
        let e =
            check_inside(root.path(), &root.path().join("tests/generated/test_a.py")).unwrap_err();
        assert!(e.contains("leads outside the project"), "{e}");
        assert!(check_inside(root.path(), &root.path().join("tests/new/test_a.py")).is_ok());
        // A link that stays inside is fine.
        std::os::unix::fs::symlink(root.path().join("tests"), root.path().join("t2")).unwrap();
        assert!(check_inside(root.path(), &root.path().join("t2/x.py")).is_ok());
    }

    #[test]
    fn dir_has_gitignore_and_writes_replace_whole_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = ensure_dir(root.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
            "*\n"
        );
        let f = dir.join("x.json");
        write_atomic(&f, b"first, longer content").unwrap();
        write_atomic(&f, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "second");
        // No temporary files are left behind.
        let n = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(n, 2);
    }
}
