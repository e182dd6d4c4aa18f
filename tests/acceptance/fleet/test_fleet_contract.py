"""`rke2image fleet` over what `rke2image audit --format json` really prints: three
servers audited from fixture roots, one of them the odd first master; and the fleet
tests' generated documents have the real audit's shape."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from acceptance.deploy.roots import audit, break_live, compliant_root, rke2image_cli
from acceptance.fleet.audit_docs import audit_document


def _audit(root: Path, name: str) -> tuple[int, str]:
    result = audit(root, "--node-name", name, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, result.stdout


def _shape(value: Any) -> Any:
    """Keys and types, recursively; a list by its first item."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_fleet_names_the_odd_master_from_real_audits(tmp_path: Path) -> None:
    audits = tmp_path / "audits"
    for name in ("cp-1", "cp-2", "cp-3"):
        root = compliant_root(tmp_path / name, hostname=name)
        if name == "cp-1":
            break_live(root)
        code, stdout = _audit(root, name)
        assert code == (1 if name == "cp-1" else 0)
        (audits / name).mkdir(parents=True)
        (audits / name / "audit.json").write_text(stdout, encoding="utf-8")
    result = subprocess.run(
        [*rke2image_cli(), "fleet", "--max-age", "1d", str(audits)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"server cp-1: kernel.panic live is 0; 2 of 3 servers have 10 [{audits}/cp-1/audit.json]"
    )
    assert lines[-1] == (
        "3 nodes (3 servers): SERVERS DISAGREE; 1 differing value(s), 1 non-compliant, 0 stale"
    )


def test_generated_documents_have_the_real_audits_shape(tmp_path: Path) -> None:
    root = compliant_root(tmp_path)
    _, stdout = _audit(root, "cp-1")
    real = json.loads(stdout)
    generated = audit_document("cp-1", "server")
    real_shape, generated_shape = _shape(real), _shape(generated)
    # every field the generator writes is in the real output, with the same type
    for key in ("schema", "generated", "node", "root", "live"):
        assert generated_shape[key] == real_shape[key], key
    assert generated_shape["protection"]["on"] == real_shape["protection"]["on"]
    (real_parameter,), (generated_parameter,) = (
        real_shape["parameters"],
        generated_shape["parameters"],
    )
    for key in ("key", "expected", "required", "live", "verdict"):
        assert generated_parameter[key] == real_parameter[key], key
    for source in ("systemd", "procps"):
        assert set(generated_parameter["next_boot"][source]) == set(
            real_parameter["next_boot"][source]
        )
    assert generated_shape["summary"] == real_shape["summary"]
    assert set(generated_shape["protection"]) <= set(real_shape["protection"])
    assert [p["key"] for p in real["parameters"]] == [p["key"] for p in generated["parameters"]]
