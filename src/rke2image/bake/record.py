"""What was built: Packer's manifest read back, and our record of each artifact.

The record (``<project>/artifacts/<builder>.json``) holds the digest the image
was built from, so building an unchanged spec again reports it instead of
rebuilding.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from rke2image.errors import PackerFailed


@dataclass(frozen=True)
class ArtifactRecord:
    builder: str
    image_name: str
    digest: str
    artifact_ids: tuple[str, ...]
    files: tuple[str, ...] = ()


def record_path(project: Path, builder: str) -> Path:
    return project / "artifacts" / f"{builder}.json"


def read_record(project: Path, builder: str) -> ArtifactRecord | None:
    """The recorded artifact of a builder, or None if there is none readable."""
    try:
        data = json.loads(record_path(project, builder).read_text(encoding="utf-8"))
        return ArtifactRecord(
            builder=data["builder"],
            image_name=data["image_name"],
            digest=data["digest"],
            artifact_ids=tuple(data["artifact_ids"]),
            files=tuple(data.get("files", ())),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(project: Path, record: ArtifactRecord) -> None:
    path = record_path(project, record.builder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")


def artifacts_from_manifest(
    manifest: Path, builder: str, source_name: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Artifact ids and files of the last run's builds of ``builder`` in Packer's manifest."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PackerFailed(f"cannot read Packer's manifest {manifest}: {error}", 0) from error
    run = data.get("last_run_uuid")
    ids: list[str] = []
    files: list[str] = []
    for build in data.get("builds", []):
        if build.get("packer_run_uuid") != run or build.get("builder_type") != builder:
            continue
        if build.get("name") != source_name:
            continue
        ids.append(str(build.get("artifact_id", "")))
        files.extend(str(f.get("name")) for f in build.get("files") or [])
    if not ids:
        raise PackerFailed(f"Packer's manifest {manifest} records no {builder} artifact", 0)
    return tuple(ids), tuple(files)
