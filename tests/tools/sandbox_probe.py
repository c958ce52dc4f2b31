#!/usr/bin/python3
# sandbox_probe.py: run INSIDE a unit's sandbox (tests/integration/systemd_real.sh runs it as the unit's
# ExecStart= through a drop-in) to show which of its hardening directives the kernel really enforces.
# Each line: "probe: <what>: <result>"; the scenario asserts the results.
import ctypes, errno, mmap, os, socket, sys

libc = ctypes.CDLL(None, use_errno=True)
state = sys.argv[1] if len(sys.argv) > 1 else "/var/lib"


def r(what, fn):
    try:
        out = fn()
        res = "allowed" + (": %s" % out if out not in (None, "") else "")
    except OSError as e:
        res = "DENIED (%s)" % (errno.errorcode.get(e.errno, e.errno))
    except Exception as e:  # noqa: BLE001
        res = "DENIED (%s)" % e
    print("probe: %-52s %s" % (what, res), flush=True)


def sc(name, *args):
    def f():
        n = {"setpriority": 141, "sched_setaffinity": 203, "unshare": 272, "setrlimit": 160,
             "mount": 165, "swapon": 167, "reboot": 169, "settimeofday": 164, "ptrace": 101,
             "add_key": 248, "kexec_load": 246, "init_module": 175, "bpf": 321, "chroot": 161,
             "personality": 135}[name]
        rc = libc.syscall(n, *args)
        if rc == -1:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        return "rc=%d" % rc
    return f


def write(path):
    def f():
        with open(path, "w") as fh:
            fh.write("x")
        os.unlink(path)
    return f


def sock(fam, typ=socket.SOCK_DGRAM):
    def f():
        socket.socket(fam, typ).close()
    return f


def wx():
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    m.close()


r("uid/gid/groups", lambda: "%d/%d/%s" % (os.getuid(), os.getgid(), os.getgroups()))
r("CapEff/CapBnd/NoNewPrivs/Seccomp", lambda: " ".join(
    l.split(":")[1].strip() for l in open("/proc/self/status")
    if l.split(":")[0] in ("CapEff", "CapBnd", "NoNewPrivs", "Seccomp")))
r("write /etc (ProtectSystem=strict)", write("/etc/.probe"))
r("write /usr (ProtectSystem=strict)", write("/usr/.probe"))
r("write /var/tmp (PrivateTmp)", write("/var/tmp/.probe"))
r("write /tmp (PrivateTmp)", write("/tmp/.probe"))
r("write state dir %s" % state, write(os.path.join(state, ".probe")))
r("list /home (ProtectHome)", lambda: os.listdir("/home"))
r("list /root (ProtectHome)", lambda: os.listdir("/root"))
r("list /dev (PrivateDevices)", lambda: " ".join(sorted(os.listdir("/dev"))))
r("other pids in /proc (ProtectProc=invisible)", lambda: [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()])
r("read /proc/sys/kernel/hostname (ProcSubset=pid)", lambda: open("/proc/sys/kernel/hostname").read().strip())
r("read /proc/meminfo (ProcSubset=pid)", lambda: open("/proc/meminfo").readline().strip())
r("socket AF_INET (RestrictAddressFamilies)", sock(socket.AF_INET))
r("socket AF_INET6", sock(socket.AF_INET6))
r("socket AF_UNIX", sock(socket.AF_UNIX))
r("socket AF_NETLINK", sock(socket.AF_NETLINK, socket.SOCK_RAW))
r("socket AF_PACKET", sock(socket.AF_PACKET, socket.SOCK_RAW))
r("mmap W+X (MemoryDenyWriteExecute)", wx)
r("setpriority +1 (~@resources)", sc("setpriority", 0, 0, 1))
r("sched_setaffinity (~@resources)", sc("sched_setaffinity", 0, 8, ctypes.byref(ctypes.c_ulong(1))))
r("getrlimit/setrlimit NOFILE via prlimit64", lambda: __import__("resource").setrlimit(
    __import__("resource").RLIMIT_NOFILE, __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)))
r("unshare(CLONE_NEWUSER) (RestrictNamespaces)", sc("unshare", 0x10000000))
r("unshare(CLONE_NEWNET) (RestrictNamespaces)", sc("unshare", 0x40000000))
r("chroot (~@privileged)", sc("chroot", b"/"))
r("add_key (KeyringMode=private; @keyring)", sc("add_key", b"user", b"probe", b"x", 1, -2))
r("personality(PER_LINUX32) (LockPersonality)", sc("personality", 0x0008))
r("ptrace(PTRACE_TRACEME) (@system-service?)", sc("ptrace", 0, 0, 0, 0))
r("bpf (~@privileged)", sc("bpf", 0, 0, 0))
r("sethostname (ProtectHostname)", lambda: socket.sethostname("probe"))
r("clock settimeofday (ProtectClock)", sc("settimeofday", 0, 0))
r("hostname as seen", socket.gethostname)
print("probe: done", flush=True)
