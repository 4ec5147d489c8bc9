"""The Dockerfile and compose file, checked without building (CI has no container registry):
they must use the same pieces as `./run production` and stay consistent with each other."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_the_dockerfile_builds_from_debian_with_the_stacks_pieces_and_runs_unprivileged():
    steps = instructions()
    assert steps[0][0] == "FROM"
    assert steps[0][1].startswith("debian:")
    for keyword, rest in steps:
        if keyword == "COPY":
            *sources, _target = shlex.split(rest)
            for source in sources:
                assert source == "." or (ROOT / source).exists(), source
        if keyword == "RUN" and "apt-get install" in rest:
            assert "--no-install-recommends" in rest
            assert "rm -rf /var/lib/apt/lists/*" in rest  # in the same layer
            assert "nginx" in rest.split()
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    [health] = [rest for keyword, rest in steps if keyword == "HEALTHCHECK"]
    assert "/healthz/" in health
    [command] = [rest for keyword, rest in steps if keyword == "CMD"]
    script = ROOT / yaml.safe_load(command)[0]
    assert script == ROOT / "deploy" / "stack.sh"
    assert os.access(script, os.X_OK)
    exposed = {int(p) for keyword, rest in steps if keyword == "EXPOSE" for p in rest.split()}
    env = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    https = int(re.search(r"FINISHLINE_HTTPS_PORT=(\d+)", env).group(1))
    assert https in exposed
    assert https > 1024  # nginx binds it as the unprivileged user


def test_the_compose_file_runs_that_image_on_postgresql_and_redis():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["app"]["build"] == "."
    assert services["worker"]["image"] == services["app"]["image"]
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "deploy" / "Procfile").read_text().splitlines()
    )
    assert procfile["worker"].removeprefix("exec ").split() == services["worker"]["command"]
    for name in ("app", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert "@db:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
        assert services[name]["secrets"] == ["secret_key"]
        for dependency in services[name]["depends_on"]:
            assert dependency in services
    exposed = {int(p) for k, rest in instructions() if k == "EXPOSE" for p in rest.split()}
    for mapping in services["app"]["ports"]:
        assert int(mapping.split(":")[-1]) in exposed
    secret_file = compose["secrets"]["secret_key"]["file"].removeprefix("./")
    assert f"/{secret_file}" in (ROOT / ".gitignore").read_text().splitlines()
