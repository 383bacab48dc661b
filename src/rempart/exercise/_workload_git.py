"""The `git-checkout` workload: a repository whose branch switches rewrite many files."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from rempart.exercise._safety import ExerciseError
from rempart.exercise._workload_core import WORKLOADS, Session

_TEXT = (".txt", ".csv", ".xml", ".html", ".json", ".log")
_BRANCH = "revision"


def _git(s: Session, repo: Path, *args: str, date: int = 0) -> None:
    """Run git in `repo` with no user or system configuration and dates from the seed."""
    stamp = f"{int(s.when.timestamp()) + date} +0100"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Service informatique",
        "GIT_AUTHOR_EMAIL": "informatique@mairie.example",
        "GIT_COMMITTER_NAME": "Service informatique",
        "GIT_COMMITTER_EMAIL": "informatique@mairie.example",
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
        "LC_ALL": "C",
    }
    try:
        subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "core.symlinks=false", *args],
            cwd=repo,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode("utf-8", "replace").strip()
        raise ExerciseError(f"git {args[0]} failed in {repo}: {message}") from None


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


@WORKLOADS.register("git-checkout")
def git_checkout(s: Session) -> None:
    """Commit text files to a new repository, then switch branches back and forth."""
    if shutil.which("git") is None:
        s.note = "skipped: git is not on PATH"
        return
    repo = s.output("depot-git")
    copies: list[Path] = []
    for path in s.sources(_TEXT):
        target = repo / f"{len(copies):04d}-{path.name}"
        if not s.reserve(path, target, _tmp(target)):
            break
        info = os.lstat(path)
        s.create(target, s.read(path), mtime_ns=info.st_mtime_ns)
        copies.append(target)
    if not copies:
        s.note = "no text files to put under version control"
        return
    _git(s, repo, "init", "-q", "-b", "main")
    _git(s, repo, "add", "-A")
    _git(s, repo, "commit", "-q", "-m", "Import initial")
    _git(s, repo, "checkout", "-q", "-b", _BRANCH)
    for target in copies:  # a revision that reflows every file (line endings, a header)
        text = s.read(target).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        header = f"# revue {s.rng.randrange(1000):03d}\r\n".encode()
        s.replace(target, header + text, _tmp(target))
    _git(s, repo, "commit", "-q", "-a", "-m", "Revue", date=60)
    for branch in ("main", _BRANCH, "main"):
        _git(s, repo, "checkout", "-q", branch)
        s.rewritten(copies)
