"""The route to a real class (README, "Teaching a class"), checked as far as a machine without a container engine
allows: repo2docker turns the repository into an image recipe, the Zero to JupyterHub config parses and keeps the
course's settings, and the README's nbgitpuller link is the one hub/course_hub.py makes (and test_hub.py follows)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hub"))

from course_hub import nbgitpuller_link  # noqa: E402

CONFIG = ROOT / "deploy" / "z2jh-config.yaml"
README = (ROOT / "README.md").read_text()
REPO2DOCKER = Path(sys.prefix, "bin", "repo2docker")


def gigabytes(size: str) -> float:
    """A Kubernetes memory size as Z2JH writes it (1G, 512M, 2Gi) in GB."""
    number, unit = re.fullmatch(r"([0-9.]+)([KMGT]i?)", size).groups()
    scale = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[unit[0]] * (1.024 ** (" KMGT".index(unit[0])) if "i" in unit else 1)
    return float(number) * scale / 1e9


@pytest.mark.skipif(not REPO2DOCKER.exists(), reason="repo2docker is not installed: `make install` (the [deploy] extra)")
def test_repo2docker_builds_the_image_from_environment_yml_and_postbuild(tmp_path):
    """The image recipe repo2docker writes (--no-build: it needs no engine) installs our environment and settings."""
    for name in ("environment.yml", "postBuild", "pyproject.toml", "constraints.txt"):
        shutil.copy2(ROOT / name, tmp_path / name)
    done = subprocess.run([str(REPO2DOCKER), "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    dockerfile = done.stdout + done.stderr
    assert re.search(r'env update -p \$\{NB_PYTHON_PREFIX\} --file "environment\.yml"', dockerfile)
    assert "RUN ./postBuild" in dockerfile
    assert "RUN ./postBuild" not in subprocess.run(  # the counterfactual: without postBuild, no such step
        [str(REPO2DOCKER), "--no-build", "--debug", str(_without(tmp_path, "postBuild"))],
        capture_output=True, text=True, timeout=300).stderr


def _without(folder: Path, name: str) -> Path:
    copy = folder.parent / f"{folder.name}-without-{name}"
    shutil.copytree(folder, copy)
    (copy / name).unlink()
    return copy


def test_the_zero_to_jupyterhub_config_keeps_the_course_settings():
    config = yaml.safe_load(CONFIG.read_text())
    user = config["singleuser"]
    assert user["defaultUrl"] == "/lab"
    assert user["extraEnv"]["OMP_WAIT_POLICY"] == "PASSIVE"  # as the Makefile and environment.yml set it
    assert "OMP_WAIT_POLICY: PASSIVE" in (ROOT / "environment.yml").read_text()
    # a kernel may use up to 1 GB (bench_memory.py's budget) beside the student's server: the limit leaves room
    assert gigabytes(user["memory"]["guarantee"]) >= 1.0
    assert gigabytes(user["memory"]["limit"]) >= gigabytes(user["memory"]["guarantee"])
    assert config["cull"]["enabled"] is True
    assert config["hub"]["config"]["JupyterHub"]["authenticator_class"] != "shared-password"  # a real sign-in


@pytest.mark.parametrize("size, expected", [("1G", 1.0), ("2G", 2.0), ("512M", 0.512), ("1Gi", 1.073741824)])
def test_memory_sizes_are_read_as_kubernetes_writes_them(size, expected):
    assert gigabytes(size) == pytest.approx(expected)


def test_the_readme_gives_the_nbgitpuller_link_that_the_hub_follows():
    link = nbgitpuller_link("https://HUB.EXAMPLE.EDU", "https://github.com/ORG/wd-course", notebook="04_weight_decay.ipynb")
    assert link in README
    assert "user-redirect/git-pull?" in link and "targetpath=wd-course" in link
