"""The shipped production files say what docs/operations.md says: an image that runs as the project
serves (gunicorn with crm/serving.py) as a user who is not root, without build tools, with WeasyPrint's
Debian packages; compose with two web servers and exactly one scheduler behind a proxy; systemd units
that are hardened. (No Docker engine runs here: .ci/security-checks lints the files, and this reads them.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
FINAL_STAGE = DOCKERFILE.rsplit("\nFROM ", 1)[1]
SERVE = ["gunicorn", "-c", "python:crm.serving"]
SCHEDULER = ["flask", "--app", "wsgi", "scheduler", "run"]


def _compose() -> dict:
    return YAML(typ="safe").load((ROOT / "compose.yaml").read_text())


def test_the_image_serves_with_the_projects_gunicorn_settings():
    command = re.search(r"^CMD (\[.*\])$", FINAL_STAGE, re.M).group(1)
    assert command.startswith('["' + '", "'.join(SERVE) + '"') and command.endswith('"wsgi:app"]')
    assert "/healthz" in re.search(r"^HEALTHCHECK .*(?:\n .*)*", FINAL_STAGE, re.M).group(0)


def test_the_image_runs_as_a_user_who_is_not_root_and_holds_no_compiler():
    user = re.findall(r"^USER (\S+)$", FINAL_STAGE, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    for tool in ("gcc", "build-essential", "libc6-dev", "make"):
        assert not re.search(rf"apt-get install[^\n]*(\\\n[^\n]*)*\b{tool}\b", FINAL_STAGE), tool
    # The builder does have one, which is the point of building wheels there.
    assert "gcc" in DOCKERFILE.split(FINAL_STAGE)[0]


def test_the_image_installs_the_makefiles_system_packages():
    packages = re.search(r"^SYSTEM_PACKAGES := (.+)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    assert packages
    for package in packages:
        assert package in FINAL_STAGE, package


def test_the_linter_refuses_an_image_that_runs_as_root():
    """hadolint, as .ci/security-checks runs it, fails on the file once its last user is root."""
    clean = subprocess.run([str(BIN / "hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout
    as_root = subprocess.run(
        [str(BIN / "hadolint"), "-"], cwd=ROOT, input=DOCKERFILE + "USER root\n", capture_output=True, text=True
    )
    assert as_root.returncode != 0 and "DL3002" in as_root.stdout


def test_compose_runs_two_web_servers_one_scheduler_and_a_proxy_after_the_migration():
    services = _compose()["services"]
    web = [
        name
        for name, service in services.items()
        if "image" in service and service["image"].startswith("alcance") and "command" not in service
    ]
    schedulers = [name for name, service in services.items() if service.get("command") == SCHEDULER]
    assert len(web) == 2
    assert schedulers == ["scheduler"]
    assert services["migrate"]["command"] == ["flask", "--app", "wsgi", "setup"]
    for name in web + schedulers:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        # One key for every container, or a session signed by one web server is refused by the other.
        assert services[name]["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert "instance:/data" in services[name]["volumes"]
        assert services[name]["read_only"] is True and services[name]["cap_drop"] == ["ALL"]
    # Both web servers count each API token's requests in the one Redis, which keeps nothing on disk.
    assert services["redis"]["image"].startswith("redis:")
    assert services["redis"]["command"] == ["redis-server", "--save", "", "--appendonly", "no"]
    for name in web:
        assert services[name]["environment"]["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}
    # Only the scheduler writes backups, and only it holds their passphrase.
    assert "backups:/backups" in services["scheduler"]["volumes"]
    assert [
        name for name, service in services.items() if "ALCANCE_BACKUP_PASSPHRASE" in (service.get("environment") or {})
    ] == ["scheduler"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert (
        services["proxy"]["image"].startswith("caddy")
        and "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    )
    assert all(f"{name}:8000" in caddyfile for name in web)


def test_the_compose_file_passes_the_compose_schema_and_a_broken_one_does_not(tmp_path):
    check = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec"]
    passed = subprocess.run([*check, "compose.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert passed.returncode == 0, passed.stdout
    broken = tmp_path / "compose.yaml"
    broken.write_text((ROOT / "compose.yaml").read_text().replace("service_completed_successfully", "service_finished"))
    refused = subprocess.run([*check, str(broken)], capture_output=True, text=True)
    assert refused.returncode == 1 and "depends_on" in refused.stdout, refused.stdout


def _unit(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (ROOT / "deploy" / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_the_systemd_units_run_the_web_server_and_one_scheduler_hardened():
    web, scheduler = _unit("alcance-web.service"), _unit("alcance-scheduler.service")
    assert " ".join(SERVE) in web["ExecStart"][0] and web["ExecStart"][0].endswith("wsgi:app")
    assert web["ExecStart"][0].startswith("/opt/alcance/.venv/bin/")
    assert scheduler["ExecStart"] == ["/opt/alcance/.venv/bin/" + " ".join(SCHEDULER)]
    for unit in (web, scheduler):
        assert unit["User"] == ["alcance"]
        assert unit["EnvironmentFile"] == ["/etc/alcance/alcance.env"]
        for setting, value in {
            "NoNewPrivileges": "yes",
            "ProtectSystem": "strict",
            "ProtectHome": "yes",
            "PrivateTmp": "yes",
            "PrivateDevices": "yes",
            "CapabilityBoundingSet": "",
            "RestrictSUIDSGID": "yes",
            "UMask": "0077",
            "StateDirectoryMode": "0700",
        }.items():
            assert unit.get(setting) == [value], setting
