"""Which files of a source tree go into the bundle, and a clean environment to build in.

A git checkout contributes its tracked and untracked-but-not-ignored files (so var/,
.venv/ and build output never travel); a plain tree (e.g. from `git archive`) is walked
with the same exclusions that .gitignore makes.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

class BuildError(Exception):
    """The bundle cannot be built; the message names the input and what to do."""


_SKIP_DIRS = {".git", ".venv", "var", "dist", "build", "__pycache__", ".pytest_cache",
              "test-output", "node_modules", ".mypy_cache"}
_SKIP_SUFFIXES = (".pyc", ".mo", ".egg-info")


def git(root: Path, *args: str) -> str:
    r = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)  # nosec B603 B607
    if r.returncode:
        raise BuildError(f"git {' '.join(args)} in {root} failed: {r.stderr.strip()}")
    return r.stdout.strip()


def is_git_root(root: Path) -> bool:
    return (root / ".git").exists() and shutil.which("git") is not None


def source_files(root: Path, under: str | None = None, links: bool = False) -> list[str]:
    """Relative paths (sorted) of the regular files that belong to the tree; symbolic
    links are refused, or kept as entries when `links` (a source copy for the wheel)."""
    if is_git_root(root):
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "-co", "--exclude-standard",
                              *(["--", under] if under else [])],
                             capture_output=True, check=True).stdout  # nosec B603 B607
        names = [n for n in out.decode().split("\0") if n]
    else:
        base = root / under if under else root
        names = []
        for folder, dirs, files in os.walk(base):
            names += [str(Path(folder, d).relative_to(root)) for d in dirs
                      if Path(folder, d).is_symlink()]
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info")
                             and not Path(folder, d).is_symlink())
            names += [str(Path(folder, f).relative_to(root)) for f in files]
    kept = []
    for name in sorted(set(names)):
        path = root / name
        if name.endswith(_SKIP_SUFFIXES) or any(p in _SKIP_DIRS for p in Path(name).parts):
            continue
        if path.is_symlink() and links:
            kept.append(name)
        elif path.is_symlink():
            raise BuildError(f"{path} is a symbolic link: the bundle holds regular files only")
        if path.is_file():        # a tracked file deleted in the working tree is skipped
            kept.append(name)
    return kept


def copy_tree(root: Path, names: list[str], dest: Path, skip_top: tuple[str, ...] = ()) -> None:
    for name in names:
        if name.split("/", 1)[0] in skip_top:
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target, follow_symlinks=False)


def compile_translations(tree: Path) -> None:
    """.mo files are build output (git-ignored): compile them as `make translations` does."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    for po in sorted(tree.glob("webapp/translations/*/LC_MESSAGES/*.po")):
        with open(po, "rb") as fh:
            catalog = read_po(fh)
        with open(po.with_suffix(".mo"), "wb") as fh:
            write_mo(fh, catalog, use_fuzzy=True)


def build_env(epoch: int, work: Path) -> dict:
    """pip and the wheel builders: reproducible timestamps, our temp folder, no user site."""
    tmp = work / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
    env.update({"SOURCE_DATE_EPOCH": str(epoch), "TMPDIR": str(tmp), "PYTHONNOUSERSITE": "1",
                "PYTHONHASHSEED": "0"})
    return env
