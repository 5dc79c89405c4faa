"""Barman's venv moved into the sidecar image at /venv."""

from __future__ import annotations

from pathlib import Path

from localplatform.images.catalog import venv_entries


def test_the_venvs_scripts_name_the_interpreter_where_the_image_puts_it(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib").mkdir()
    script = venv / "bin" / "barman-cloud-backup"
    script.write_text(f"#!{venv}/bin/python\nimport barman\n")
    script.chmod(0o755)
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    (venv / "lib" / "module.py").write_text(f"# not a script: {venv}/bin/python\n")
    entries = {e.path: e for e in venv_entries(venv)}
    assert entries["venv/bin/barman-cloud-backup"].data == b"#!/venv/bin/python\nimport barman\n"
    assert entries["venv/bin/barman-cloud-backup"].mode == 0o755
    assert entries["venv/bin/python"].link == "/usr/bin/python3"
    assert entries["venv/lib/module.py"].data == f"# not a script: {venv}/bin/python\n".encode()
    assert entries["venv/lib"].directory
