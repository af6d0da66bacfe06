"""CycloneDX 1.5 SBOM of a bundle: every wheel (name, version, purl, SHA-256, licence where
its metadata says), the model as a machine-learning-model component, gongdan itself as
metadata.component. Deterministic: no wall-clock time or random serial number."""
from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from packaging.utils import canonicalize_name

import bundle_frontend
import bundle_lock

_NAMESPACE = uuid.UUID("6f1c2b0e-3f55-4c1e-9a57-0e4d1b7c2a10")


def licenses(meta: dict[str, list[str]]) -> list[dict]:
    """License-Expression, else a short License field, else the OSI classifiers."""
    if meta.get("License-Expression"):
        return [{"expression": meta["License-Expression"][0]}]
    text = (meta.get("License") or [""])[0].strip()
    if text and "\n" not in text and len(text) <= 80 and text.upper() != "UNKNOWN":
        return [{"license": {"name": text}}]
    found = [c.split("::")[-1].strip() for c in meta.get("Classifier", [])
             if c.startswith("License ::") and c.count("::") >= 2]
    return [{"license": {"name": n}} for n in sorted(set(found))]


def wheel_component(wheel: Path, digest: str) -> dict:
    meta = bundle_lock.wheel_metadata(wheel)
    name, version = meta["Name"][0], meta["Version"][0]
    purl = f"pkg:pypi/{canonicalize_name(name)}@{version}"
    component = {"type": "library", "bom-ref": purl, "name": name, "version": version,
                 "purl": purl, "hashes": [{"alg": "SHA-256", "content": digest}],
                 "properties": [{"name": "gongdan:wheel", "value": wheel.name}]}
    found = licenses(meta)
    if found:
        component["licenses"] = found
    return component


def build(manifest: dict, wheels: dict[str, tuple[Path, str]], model_digest: str) -> dict:
    """`wheels`: {file name: (path, sha256)}; the gongdan wheel among them becomes
    metadata.component, the others components."""
    epoch = manifest["source_date_epoch"]
    stamp = dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    components, root = [], None
    for file_name in sorted(wheels):
        path, digest = wheels[file_name]
        component = wheel_component(path, digest)
        if canonicalize_name(component["name"]) == "gongdan":
            component["type"] = "application"
            component["licenses"] = [{"license": {"name": "Proprietary"}}]
            # npm packages built into the wheel (Chart.js; docs/decisions/0041)
            nested = bundle_frontend.components(path)
            if nested:
                component["components"] = nested
            root = component
        else:
            components.append(component)
    model = manifest["model"]
    components.append({
        "type": "machine-learning-model", "bom-ref": f"model:{model['name']}",
        "name": model["name"], "version": model["sha256"][:12],
        "hashes": [{"alg": "SHA-256", "content": model_digest}],
        "licenses": [{"license": {"name": model["license"]}}] if model.get("license") else [],
        "properties": [{"name": "gongdan:file", "value": f"model/{model['file']}"},
                       {"name": "gongdan:size", "value": str(model["size"])}]})
    serial = uuid.uuid5(_NAMESPACE, f"{manifest['version']}|{manifest['git_commit']}|"
                                    + "|".join(sorted(wheels)) + model_digest)
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {"timestamp": stamp, "component": root,
                     "tools": {"components": [{"type": "application",
                                               "name": "gongdan packaging/bundle.py"}]}},
        "components": components,
        # gongdan needs its runtime wheels and the model; ansible-core's wheels are for the
        # control node (listed as components, not as gongdan's dependencies).
        "dependencies": [{"ref": root["bom-ref"], "dependsOn": sorted(
            [f"pkg:pypi/{canonicalize_name(w['name'])}@{w['version']}"
             for w in manifest["wheels"] if w["role"] == "runtime"] + [f"model:{model['name']}"])}]
        if root else [],
    }
