//! File-system writes confined with Landlock: the ruleset is created and
//! filled in the parent (it opens the allowed directories), the child only
//! restricts itself with it. Reads are not handled, so they stay allowed
//! everywhere: the interpreter, its site-packages and the project must load.

use std::path::PathBuf;

use landlock::{
    Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreated,
    RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

/// The write rights handled: those of ABI 1-3 (create, write, remove,
/// rename across directories, truncate). Not ABI 5's device ioctls: a
/// terminal query on /dev/null must keep answering "not a tty".
const WRITE_ABI: ABI = ABI::V3;

/// The kernel's Landlock ABI version, None when it has none.
pub fn abi() -> Option<i32> {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with no attributes only
    // returns the version.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    (v > 0).then_some(v as i32)
}

/// A ruleset allowing writes beneath `writable` (and to /dev/null) only;
/// signals and abstract Unix sockets stay inside the sandbox where the
/// kernel can scope them (ABI 6).
pub fn ruleset(writable: &[PathBuf]) -> Result<RulesetCreated, String> {
    let write = AccessFs::from_write(WRITE_ABI);
    let e = |e: landlock::RulesetError| e.to_string();
    let mut rs = Ruleset::default()
        .handle_access(write)
        .map_err(e)?
        .scope(Scope::from_all(ABI::V6))
        .map_err(e)?
        .create()
        .map_err(e)?;
    for dir in writable {
        // A directory that does not exist (yet) has nothing to allow.
        let Ok(fd) = PathFd::new(dir) else { continue };
        let access = if dir.is_dir() {
            write
        } else {
            write & AccessFs::from_file(WRITE_ABI)
        };
        rs = rs.add_rule(PathBeneath::new(fd, access)).map_err(e)?;
    }
    if let Ok(fd) = PathFd::new("/dev/null") {
        rs = rs
            .add_rule(PathBeneath::new(fd, write & AccessFs::from_file(WRITE_ABI)))
            .map_err(e)?;
    }
    Ok(rs.no_new_privs(true))
}

/// In the child: restricts itself for good.
pub fn restrict(rs: RulesetCreated) -> std::io::Result<()> {
    match rs.restrict_self() {
        Ok(status) if status.ruleset != RulesetStatus::NotEnforced => Ok(()),
        Ok(_) => Err(std::io::Error::from_raw_os_error(libc::ENOSYS)),
        Err(_) => Err(std::io::Error::last_os_error()),
    }
}
