"""The Dockerfile and .dockerignore: a slim Python base, a non-root user, `rolesync` as the
entrypoint, no secret in an ARG or ENV, only the built wheel in the final stage, an
allowlist build context. Where a container runtime works (docker with a daemon, or
podman), the image is built and run: `rolesync --version`, the user, a demo sync on a
read-only root.

The base is python:3.11-slim. Where it cannot be pulled (no registry), set
ROLESYNC_TEST_PYTHON_IMAGE to a local stand-in (deploy/container/make-standin-base.sh
builds one from Debian packages); without either the build tests skip, saying why.
ROLESYNC_CONTAINER_RUNTIME picks docker or podman."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockerfile_checks import (
    SECRET_NAME,
    SECRET_VALUE,
    context_includes,
    copy_parts,
    exec_form,
    last,
    resolve,
    stages,
    variables,
)
from roleSync import __version__

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
BASE_IMAGE = "python:3.11-slim"
# What the builder stage needs to build the wheel (pyproject's readme and force-include).
BUILD_INPUTS = {"pyproject.toml", "README.md", "src", "rules"}


def check_dockerfile(text: str) -> None:
    """Every rule this image keeps; AssertionError naming the first one broken."""
    build_args, found = stages(text)
    assert len(found) >= 2, "multi-stage: a builder stage and a final stage"
    *builders, final = found
    for stage in found:
        assert resolve(stage.base, build_args) == BASE_IMAGE or stage.base in {
            b.name for b in builders
        }, f"stage base {stage.base!r}: build FROM {BASE_IMAGE}"
    for name, default in build_args.items():
        assert not SECRET_NAME.search(name) and not SECRET_VALUE.search(default), name
    for stage in found:
        for instruction in stage.instructions:
            if instruction.keyword in {"ENV", "ARG"}:
                for name, value in variables(instruction).items():
                    assert not SECRET_NAME.search(name), f"line {instruction.line}: {name}"
                    assert not SECRET_VALUE.search(value), f"line {instruction.line}: {name}"
    # The final stage takes the wheel from the builder and nothing from the context.
    assert not any(i.keyword == "ADD" for i in final.instructions), "ADD: use COPY"
    copies = [copy_parts(i) for i in final.instructions if i.keyword == "COPY"]
    assert copies, "the final stage copies the built wheel"
    builder_names = {b.name for b in builders}
    for flags, sources, _ in copies:
        assert flags.get("from") in builder_names, f"COPY {sources} from the build context"
        assert all(s.rstrip("/") == "/dist" or s.endswith(".whl") for s in sources), sources
    install = " ".join(i.arguments for i in final.instructions if i.keyword == "RUN")
    assert "[postgres]" in install, "install the wheel with the postgres extra"
    user = last(final, "USER")
    assert user is not None, "USER: the final stage runs as a non-root user"
    uid = user.arguments.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user.arguments}: a numeric non-zero uid"
    entrypoint = last(final, "ENTRYPOINT")
    assert entrypoint is not None and exec_form(entrypoint) == ["rolesync"]
    # The builder copies only what the wheel is built from.
    for builder in builders:
        for instruction in builder.instructions:
            if instruction.keyword in {"COPY", "ADD"}:
                flags, sources, _ = copy_parts(instruction)
                if "from" not in flags:
                    assert {s.rstrip("/") for s in sources} <= BUILD_INPUTS, sources


def test_the_dockerfile_keeps_every_rule() -> None:
    check_dockerfile(DOCKERFILE.read_text())
    build_args, found = stages(DOCKERFILE.read_text())
    assert build_args == {"BASE_IMAGE": BASE_IMAGE}
    user = last(found[-1], "USER")
    assert user is not None and user.arguments == "10001:10001"  # as the k8s examples say


def _broken(old: str, new: str) -> str:
    text = DOCKERFILE.read_text()
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("ARG BASE_IMAGE=python:3.11-slim", "ARG BASE_IMAGE=python:3.11"),
        ("USER 10001:10001", "USER root"),
        ("USER 10001:10001", "USER 0"),
        ('ENTRYPOINT ["rolesync"]', "ENTRYPOINT rolesync"),
        ('ENTRYPOINT ["rolesync"]', 'ENTRYPOINT ["python3", "-m", "roleSync"]'),
        ("PYTHONUNBUFFERED=1", "PYTHONUNBUFFERED=1 SF_ACCESS_TOKEN=x"),
        ("PYTHONUNBUFFERED=1", "PYTHONUNBUFFERED=1 ROLESYNC_STATE_URL=postgresql://db/x"),
        ("ARG BASE_IMAGE=python:3.11-slim", "ARG BASE_IMAGE=python:3.11-slim\nARG GH_TOKEN"),
        ("COPY --from=builder /dist/ /tmp/dist/", "COPY src /tmp/src/"),
        ("COPY --from=builder /dist/ /tmp/dist/", "COPY --from=builder /src /tmp/src/"),
        ("COPY --from=builder /dist/ /tmp/dist/", "ADD --from=builder /dist/ /tmp/dist/"),
        ("COPY src ./src", "COPY . ."),
        ('whl)[postgres]"', 'whl)"'),
    ],
)
def test_the_dockerfile_check_catches_mistakes(old: str, new: str) -> None:
    with pytest.raises(AssertionError):
        check_dockerfile(_broken(old, new))


def test_the_build_context_is_an_allowlist() -> None:
    ignore = (ROOT / ".dockerignore").read_text()
    rules = [line.strip() for line in ignore.splitlines() if line.strip()]
    rules = [line for line in rules if not line.startswith("#")]
    assert rules[0] == "*", "ignore everything first, then allow"
    allowed = {line[1:].strip("/") for line in rules if line.startswith("!")}
    assert allowed == BUILD_INPUTS
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    sent = {path for path in tracked if context_includes(ignore, path)}
    assert {"pyproject.toml", "README.md", "src/roleSync/cli/__init__.py"} <= sent
    assert any(path.startswith("rules/") and path.endswith(".yaml") for path in sent)
    assert all(path.split("/")[0] in BUILD_INPUTS for path in sent), sent
    # Never sent, tracked or not: environments, history, state, profiles, local secrets.
    for path in [
        ".venv/bin/python",
        ".git/config",
        ".env",
        "tests/test_cli.py",
        "connectors/crm.yaml",
        ".rolesync/state.db",
        "connectors/.rolesync/state.db",
        "src/roleSync/__pycache__/cli.cpython-311.pyc",
        "rules/.rolesync/state.db",
    ]:
        assert not context_includes(ignore, path), path


@pytest.mark.parametrize(
    ("ignore", "path", "sent"),
    [
        ("*\n!src/\n", "src/a/b.py", True),
        ("*\n!src/\n", "tests/a.py", False),
        ("*\n!src/\n**/__pycache__\n", "src/a/__pycache__/b.pyc", False),
        ("*.db\n", "x/state.db", True),  # no `**/`: only the top folder
        ("**/*.db\n", "x/state.db", False),
        ("", "anything", True),
    ],
)
def test_the_context_matcher(ignore: str, path: str, sent: bool) -> None:
    assert context_includes(ignore, path) is sent


# --- building and running the image, where a container runtime works ---------------


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def _first_line(result: subprocess.CompletedProcess[str]) -> str:
    text = (result.stderr or result.stdout).strip()
    return text.splitlines()[-1] if text else f"exit {result.returncode}"


def _runtime() -> str:
    """A container runtime that answers, or pytest.skip with what each one said."""
    wanted = os.environ.get("ROLESYNC_CONTAINER_RUNTIME")
    why: list[str] = []
    for name in [wanted] if wanted else ["docker", "podman"]:
        path = shutil.which(name)
        if path is None:
            why.append(f"{name}: not installed")
            continue
        result = _run([path, "info"], timeout=60)
        if result.returncode == 0:
            return path
        why.append(f"{name}: {_first_line(result)}")
    pytest.skip("no working container runtime (" + "; ".join(why) + ")")


@pytest.fixture(scope="module")
def image() -> Iterator[tuple[str, str]]:
    """(runtime, tag) of the image built from this tree; removed afterwards."""
    runtime = _runtime()
    base = os.environ.get("ROLESYNC_TEST_PYTHON_IMAGE", BASE_IMAGE)
    if _run([runtime, "image", "inspect", base], timeout=60).returncode != 0:
        pulled = _run([runtime, "pull", base], timeout=300)
        if pulled.returncode != 0:
            pytest.skip(
                f"base image {base} cannot be pulled ({_first_line(pulled)}); set "
                "ROLESYNC_TEST_PYTHON_IMAGE to a local one (deploy/container/make-standin-base.sh)"
            )
    started = _run([runtime, "run", "--rm", "--entrypoint", "true", base], timeout=120)
    if started.returncode != 0:
        pytest.skip(f"{runtime} cannot start a container here: {_first_line(started)}")
    tag = f"localhost/rolesync-test:{os.getpid()}"
    built = _run(
        [runtime, "build", "--build-arg", f"BASE_IMAGE={base}", "-t", tag, str(ROOT)],
        timeout=1800,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    try:
        yield runtime, tag
    finally:
        _run([runtime, "rmi", "--force", tag], timeout=120)


def _in_image(image: tuple[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    runtime = image[0]
    return _run([runtime, "run", "--rm", "--read-only", "--tmpfs", "/tmp", *args], timeout=300)


def test_the_image_answers_its_version(image: tuple[str, str]) -> None:
    result = _in_image(image, image[1], "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"rolesync {__version__}"


def test_the_image_runs_as_uid_10001_without_the_source_tree(image: tuple[str, str]) -> None:
    script = (
        "id -u; id -g; test ! -e /src && test ! -e /tmp/dist && test ! -e /opt/build"
        " && python3 -c 'import roleSync; print(roleSync.__file__)'"
    )
    result = _in_image(image, "--entrypoint", "sh", image[1], "-c", script)
    assert result.returncode == 0, result.stderr
    uid, gid, module = result.stdout.split()
    assert (uid, gid) == ("10001", "10001")
    assert module.startswith("/opt/rolesync/lib/") and "site-packages" in module


def test_the_image_syncs_the_demo_on_a_read_only_root(image: tuple[str, str]) -> None:
    result = _in_image(image, image[1], "demo", "--dir", "/tmp/demo", "--as-of", "2026-06-30")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "failed 0" in result.stdout and "Run report (HTML): /tmp/demo/" in result.stdout


def test_the_image_has_the_postgresql_driver(image: tuple[str, str]) -> None:
    script = "import psycopg; print(psycopg.__version__)"
    result = _in_image(image, "--entrypoint", "python3", image[1], "-c", script)
    assert result.returncode == 0, result.stderr
