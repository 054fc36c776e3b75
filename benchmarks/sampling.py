"""Running one benchmark sample in a fresh process (``sample.py``) and
describing the machine it ran on: what ``run.py`` and ``startup.py`` share.

`run_command` runs a sample command and records its JSON line, its wall time
(phase ``process``) and its CPU time (user + system, of the process and of
its waited-for children: compilers); `machine_info` records the machine,
the versions of the packages measured and the git commit.
"""

import json
import os
import platform
import resource
import shutil
import subprocess
import time
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

def _first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=REPO)
        return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _mem_total_gb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info():
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    status = _first_line(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gb": _mem_total_gb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "compiler": _first_line(["c++", "--version"]),
        "versions": {
            name: _version(name)
            for name in ("brian2", "brian2cppyy", "cppyy", "cppyy-cling", "Cython", "numpy")
        },
        "git_commit": _first_line(["git", "rev-parse", "HEAD"]),
        "git_dirty": bool(status),
        "loadavg_start": list(os.getloadavg()),
    }


def _children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_in_workdir(make_workdir, command_for, record, timeout):
    """`run_command` of ``command_for(workdir)``, with ``workdir`` a fresh
    directory made by ``make_workdir`` (``None``: no directory) outside the
    timed process and removed afterwards."""
    workdir = make_workdir() if make_workdir else None
    try:
        return run_command(command_for(workdir), record, timeout)
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def run_command(cmd, record, timeout):
    """Run a sample command (``sample.py ...``) in a fresh process and fill
    ``record`` with its JSON line, the process wall time (phase ``process``)
    and its CPU time, user + system, of it and its waited-for children
    (``process_cpu_s``).  Never raises: a failure is recorded."""
    t0 = time.perf_counter()
    cpu0 = _children_cpu_seconds()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
        process = time.perf_counter() - t0
        returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        process = time.perf_counter() - t0
        returncode = None
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        record["error"] = f"timeout after {timeout} s"
    record["process_cpu_s"] = _children_cpu_seconds() - cpu0
    record["returncode"] = returncode
    parsed = None
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                parsed = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
    if parsed is not None:
        parsed.pop("workload", None)
        parsed.pop("target", None)
        record.update(parsed)
    record.setdefault("phases", {})
    record["phases"]["process"] = process
    ok = bool(parsed and parsed.get("ok")) and returncode == 0
    record["ok"] = ok
    if not ok:
        if "error" not in record:
            if parsed is None:
                record["error"] = (
                    f"process exited with status {returncode} without a result line"
                )
            else:
                record["error"] = f"process exited with status {returncode}"
        tail = stderr.strip().splitlines()[-40:]
        record["stderr_tail"] = "\n".join(tail)
    return record


