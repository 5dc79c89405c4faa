"""The host sysctls a node changes: recorded once before it starts, put back when it stops."""

from __future__ import annotations

from pathlib import Path

from localplatform.node_host import HOST_SYSCTLS, read_sysctls, record, restore


def _proc_sys(tmp_path: Path, values: dict[str, str]) -> Path:
    root = tmp_path / "proc-sys"
    for name, value in values.items():
        path = root / name.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    return root


def _set(root: Path, name: str, value: str) -> None:
    (root / name.replace(".", "/")).write_text(value + "\n")


def test_restore_writes_back_what_the_kubelet_changed_and_removes_the_record(
    tmp_path: Path,
) -> None:
    root = _proc_sys(
        tmp_path, {"kernel.panic": "1", "vm.overcommit_memory": "0", "net.ipv4.ip_forward": "0"}
    )
    saved = tmp_path / "record.json"
    record(saved, root)
    _set(root, "kernel.panic", "10")
    _set(root, "vm.overcommit_memory", "1")
    _set(root, "net.ipv4.ip_forward", "1")
    changed = restore(saved, root)
    assert changed == {
        "kernel.panic": ("10", "1"),
        "vm.overcommit_memory": ("1", "0"),
        "net.ipv4.ip_forward": ("1", "0"),
    }
    assert read_sysctls(root) == {
        "kernel.panic": "1",
        "vm.overcommit_memory": "0",
        "net.ipv4.ip_forward": "0",
    }
    assert not saved.exists()


def test_a_second_record_keeps_the_first_when_the_node_did_not_stop_cleanly(tmp_path: Path) -> None:
    root = _proc_sys(tmp_path, {"kernel.panic": "1"})
    saved = tmp_path / "record.json"
    record(saved, root)
    _set(root, "kernel.panic", "10")  # the kubelet's value, still in place
    assert record(saved, root) == {"kernel.panic": "1"}
    restore(saved, root)
    assert read_sysctls(root) == {"kernel.panic": "1"}


def test_restore_without_a_record_changes_nothing(tmp_path: Path) -> None:
    root = _proc_sys(tmp_path, {"kernel.panic": "10"})
    assert restore(tmp_path / "missing.json", root) == {}
    assert read_sysctls(root) == {"kernel.panic": "10"}


def test_the_kubelets_sysctls_are_among_those_recorded() -> None:
    assert {"kernel.panic", "kernel.panic_on_oops", "vm.overcommit_memory"} <= set(HOST_SYSCTLS)
