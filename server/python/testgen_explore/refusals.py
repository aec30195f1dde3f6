"""What the guard refuses while project code runs (its import included),
decided per audit event: the first line of defence, in front of the OS
sandbox testgen's Rust side sets up (docs/security.md). It gives the clear
reason a skipped target reports; the kernel is what makes it hold.

Files: creating, writing, truncating, changing the mode, owner or times of,
renaming and removing anything outside the writable directories (the
harness's temporary directory). Network: connections, datagrams and name
look-ups anywhere but this machine. Processes: every way of starting one
(also `_posixsubprocess.fork_exec`, which raises no audit event, wrapped)."""

import os
import sys
import tempfile
import urllib.parse

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "testserver", "", "ip6-localhost"}

# Refused wherever they point (when the guard enforces).
ALWAYS = {
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn",
    "os.startfile", "_posixsubprocess.fork_exec",
    # An audit hook of the project's could refuse what the harness needs.
    "sys.addaudithook",
}

# Events whose first argument(s) are paths that must lie in a writable
# directory: index of each path argument.
_PATH_EVENTS = {
    "os.chmod": (0,), "os.chown": (0,), "os.utime": (0,), "os.chflags": (0,),
    "os.lchmod": (0,), "os.lchflags": (0,), "os.mkdir": (0,), "os.mkfifo": (0,),
    "os.mknod": (0,), "os.link": (0, 1), "os.symlink": (1,), "os.replace": (0, 1),
    "shutil.copyfile": (1,), "shutil.copytree": (1,), "shutil.copymode": (1,),
    "shutil.copystat": (1,), "shutil.chown": (0,), "shutil.make_archive": (0,),
    "os.setxattr": (0,), "os.removexattr": (0,),
}

# Removing and moving: only what lies in a directory the harness made for
# a path argument (paths.py, the self-check's tmp_path), never the working
# directory, which the written test runs in the user's project instead.
_DELETE_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.truncate": (0,),
                  "shutil.rmtree": (0,), "shutil.move": (0, 1)}
HARNESS_DIRS = ("testgen-path-", "testgen-tmp-")

_CTYPES_LOADING = {"ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle"}

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def is_local_host(host):
    host = str(host or "").strip("[]").lower()
    return host in LOCAL_HOSTS or host.startswith("127.") or host.endswith(".localhost")


def _is_local_address(addr):
    if isinstance(addr, tuple) and addr:
        return is_local_host(addr[0])
    # AF_UNIX sockets and the like stay on the machine.
    return isinstance(addr, (str, bytes))


class Refusals:
    """The decision for one event: a reason to refuse it, or None."""

    def __init__(self, writable):
        self.writable = [os.path.realpath(d) for d in writable if d]

    def allowed_path(self, path):
        if isinstance(path, int) or path is None:
            return True  # a descriptor: opened (and checked) before
        try:
            p = os.fsdecode(path)
        except TypeError:
            return True
        if p == os.devnull:
            return True
        real = os.path.realpath(p)
        return any(real == d or real.startswith(d + os.sep) for d in self.writable)

    def reason(self, event, args):
        if event in ALWAYS:
            return event
        # Loading a library is what importing ctypes (and many packages)
        # does; calling into one, or reading raw memory, is refused.
        if event.startswith("ctypes.") and event not in _CTYPES_LOADING:
            return event
        if event == "open":
            return self._open(args)
        if event in _DELETE_EVENTS:
            for i in _DELETE_EVENTS[event]:
                if i < len(args) and not made_by_harness(args[i]):
                    return "%s on %s (not inside a path the call was given)" % (event, _short(args[i]))
            return None
        idx = _PATH_EVENTS.get(event)
        if idx is not None:
            for i in idx:
                if i < len(args) and not self.allowed_path(args[i]):
                    return "%s on %s (outside the writable directories)" % (event, _short(args[i]))
            return None
        return self._network(event, args)

    def _open(self, args):
        path = args[0] if args else None
        mode = args[1] if len(args) > 1 else None
        flags = args[2] if len(args) > 2 else 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
            (isinstance(flags, int) and flags > 0 and flags & _WRITE_FLAGS)
        if writing and not self.allowed_path(path):
            return "open(%s, %r) for writing (outside the writable directories)" % (
                _short(path), mode if mode is not None else flags)
        return None

    def _network(self, event, args):
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg") and len(args) > 1:
            if args[1] is not None and not _is_local_address(args[1]):
                return "%s to %r" % (event, args[1])
        elif event == "socket.getaddrinfo" and args:
            if not is_local_host(_host(args[0])):
                return "socket.getaddrinfo(%r) (a name look-up off this machine)" % (args[0],)
        elif event in ("socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr") and args:
            if not is_local_host(_host(args[0])):
                return "%s(%r)" % (event, args[0])
        elif event == "urllib.Request" and args:
            host = urllib.parse.urlsplit(str(args[0])).hostname or ""
            if not is_local_host(host):
                return "urllib.Request to " + host
        return None


def made_by_harness(path):
    """Whether a path lies inside a directory the harness made for a path
    argument (a descriptor was checked when it was opened)."""
    if isinstance(path, int):
        return True
    try:
        real = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    tmp = os.path.realpath(tempfile.gettempdir())
    rel = os.path.relpath(real, tmp)
    head = rel.split(os.sep)[0]
    return not rel.startswith("..") and head.startswith(HARNESS_DIRS) and rel != head


def _host(h):
    return h.decode("ascii", "replace") if isinstance(h, bytes) else h


def _short(path):
    s = repr(os.fsdecode(path)) if isinstance(path, (str, bytes, os.PathLike)) else repr(path)
    return s if len(s) <= 120 else s[:117] + "..."


def wrap_socket_methods(guard):
    """The audit events of `sendto` and `connect` come after the address
    was resolved: a host name would reach the name server first. The
    harness's socket class checks the address before the C call."""
    import socket

    def checked(name, event):
        real = getattr(socket.socket, name)

        def method(self, *args):
            addr = args[-1] if name in ("sendto",) else args[0] if args else None
            guard.check(event, (self, addr))
            return real(self, *args)

        method.__name__ = name
        method.__doc__ = real.__doc__
        setattr(socket.socket, name, method)

    if getattr(socket.socket, "_testgen_wrapped", False):
        return
    socket.socket._testgen_wrapped = True
    for name, event in (("sendto", "socket.sendto"), ("connect", "socket.connect"),
                        ("connect_ex", "socket.connect")):
        checked(name, event)


def wrap_fork_exec(guard):
    """`_posixsubprocess.fork_exec` starts a process without an audit event;
    the harness's copy refuses it while the guard enforces."""
    try:
        import _posixsubprocess
    except ImportError:
        return
    real = _posixsubprocess.fork_exec
    if getattr(real, "_testgen_wrapped", False):
        return

    def fork_exec(*args, **kwargs):
        guard.check("_posixsubprocess.fork_exec")
        return real(*args, **kwargs)

    fork_exec._testgen_wrapped = True
    _posixsubprocess.fork_exec = fork_exec
    # subprocess keeps its own reference to the module's function.
    sub = sys.modules.get("subprocess")
    if sub is not None and getattr(sub, "_fork_exec", None) is real:
        sub._fork_exec = fork_exec
