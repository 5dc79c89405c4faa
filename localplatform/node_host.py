"""What a node changes on the host, recorded before it starts and put back when it stops.

The kubelet sets kernel sysctls it expects (``kernel.panic``, ``kernel.panic_on_oops``,
``vm.overcommit_memory``, ``vm.panic_on_oom``, ``kernel.keys.root_max*``: its
``protectKernelDefaults: false`` behaviour), the CNI bridge plugin turns on IP forwarding for
its gateway, and kube-proxy sets ``route_localnet``, bridge netfilter and conntrack settings.
``record`` saves their values once (a record already there is a node still running, or one
that died: its values are the host's, so they are kept); ``restore`` writes back every value
that differs and removes the record.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

HOST_SYSCTLS = (
    "kernel.panic",
    "kernel.panic_on_oops",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_tcp_be_liberal",
)
PROC_SYS = Path("/proc/sys")


def _path(name: str, proc_sys: Path) -> Path:
    return proc_sys / name.replace(".", "/")


def read_sysctls(proc_sys: Path = PROC_SYS) -> dict[str, str]:
    """The current values of the sysctls a node may change (those this kernel has)."""
    values = {}
    for name in HOST_SYSCTLS:
        try:
            values[name] = _path(name, proc_sys).read_text().strip()
        except FileNotFoundError:
            continue
    return values


def record(path: Path, proc_sys: Path = PROC_SYS) -> dict[str, str]:
    """Save the host's values unless a record exists (then keep and return that one)."""
    if path.exists():
        saved: dict[str, str] = json.loads(path.read_text())
        return saved
    values = read_sysctls(proc_sys)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    partial.replace(path)
    return values


def restore(path: Path, proc_sys: Path = PROC_SYS) -> dict[str, tuple[str, str]]:
    """Write back every recorded value that changed; return ``{name: (was, now restored)}``.

    The record is removed only when every value is back, so a failed write is retried by the
    next ``down``.
    """
    if not path.exists():
        return {}
    saved: dict[str, str] = json.loads(path.read_text())
    current = read_sysctls(proc_sys)
    changed = {}
    for name, value in saved.items():
        if name in current and current[name] != value:
            _path(name, proc_sys).write_text(value + "\n")
            changed[name] = (current[name], value)
    if read_sysctls(proc_sys) == {k: v for k, v in saved.items() if k in current}:
        path.unlink()
    return changed


# The kubelet's own iptables chains (kube-proxy --cleanup leaves them): a canary per table, the
# hint chain, and KUBE-FIREWALL, jumped to from INPUT and OUTPUT, which drops non-loopback
# traffic to 127.0.0.0/8.
KUBELET_CHAINS = {
    "filter": ("KUBE-FIREWALL", "KUBE-KUBELET-CANARY"),
    "nat": ("KUBE-KUBELET-CANARY",),
    "mangle": ("KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"),
}
BUILTIN_CHAINS = ("INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING")


def remove_kubelet_chains(tools: tuple[str, ...] = ("iptables", "ip6tables")) -> None:
    """Unhook, flush and delete the kubelet's chains in every table; absent ones are skipped."""

    def run(*args: str) -> bool:
        return subprocess.run(list(args), capture_output=True, check=False).returncode == 0

    for tool in tools:
        for table, chains in KUBELET_CHAINS.items():
            for chain in chains:
                if not run(tool, "-t", table, "-S", chain):
                    continue
                for builtin in BUILTIN_CHAINS:
                    while run(tool, "-t", table, "-D", builtin, "-j", chain):
                        pass
                run(tool, "-t", table, "-F", chain)
                run(tool, "-t", table, "-X", chain)
