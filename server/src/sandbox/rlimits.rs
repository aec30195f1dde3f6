//! Resource limits of a sandboxed child: a runaway allocation ends in a
//! MemoryError, a runaway file in EFBIG (Python ignores SIGXFSZ), a busy
//! loop in SIGXCPU, a descriptor leak in EMFILE; no core dumps.

use super::Limits;

/// One limit, ready for setrlimit.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    #[cfg(target_os = "linux")]
    resource: libc::__rlimit_resource_t,
    #[cfg(not(target_os = "linux"))]
    resource: libc::c_int,
    value: libc::rlim_t,
}

const MIB: u64 = 1024 * 1024;

/// The limits of `l` (0 leaves that one as inherited), plus no core files.
pub fn of(l: &Limits) -> Vec<Limit> {
    let mut out = Vec::new();
    let mut push = |resource, value: u64| {
        if value > 0 {
            out.push(Limit {
                resource,
                value: value as libc::rlim_t,
            });
        }
    };
    push(libc::RLIMIT_AS, l.memory_mb.saturating_mul(MIB));
    push(libc::RLIMIT_FSIZE, l.file_size_mb.saturating_mul(MIB));
    push(libc::RLIMIT_CPU, l.cpu_s);
    push(libc::RLIMIT_NOFILE, l.open_files);
    out.push(Limit {
        resource: libc::RLIMIT_CORE,
        value: 0,
    });
    out
}

/// In the child. A limit is only ever lowered: one already below ours (an
/// outer ulimit) stays.
pub fn apply(limits: &[Limit]) -> std::io::Result<()> {
    for l in limits {
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain system calls on a stack value.
        unsafe {
            if libc::getrlimit(l.resource, &mut cur) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let value = l.value.min(cur.rlim_max);
            let new = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            if libc::setrlimit(l.resource, &new) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}
