"""The Kubernetes files (deploy/k8s/, Dockerfile) cannot be built or applied here: they are checked
against the RayService CRD's field names, serve_config.yaml, the pinned Ray, the Serve flags that
`make run` sets and the Settings."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from deployments.raylocal import SERVE_ENV
from kit.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
APP_DIR = "/home/ray/app"  # the Dockerfile's WORKDIR
IMAGE_PYTHON = "/home/ray/anaconda3/bin/python"  # rayproject/ray's Python

# Field names of the ray.io/v1 RayService CRD (KubeRay 1.6+) and of the Kubernetes core/v1 objects
# it embeds, for the parts these manifests use; None: a value not looked into. A typo or a field
# of another version fails here instead of being dropped silently by the API server.
ANY = None
PROBE = {
    "httpGet": {"path": ANY, "port": ANY, "host": ANY, "scheme": ANY, "httpHeaders": ANY},
    "exec": ANY,
    "tcpSocket": ANY,
    "grpc": ANY,
    "initialDelaySeconds": ANY,
    "periodSeconds": ANY,
    "timeoutSeconds": ANY,
    "successThreshold": ANY,
    "failureThreshold": ANY,
    "terminationGracePeriodSeconds": ANY,
}
CONTAINER = {
    "name": ANY,
    "image": ANY,
    "imagePullPolicy": ANY,
    "command": ANY,
    "args": ANY,
    "workingDir": ANY,
    "env": [{"name": ANY, "value": ANY, "valueFrom": ANY}],
    "envFrom": [{"secretRef": {"name": ANY, "optional": ANY}, "configMapRef": ANY, "prefix": ANY}],
    "ports": [{"name": ANY, "containerPort": ANY, "protocol": ANY, "hostPort": ANY, "hostIP": ANY}],
    "resources": {"requests": ANY, "limits": ANY, "claims": ANY},
    "livenessProbe": PROBE,
    "readinessProbe": PROBE,
    "startupProbe": PROBE,
    "lifecycle": ANY,
    "securityContext": ANY,
    "volumeMounts": ANY,
}
POD_TEMPLATE = {
    "metadata": ANY,
    "spec": {
        "containers": [CONTAINER],
        "volumes": ANY,
        "serviceAccountName": ANY,
        "nodeSelector": ANY,
        "tolerations": ANY,
        "affinity": ANY,
        "restartPolicy": ANY,
        "terminationGracePeriodSeconds": ANY,
    },
}
RAY_CLUSTER = {
    "rayVersion": ANY,
    "enableInTreeAutoscaling": ANY,
    "autoscalerOptions": ANY,
    "authOptions": {"mode": ANY, "secretName": ANY, "enableK8sTokenAuth": ANY},
    "gcsFaultToleranceOptions": ANY,
    "headServiceAnnotations": ANY,
    "suspend": ANY,
    "headGroupSpec": {
        "rayStartParams": ANY,
        "template": POD_TEMPLATE,
        "serviceType": ANY,
        "headService": ANY,
        "enableIngress": ANY,
        "resources": ANY,
        "labels": ANY,
    },
    "workerGroupSpecs": [
        {
            "groupName": ANY,
            "replicas": ANY,
            "minReplicas": ANY,
            "maxReplicas": ANY,
            "idleTimeoutSeconds": ANY,
            "rayStartParams": ANY,
            "template": POD_TEMPLATE,
            "numOfHosts": ANY,
            "resources": ANY,
            "labels": ANY,
            "suspend": ANY,
        }
    ],
}
RAY_SERVICE = {
    "apiVersion": ANY,
    "kind": ANY,
    "metadata": {"name": ANY, "namespace": ANY, "labels": ANY, "annotations": ANY},
    "spec": {
        "serveConfigV2": ANY,
        "rayClusterConfig": RAY_CLUSTER,
        "serveService": ANY,
        "excludeHeadPodFromServeSvc": ANY,
        "upgradeStrategy": ANY,
        "rayClusterDeletionDelaySeconds": ANY,
        "suspend": ANY,
        "managedBy": ANY,
    },
}
REQUIRED = {
    "spec.rayClusterConfig.headGroupSpec": {"template"},
    "spec.rayClusterConfig.workerGroupSpecs[]": {"groupName", "minReplicas", "maxReplicas", "template"},
    "containers[]": {"name", "image"},
    "httpGet": {"path", "port"},
    "secretRef": {"name"},
}


@pytest.fixture(autouse=True)
def clean_state():
    """These tests read files: no database or Redis to reset."""


def _load(name: str) -> dict:
    return yaml.safe_load((K8S / name).read_text())


def _ray_service() -> dict:
    return _load("rayservice.yaml")


def _serve_config() -> dict:
    return yaml.safe_load((ROOT / "serve_config.yaml").read_text())


def _groups(service: dict) -> list[dict]:
    cluster = service["spec"]["rayClusterConfig"]
    return [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]


def _containers(service: dict) -> list[dict]:
    return [c for group in _groups(service) for c in group["template"]["spec"]["containers"]]


def _ray_pin() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [ray] = [Requirement(r) for r in project["dependencies"] if Requirement(r).name == "ray"]
    [spec] = ray.specifier
    return spec.version


def _unknown_fields(value, schema, path: str = "") -> list[str]:
    if schema is ANY:
        return []
    if isinstance(schema, list):
        assert isinstance(value, list), f"{path} must be a list"
        return [e for item in value for e in _unknown_fields(item, schema[0], path + "[]")]
    assert isinstance(value, dict), f"{path} must be a mapping"
    missing = [
        f"{path} lacks {key}"
        for suffix, keys in REQUIRED.items()
        if path.endswith(suffix)
        for key in sorted(keys - value.keys())
    ]
    unknown = [f"{path}.{key}".lstrip(".") for key in value if key not in schema]
    return (
        missing
        + unknown
        + [
            e
            for key, item in value.items()
            if key in schema
            for e in _unknown_fields(item, schema[key], f"{path}.{key}".lstrip("."))
        ]
    )


def test_the_manifest_is_a_ray_service_using_only_fields_of_its_crd():
    service = _ray_service()
    assert (service["apiVersion"], service["kind"]) == ("ray.io/v1", "RayService")
    assert _unknown_fields(service, RAY_SERVICE) == []
    assert isinstance(service["spec"]["serveConfigV2"], str), "serveConfigV2 is a YAML string"
    for group in service["spec"]["rayClusterConfig"]["workerGroupSpecs"]:
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]


def test_the_ray_service_deploys_exactly_the_applications_of_serve_config_yaml():
    served, expected = yaml.safe_load(_ray_service()["spec"]["serveConfigV2"]), _serve_config()
    assert served["applications"] == expected["applications"], (
        "deploy/k8s/rayservice.yaml serveConfigV2 differs from serve_config.yaml; its applications should be:\n"
        + yaml.safe_dump(expected["applications"], sort_keys=False)
    )
    assert served["proxy_location"] == expected["proxy_location"]
    # Every interface of the pod, on the port the probes and KubeRay's Service use.
    assert served["http_options"] == {"host": "0.0.0.0", "port": expected["http_options"]["port"]}


def test_image_dockerfile_and_cluster_run_the_ray_that_pyproject_pins():
    pin, service = _ray_pin(), _ray_service()
    dockerfile = (ROOT / "Dockerfile").read_text()
    [base] = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert base == f"rayproject/ray:{pin}-py311"
    assert service["spec"]["rayClusterConfig"]["rayVersion"] == pin
    images = {c["image"] for c in _containers(service)} | {c["image"] for c in _job_containers()}
    assert len(images) == 1, "every node and the migration job run one image"
    [tag] = re.findall(r":ray(\d+\.\d+\.\d+)-py311$", images.pop())
    assert tag == pin


def test_the_dockerfile_installs_the_lock_then_the_project_with_what_it_reads_at_run_time():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"WORKDIR {APP_DIR}" in dockerfile
    assert dockerfile.index("pip install --no-cache-dir -r requirements.lock") < dockerfile.index(
        "pip install --no-cache-dir --no-deps -e ."
    )
    copied = {
        src for line in re.findall(r"^COPY\s+(?:--\S+\s+)*(.+)$", dockerfile, re.MULTILINE) for src in line.split()[:-1]
    }
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {p.rstrip("*") for p in packages} | {
        "alembic.ini",
        "migrations",
        "serve_config.yaml",
        "pyproject.toml",
        "README.md",
        "requirements.lock",
    }
    assert needed <= copied and "deploy" not in copied and "." not in copied
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignore  # everything else (deploy/ with its secrets, .venv, var) stays out of the build context
    assert {line.lstrip("!").rstrip("/") for line in ignore if line.startswith("!")} == needed


def test_every_node_gets_the_serve_flags_that_make_run_sets():
    for container in _containers(_ray_service()):
        env = {e["name"]: e["value"] for e in container["env"]}
        for name, value in SERVE_ENV.items():
            assert name in env, f"{container['name']} lacks {name}"
            if value == sys.executable:
                assert env[name] == IMAGE_PYTHON
            elif Path(value).is_absolute() and Path(value).is_relative_to(ROOT):
                assert env[name] == f"{APP_DIR}/{Path(value).relative_to(ROOT).as_posix()}"
            else:
                assert env[name] == value, name
        assert (env["APP_ENV"], env["HOST"], env["PORT"]) == ("production", "0.0.0.0", "8000")


def _secret() -> dict[str, str]:
    secret = _load("secret.example.yaml")
    assert (secret["apiVersion"], secret["kind"], secret["metadata"]["name"]) == ("v1", "Secret", "dating-secrets")
    return secret["stringData"]


def _job_containers() -> list[dict]:
    job = _load("migrate-job.yaml")
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    return job["spec"]["template"]["spec"]["containers"]


def test_secrets_come_from_the_kubernetes_secret_whose_keys_are_settings():
    keys = set(_secret())
    assert {k.upper() for k in keys} == keys and {k.lower() for k in keys} <= set(Settings.model_fields)
    env_example = {
        line.partition("=")[0]
        for line in (ROOT / "deploy" / "dating.env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert keys == env_example
    for container in _containers(_ray_service()) + _job_containers():
        assert container["envFrom"] == [{"secretRef": {"name": "dating-secrets"}}]
        assert not {e["name"] for e in container.get("env", [])} & keys, "secrets only from the Secret"


def test_the_secret_and_the_manifests_env_satisfy_production_settings():
    [head, *_] = _containers(_ray_service())
    env = {e["name"]: e["value"] for e in head["env"]} | _secret()
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})
    assert settings.app_env == "production" and settings.public_base_url == "https://api.example.org"
    for required in (
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "SMS_PROVIDER",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "SMS_ALLOWED_COUNTRIES",
    ):
        assert required in _secret()


def test_app_pods_are_probed_on_livez_and_readyz_through_the_serve_port():
    from deployments.app import create_app

    routes = set(create_app(Settings(app_env="test")).openapi()["paths"])
    port = _serve_config()["http_options"]["port"]
    for group in _ray_service()["spec"]["rayClusterConfig"]["workerGroupSpecs"]:
        for container in group["template"]["spec"]["containers"]:
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
            assert {kind: g["path"] for kind, g in probes.items()} == {
                "startupProbe": "/livez",
                "livenessProbe": "/livez",
                "readinessProbe": "/readyz",
            }
            assert all(ports[g["port"]] == port for g in probes.values()) and ports["serve"] == port
            assert {"/livez", "/readyz"} <= routes
            # A probe waits longer than /readyz's 2 s per dependency.
            assert container["readinessProbe"]["timeoutSeconds"] > 2
