"""A real one-node SLURM cluster on localhost for the profile test (Debian's slurmd/slurmctld/munge).

Facts behind the settings (shared/notes/slurm-single-node.md): no systemd or cgroups here, so
linuxproc tracking and no task plugin; DefMemPerCPU so that a job without a memory request does
not take the node; no accounting database, so the profile polls with squeue and MinJobAge keeps
finished jobs visible to it; a fake GPU (gres on /dev/tty0) lets `gpu=1` requests schedule.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

PACKAGES = ["slurmd", "slurmctld", "slurm-client", "munge"]
PID_FILES = {
    "munged": Path("/run/munge/munged.pid"),
    "slurmctld": Path("/run/slurmctld.pid"),
    "slurmd": Path("/run/slurmd.pid"),
}
LOG_DIR = Path("/var/log/slurm")


def cannot_run_reason() -> str | None:
    """Why this machine cannot host the test cluster, or None if it can."""
    if os.geteuid() != 0:
        return "the SLURM daemons need root (this user is not root)"
    if not all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch")) and not shutil.which(
        "apt-get"
    ):
        return "SLURM is not installed and there is no apt-get to install it"
    return None


def install() -> None:
    if all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue")):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        check=True,
        env=env,
        capture_output=True,
    )


def _node_line(cpus: int, memory_mb: int) -> str:
    detected = subprocess.run(["slurmd", "-C"], check=True, capture_output=True, text=True).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", detected.splitlines()[0]))
    return (
        f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} Boards=1 SocketsPerBoard=1 "
        f"CoresPerSocket={fields.get('CoresPerSocket', cpus)} ThreadsPerCore={fields.get('ThreadsPerCore', 1)} "
        f"RealMemory={memory_mb} Gres=gpu:1 State=UNKNOWN"
    )


def write_config() -> None:
    cpus = os.cpu_count() or 1
    memory_mb = int(
        int(
            re.search(
                r"RealMemory=(\d+)", subprocess.run(["slurmd", "-C"], check=True, capture_output=True, text=True).stdout
            ).group(1)
        )
        * 0.8
    )
    for folder in ("/var/spool/slurmctld", "/var/spool/slurmd", str(LOG_DIR)):
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.chown(folder, "slurm", "slurm")
    Path("/etc/slurm").mkdir(exist_ok=True)
    Path("/etc/slurm/slurm.conf").write_text(f"""# written by cnntopo's tests/slurm_cluster.py
ClusterName=cnntopo-test
SlurmctldHost=localhost
AuthType=auth/munge
SlurmUser=slurm
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile={PID_FILES["slurmctld"]}
SlurmdPidFile={PID_FILES["slurmd"]}
SlurmctldLogFile={LOG_DIR}/slurmctld.log
SlurmdLogFile={LOG_DIR}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
ReturnToService=2
GresTypes=gpu
{_node_line(cpus, memory_mb)}
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
    Path("/etc/slurm/gres.conf").write_text("NodeName=localhost Name=gpu File=/dev/tty0\n")


def _running(name: str) -> bool:
    pid_file = PID_FILES[name]
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
        return True
    except (ValueError, ProcessLookupError):
        return False


def start(timeout: float = 60.0) -> list[str]:
    """Start the daemons that are not running; return the names of those this call started."""
    started = []
    Path("/run/munge").mkdir(exist_ok=True)
    shutil.chown("/run/munge", "munge", "munge")
    if not _running("munged"):
        subprocess.run(["runuser", "-u", "munge", "--", "munged", "--pid-file", str(PID_FILES["munged"])], check=True)
        started.append("munged")
    if not _running("slurmctld"):
        subprocess.run(["slurmctld"], check=True)
        started.append("slurmctld")
    if not _running("slurmd"):
        subprocess.run(["slurmd", "-N", "localhost"], check=True)
        started.append("slurmd")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True).stdout.strip()
        if state in ("idle", "mixed", "allocated"):
            return started
        if state.startswith(("drain", "down")):
            subprocess.run(["scontrol", "update", "nodename=localhost", "state=resume"], capture_output=True)
        time.sleep(0.5)
    raise RuntimeError(f"the SLURM node did not become idle within {timeout} s (state {state!r}); see {LOG_DIR}")


def stop(names: list[str]) -> None:
    """Stop the named daemons by their PID files (never by process name)."""
    for name in reversed(names):
        pid_file = PID_FILES[name]
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass


def submitted_jobs() -> list[dict[str, str]]:
    """Every job the controller still remembers (MinJobAge keeps finished ones), as scontrol fields."""
    out = subprocess.run(["scontrol", "show", "job", "--oneliner"], capture_output=True, text=True).stdout
    return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in out.splitlines() if line.startswith("JobId=")]
