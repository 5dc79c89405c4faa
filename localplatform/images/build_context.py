"""What ``COPY . <dest>`` puts into an image: the build context, as the Docker CLI filters it.

The runner's Dockerfile copies the whole context; ``.dockerignore`` keeps local secrets (the
local state directories, virtualenvs, key files) out of it. The node's runner image is built
here without docker, from the same list, so the rule lives once: this module reads
``.dockerignore`` the way the Docker CLI does (moby/patternmatcher: patterns are cleaned paths
where ``*`` and ``?`` stay inside one path segment, ``**`` spans segments, a pattern that
matches a directory excludes everything under it, a later ``!pattern`` re-includes, the last
match wins), and ``tests/test_docker_context.py`` checks the list against known secrets.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

Rules = list[tuple[bool, re.Pattern[str]]]


def _segment_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i + 1)
            out.append(pattern[i : end + 1].replace("[!", "[^"))
            i = end + 1
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def read_dockerignore(text: str) -> Rules:
    """(negated, regex) per pattern, as the Docker CLI reads ``.dockerignore``."""
    rules: Rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:].strip()
        line = posixpath.normpath(line).lstrip("/")
        rules.append((negated, _segment_regex(line)))
    return rules


def excluded(path: str, rules: Rules) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for negated, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            result = not negated
    return result


def context(paths: Iterable[str], dockerignore: str) -> set[str]:
    rules = read_dockerignore(dockerignore)
    return {path for path in paths if not excluded(path, rules)}


def files_on_disk(root: Path, dockerignore: str) -> list[str]:
    """Every file under root, skipping (as the Docker CLI does) directories excluded outright."""
    rules = read_dockerignore(dockerignore)
    prune = not any(negated for negated, _ in rules)
    found: list[str] = []
    for directory, dirs, files in os.walk(root):
        rel = Path(directory).relative_to(root).as_posix()
        prefix = "" if rel == "." else f"{rel}/"
        if prune:
            dirs[:] = [d for d in dirs if not excluded(prefix + d, rules)]
        found += [prefix + name for name in files]
    return found


def build_context(root: Path) -> list[str]:
    """The files ``COPY . <dest>`` sends from ``root``, sorted (its ``.dockerignore`` applied)."""
    dockerignore_file = root / ".dockerignore"
    dockerignore = dockerignore_file.read_text() if dockerignore_file.exists() else ""
    return sorted(context(files_on_disk(root, dockerignore), dockerignore))
