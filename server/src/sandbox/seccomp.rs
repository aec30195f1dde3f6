//! System calls the child may not make, as seccomp-BPF programs compiled in
//! the parent. Everything not listed is allowed: the point is to close the
//! ways around the other layers, not to enumerate what Python needs.
//!
//! Process creation: `clone` without CLONE_THREAD (fork, vfork, posix_spawn,
//! `_posixsubprocess.fork_exec`), `fork`, `vfork` fail with EPERM; `clone3`
//! fails with ENOSYS, which makes glibc fall back to `clone` for threads
//! (its flags live in memory seccomp cannot read).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// Refused whatever the policy: ways out of the other layers (io_uring
/// does socket and file operations seccomp never sees; namespaces, mounts
/// and ptrace undo confinement) and what no test needs.
const DENIED: &[i64] = &[
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_open_by_handle_at,
];

/// Socket families a test may use: Unix, IPv4/IPv6 (loopback only, by the
/// network namespace) and netlink (glibc asks it about interfaces).
const FAMILIES: &[i32] = &[
    libc::AF_UNIX,
    libc::AF_INET,
    libc::AF_INET6,
    libc::AF_NETLINK,
];

/// The filters to install, in order.
pub fn programs(allow_process: bool) -> Result<Vec<BpfProgram>, String> {
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    let e = |e: seccompiler::BackendError| e.to_string();
    let mut eperm: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&n| (n, Vec::new())).collect();
    let family_rule = SeccompRule::new(
        FAMILIES
            .iter()
            .map(|&f| cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, f as u64))
            .collect::<Result<_, _>>()
            .map_err(e)?,
    )
    .map_err(e)?;
    let raw_rule = SeccompRule::new(vec![cond(
        1,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::MaskedEq(0xf),
        libc::SOCK_RAW as u64,
    )
    .map_err(e)?])
    .map_err(e)?;
    eperm.insert(libc::SYS_socket, vec![family_rule, raw_rule]);
    let mut enosys: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    if !allow_process {
        let no_thread = SeccompRule::new(vec![cond(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64),
            0,
        )
        .map_err(e)?])
        .map_err(e)?;
        eperm.insert(libc::SYS_clone, vec![no_thread]);
        #[cfg(target_arch = "x86_64")]
        {
            eperm.insert(libc::SYS_fork, Vec::new());
            eperm.insert(libc::SYS_vfork, Vec::new());
        }
        enosys.insert(libc::SYS_clone3, Vec::new());
    }
    let mut out = Vec::new();
    for (rules, errno) in [(eperm, libc::EPERM), (enosys, libc::ENOSYS)] {
        if rules.is_empty() {
            continue;
        }
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch,
        )
        .map_err(e)?;
        out.push(BpfProgram::try_from(filter).map_err(e)?);
    }
    Ok(out)
}

fn cond(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, seccompiler::BackendError> {
    SeccompCondition::new(arg, len, op, value)
}

/// In the child (or the probe): installs one program.
pub fn install(p: &BpfProgram) -> std::io::Result<()> {
    seccompiler::apply_filter(p).map_err(|e| match e {
        seccompiler::Error::Prctl(io) | seccompiler::Error::Seccomp(io) => io,
        _ => std::io::Error::from_raw_os_error(libc::EINVAL),
    })
}
