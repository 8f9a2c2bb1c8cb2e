"""The sandbox's first process: ``python -I confine.py --run NAME``, spec as JSON on stdin.
Standard library only (ctypes for the system calls, :mod:`_linux`); started by
:class:`~rewardhub_verify.code.sandbox.LocalSandbox`, which reads the outcome from the pipe
whose descriptor the spec names (``channel``).

With namespaces (``spec["namespaces"]``), in this order:

1. join the run's pids cgroup (still outside every namespace: nothing inside can reach it);
2. ``unshare`` a user, mount, network, IPC, UTS, cgroup and PID namespace. Root inside is
   the calling user outside. When the caller is root, a helper left outside (only a process
   outside may map more than its own id) maps root to root and uid 1000 to ``host_id``
   (65534): the supervisor keeps root's right to read the host paths it binds, the tested
   process will be ``host_id`` on the host;
3. fork the namespace's PID 1, the *supervisor*, which builds the filesystem view
   (:func:`build_view`) on a tmpfs over the run's own directory: the system and Python
   directories bound read-only, a minimal ``/etc`` and ``/dev``, its own ``/proc``, and a
   size-capped tmpfs at ``/tmp`` as the only writable place; caps further user namespaces
   (``user.max_user_namespaces``), so the code cannot mount a filesystem of its own; then
   ``pivot_root`` into the view, the host's tree unmounted;
4. the supervisor forks the *tested process*, which becomes uid 1000 with no capabilities
   (a setuid where uid 1000 is mapped, else a user namespace of its own), sets
   ``no_new_privs`` and the resource limits, and runs :mod:`harness`.

Without namespaces only 1 and 4 happen (4 without the uid change), in the caller's tree and as the caller
(``PR_SET_DUMPABLE`` 0 keeps other processes of that user out of both processes' memory and
descriptors, root excepted).

Results: the supervisor never runs the tested code. It sends the tested process one line
per test, a fresh random nonce, and accepts exactly one reply carrying that nonce; anything
else (a forged line, a second line, a line written before its nonce was sent) ends the run
as tampered. Only the supervisor holds the channel; the tested process closes its copy before
the code runs. The supervisor writes JSON lines: ``{"test": i, "passed": bool, "error":
str|None}``, ``{"code_error": str}``, then one of ``{"done": true}``, ``{"exit": {"code"|"signal":
n}}``, ``{"tampered": why}``, ``{"setup_error": why}``.

Tested in ``tests/test_sandbox_attacks.py`` and ``tests/test_code_tests.py``.
"""

import contextlib
import json
import os
import resource
import select
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _linux
import harness

sys.path.pop(0)

INNER_ID = 1000  # the tested process's uid and gid inside its user namespace
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "mime.types", "os-release")
DEVICES = ("null", "zero", "full", "random", "urandom")
MAX_LINE = 65536  # longest reply the supervisor reads from the tested process


def main():
    spec = json.loads(sys.stdin.buffer.read())
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # PID 1 ignores default-handled signals sent from inside
    channel = os.fdopen(spec["channel"], "w", buffering=1, encoding="utf-8")
    try:
        if spec["cgroup"]:
            with open(spec["cgroup"], "w") as f:
                f.write("0")
        if spec["namespaces"]:
            spec["own_user_namespace"] = enter_namespaces(spec["host_id"])  # returns in the new PID 1 only
            build_view(view_sources(spec["paths"]), spec["limits"]["disk_bytes"], spec["own_user_namespace"])
    except OSError as exc:
        channel.write(json.dumps({"setup_error": str(exc)}) + "\n")
        channel.close()
        os._exit(3)
    supervise(spec, channel)
    os._exit(0)


def view_sources(extra):
    """What the view shows, {path: None to bind it read-only, or the text of a symlink}."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *extra}
    prefixes |= {os.path.realpath(p) for p in prefixes}
    wanted = [*SYSTEM_DIRS, *(f"/etc/{name}" for name in ETC_FILES), *(f"/dev/{d}" for d in DEVICES)]
    sources = {}
    for path in wanted + sorted(prefixes):
        if path in sources or any(path.startswith(shown + "/") for shown in sources):
            continue  # shown already, as itself or inside a directory the view shows
        if os.path.islink(path) and not path.startswith("/dev/"):
            sources[path] = os.readlink(path)  # /bin -> usr/bin; a prefix's target follows
        elif os.path.exists(path):
            sources[path] = None
    return sources


def enter_namespaces(host_id):
    """New namespaces for this process; fork their PID 1 and return in it (this one waits).
    Returns whether the tested process needs a user namespace of its own to shed root: as
    root, the map gives uid 1000 a host id of its own (``host_id``) and a setuid suffices."""
    uid, gid = os.geteuid(), os.getegid()
    flags = _linux.CLONE_NEWUSER | _linux.CLONE_NEWNS | _linux.CLONE_NEWNET | _linux.CLONE_NEWIPC
    flags |= _linux.CLONE_NEWUTS | _linux.CLONE_NEWCGROUP | _linux.CLONE_NEWPID
    if uid == 0:  # only a process outside the namespace may map a second id: a helper
        unshared_r, unshared_w = os.pipe()
        helper = os.fork()
        if helper == 0:
            os.close(unshared_w)
            os.read(unshared_r, 1)
            try:
                ids = f"0 0 1\n{INNER_ID} {host_id} 1"
                _write_maps(os.getppid(), ids, ids, deny_setgroups=False)
            except OSError:
                os._exit(1)
            os._exit(0)
        os.close(unshared_r)
        try:
            _linux.unshare(flags)
        finally:
            os.close(unshared_w)
            _, status = os.waitpid(helper, 0)
        if status != 0:
            raise OSError(1, f"could not map uid {INNER_ID} of the sandbox to host uid {host_id}")
    else:
        _linux.unshare(flags)
        _write_maps("self", f"0 {uid} 1", f"0 {gid} 1", deny_setgroups=True)
    pid1 = os.fork()
    if pid1 == 0:
        _linux.prctl(_linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        return uid != 0
    for fd in _open_fds():
        with contextlib.suppress(OSError):
            os.close(fd)  # the channel above all: only PID 1 holds it
    _, status = os.waitpid(pid1, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _write_maps(pid, uid_map, gid_map, deny_setgroups):
    if deny_setgroups:
        _write(f"/proc/{pid}/setgroups", "deny")
    _write(f"/proc/{pid}/uid_map", uid_map)
    _write(f"/proc/{pid}/gid_map", gid_map)


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _open_fds():
    return [int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2]


def build_view(sources, disk_bytes, own_user_namespace):
    """Assemble the new root on a tmpfs over the run's directory and ``pivot_root`` into it."""
    root = os.getcwd()  # the run's own directory: no source of the view lies under it
    nosuid = _linux.MS_NOSUID | _linux.MS_NODEV
    _linux.mount(None, "/", None, _linux.MS_REC | _linux.MS_PRIVATE)
    _linux.mount("rewardhub-root", root, "tmpfs", nosuid, "size=1m,mode=0755")
    for sub in ("etc", "dev", "proc", "tmp"):
        os.mkdir(f"{root}/{sub}")
    _linux.mount("rewardhub-dev", f"{root}/dev", "tmpfs", nosuid | _linux.MS_NOEXEC, "size=64k,mode=0755")
    for path, link in sources.items():
        target = root + path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if link is not None:
            os.symlink(link, target)
            continue
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        else:
            open(target, "w").close()
        _linux.mount(path, target, None, _linux.MS_BIND | _linux.MS_REC)
        extra = _linux.MS_NOSUID | (0 if path.startswith("/dev/") else _linux.MS_NODEV)
        for mounted in _mounts_under(target):
            _linux.remount_read_only(mounted, extra)
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1")):
        os.symlink(link, f"{root}/dev/{name}")
    os.symlink("/proc/self/fd/2", f"{root}/dev/stderr")
    os.symlink("/tmp", f"{root}/dev/shm")
    _write(
        f"{root}/etc/passwd",
        f"root:x:0:0::/:/usr/sbin/nologin\nsandbox:x:{INNER_ID}:{INNER_ID}::/tmp:/usr/sbin/nologin\n",
    )
    _write(f"{root}/etc/group", f"root:x:0:\nsandbox:x:{INNER_ID}:\n")
    _write(f"{root}/etc/hostname", "sandbox\n")
    inodes = max(256, disk_bytes // 4096)
    _linux.mount("rewardhub-work", f"{root}/tmp", "tmpfs", nosuid, f"size={disk_bytes},nr_inodes={inodes},mode=1777")
    _linux.mount("proc", f"{root}/proc", "proc", nosuid | _linux.MS_NOEXEC)
    # No user namespace below this one, but the tested process's own where it needs one: so
    # no mount namespace either, hence no filesystem (no tmpfs past the disk cap) of its own.
    _write("/proc/sys/user/max_user_namespaces", "1" if own_user_namespace else "0")
    _linux.sethostname("sandbox")
    os.chdir(root)
    _linux.pivot_root(".", ".")
    _linux.umount(".")  # the host's tree, stacked under the new root by pivot_root(".", ".")
    os.chdir("/")
    _linux.mount(None, "/", None, _linux.MS_REMOUNT | _linux.MS_RDONLY | nosuid)
    _linux.mount(None, "/dev", None, _linux.MS_REMOUNT | _linux.MS_RDONLY | nosuid | _linux.MS_NOEXEC)


def _mounts_under(target):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")  # \040 for a space
            if point == target or point.startswith(target + "/"):
                found.append(point)
    return found


def supervise(spec, channel):
    """Fork the tested process, hand it one nonce per test, report what it answered."""
    _linux.prctl(_linux.PR_SET_DUMPABLE, 0)  # no process of the same user reads or traces this one
    commands_r, commands_w = os.pipe()
    replies_r, replies_w = os.pipe()
    child = os.fork()
    if child == 0:
        channel.close()
        os.close(commands_w)
        os.close(replies_r)
        try:
            drop_privileges(spec)
        except OSError as exc:
            os.write(replies_w, b"setup_error " + json.dumps(str(exc)).encode() + b"\n")
            os._exit(3)
        harness.run(spec["code"], spec["steps"], commands_r, replies_w)
        os._exit(0)
    os.close(commands_r)
    os.close(replies_w)
    replies = _Lines(replies_r, child)
    tests = sum(step["test"] is not None for step in spec["steps"])
    outcome = {"done": True}
    for index in range(tests):
        nonce = os.urandom(16).hex()
        with contextlib.suppress(BrokenPipeError):  # it ended: the reply read below says how
            os.write(commands_w, nonce.encode() + b"\n")
        line = replies.next()
        if index == 0 and line is not None and line.startswith((b"code_error ", b"setup_error ")):
            kind, _, text = line.partition(b" ")
            if kind == b"setup_error":
                outcome = {"setup_error": _text(text)}
                break
            channel.write(json.dumps({"code_error": _text(text)}) + "\n")
            line = replies.next()
        if line is None:
            outcome = {"exit": replies.exit_status()}
            break
        verdict = _verdict(line, nonce)
        if verdict is None:
            outcome = {"tampered": f"an unexpected line where test {index}'s answer belonged: {line[:80]!r}"}
            break
        channel.write(json.dumps({"test": index, "passed": verdict[0], "error": verdict[1]}) + "\n")
    channel.write(json.dumps(outcome) + "\n")
    channel.close()
    if not spec["namespaces"]:
        _kill_tree(child)


def _verdict(line, nonce):
    got, _, payload = line.partition(b" ")
    if got != nonce.encode():
        return None
    try:
        passed, error = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(passed, bool) or not (error is None or isinstance(error, str)):
        return None
    return passed, error


def _text(raw):
    try:
        return str(json.loads(raw))[-500:]
    except ValueError:
        return raw.decode(errors="replace")[-500:]


def _kill_tree(child):
    try:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


class _Lines:
    """Lines from the tested process; ``None`` once it has exited (even when a process it
    started still holds the pipe open); a line longer than :data:`MAX_LINE` is cut there."""

    def __init__(self, fd, pid):
        self.fd, self.pid, self.buffer, self.status = fd, pid, b"", None
        try:
            self.pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None  # before Linux 5.3: poll below

    def next(self):
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                line, self.buffer = self.buffer[:MAX_LINE], self.buffer[MAX_LINE:]
                return line
            if self._exited():
                return None
            watched = [self.fd] + ([self.pidfd] if self.pidfd is not None else [])
            ready, _, _ = select.select(watched, [], [], None if self.pidfd is not None else 0.05)
            if self.fd in ready:
                data = os.read(self.fd, 65536)
                if not data:
                    return None
                self.buffer += data
            elif ready:  # the tested process exited: take what it wrote before
                self._drain()
                if b"\n" not in self.buffer:
                    return None
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def _drain(self):
        while select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 65536)
            if not data:
                return
            self.buffer += data

    def _exited(self):
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status is not None and not select.select([self.fd], [], [], 0)[0]

    def exit_status(self):
        if self.status is None:
            try:
                _, self.status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                return {"code": None}
        if os.WIFSIGNALED(self.status):
            return {"signal": os.WTERMSIG(self.status)}
        return {"code": os.waitstatus_to_exitcode(self.status)}


def drop_privileges(spec):
    """In the tested process, before the code: its own user namespace as uid 1000 with no
    capabilities (with namespaces), ``no_new_privs``, the resource limits, the work directory."""
    _linux.prctl(_linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    if spec.get("own_user_namespace"):
        _linux.prctl(_linux.PR_SET_DUMPABLE, 1)  # (inherited 0 from PID 1) or /proc/self is root's
        _linux.unshare(_linux.CLONE_NEWUSER)
        _write_maps("self", f"{INNER_ID} 0 1", f"{INNER_ID} 0 1", deny_setgroups=True)
        _linux.drop_capabilities()
    elif spec["namespaces"]:  # uid 1000 is mapped here: giving up root drops every capability
        os.setgroups([])
        os.setresgid(INNER_ID, INNER_ID, INNER_ID)
        os.setresuid(INNER_ID, INNER_ID, INNER_ID)
    if spec["namespaces"]:
        os.chdir("/tmp")  # (dumpable again: no other process can see this one)
    else:
        _linux.prctl(_linux.PR_SET_DUMPABLE, 0)  # other processes of this user: hands off
    _linux.prctl(_linux.PR_SET_NO_NEW_PRIVS, 1)
    limits = spec["limits"]
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, limits["file_size"])
    _limit(resource.RLIMIT_NPROC, limits["processes"])
    if limits["cpu_seconds"] is not None:
        cpu = int(limits["cpu_seconds"]) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU first, SIGKILL a second later
    _limit(resource.RLIMIT_AS, limits["memory_bytes"])


def _limit(which, value):
    if value is None:
        return
    with contextlib.suppress(ValueError, OSError):  # over the hard limit we inherited: that one stays
        resource.setrlimit(which, (value, value))


if __name__ == "__main__":
    main()
