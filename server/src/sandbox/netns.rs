//! A network namespace of the child's own: only a loopback device, brought
//! up, so a test server on 127.0.0.1 works and nothing can reach another
//! machine (connect, sendto and DNS all fail with "network unreachable").
//! Without root, an unprivileged user namespace carries it, mapping the
//! user to itself: files keep their owner, and the capabilities it gives
//! end at exec.

/// What the child needs, built before the fork.
#[derive(Debug, Clone)]
pub struct Prepared {
    root: bool,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl Prepared {
    pub fn new() -> Prepared {
        // SAFETY: plain getters.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Prepared {
            root: uid == 0,
            uid_map: format!("{uid} {uid} 1").into_bytes(),
            gid_map: format!("{gid} {gid} 1").into_bytes(),
        }
    }

    /// In the child: enters the new namespace and brings loopback up.
    pub fn enter(&self) -> std::io::Result<()> {
        let flags = if self.root {
            libc::CLONE_NEWNET
        } else {
            libc::CLONE_NEWUSER | libc::CLONE_NEWNET
        };
        // SAFETY: system calls on data prepared before the fork.
        unsafe {
            if libc::unshare(flags) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if !self.root {
                write(c"/proc/self/setgroups", b"deny")?;
                write(c"/proc/self/uid_map", &self.uid_map)?;
                write(c"/proc/self/gid_map", &self.gid_map)?;
            }
            loopback_up()
        }
    }
}

unsafe fn write(path: &std::ffi::CStr, data: &[u8]) -> std::io::Result<()> {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = libc::write(fd, data.as_ptr().cast(), data.len());
    let err = std::io::Error::last_os_error();
    libc::close(fd);
    if n != data.len() as isize {
        return Err(err);
    }
    Ok(())
}

unsafe fn loopback_up() -> std::io::Result<()> {
    let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut req: libc::ifreq = std::mem::zeroed();
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    let rc = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
    let err = std::io::Error::last_os_error();
    libc::close(fd);
    if rc != 0 {
        return Err(err);
    }
    Ok(())
}
