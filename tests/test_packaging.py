"""The repository's promises: same dependencies everywhere, layered imports, clean notebooks,
and the course's JupyterLab settings."""

import ast
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch", "jupyterhub-singleuser": "jupyterhub"}  # conda-forge name -> PyPI name
LAYERS = {
    "device": 0,
    "validate": 0, "threads": 0,
    "seeding": 1, "regularizers": 1, "progress": 1, "optim": 1, "schedules": 1, "momentum": 1, "activations": 1, "losses": 1, "init": 1,
    "data": 2, "models": 2, "train": 3, "classify": 3, "playground": 3, "experiments": 3, "noise": 4, "plots": 4, "regression": 4, "generalisation": 4.5, "classify_plots": 5, "checks": 5,
    "widgets": 6,
}


def split_requirement(text):
    name, bound = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", text).groups()
    name = CONDA_NAMES.get(name.lower(), name.lower()).replace("_", "-")
    return name, bound.replace(" ", "")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    # the image of a class (environment.yml) holds all but the [deploy] extra, the tool that builds that image
    pip = dict(map(split_requirement, project["dependencies"] + extras["dev"] + extras["hub"]))
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(
        split_requirement(dep) for dep in env["dependencies"]
        if isinstance(dep, str) and not dep.startswith(("python", "pip"))
    )
    assert conda == pip
    assert "conda-forge" in env["channels"]


def test_package_requirements_are_ranges_not_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for requirement in project["dependencies"] + [r for extra in extras.values() for r in extra]:
        assert "==" not in requirement, requirement
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text()  # our machines: the CPU wheel


PACKAGE = ROOT / "wd_helpers"


def layer_of(path):
    """The layer module a file belongs to: wd_helpers/train.py -> train, wd_helpers/widgets/x.py -> widgets."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_modules(path):
    """wd_helpers modules (top level) that a file imports."""
    depth = len(path.relative_to(PACKAGE).parts)  # 1 for wd_helpers/x.py, 2 for wd_helpers/widgets/x.py
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == depth and node.module:  # from .train import ... / from ..train import ...
            yield node.module.split(".")[0]
        elif node.level == depth:  # from . import optim / from .. import optim
            yield from (alias.name for alias in node.names)
        elif (node.module or "").startswith("wd_helpers."):
            yield node.module.split(".")[1]


def package_files():
    return [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]


def test_modules_import_downwards_only():
    for path in package_files():
        for module in imported_modules(path):
            assert LAYERS[module] < LAYERS[layer_of(path)], f"{path.relative_to(ROOT)} imports {module}"


def test_every_module_has_a_layer():
    assert {layer_of(path) for path in package_files()} <= set(LAYERS)


def test_only_widgets_imports_ipywidgets():
    for path in package_files():
        if layer_of(path) != "widgets":
            assert "ipywidgets" not in path.read_text(), path.name


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:1]


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_sources_hold_no_control_characters(notebook):
    # a JSON escape such as "\b" in "\\beta" written by a script becomes a backspace: the formula renders as "eta"
    cells = json.loads(notebook.read_text())["cells"]
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        bad = sorted({f"U+{ord(c):04X}" for c in source if ord(c) < 32 and c not in "\n\t" or ord(c) == 127})
        assert not bad, f"cell {index} holds control characters {bad}: {source[:80]!r}"


def test_course_settings_turn_off_comms_over_subshells():
    settings = json.loads((ROOT / "jupyter" / "overrides.json").read_text())
    assert settings["@jupyterlab/apputils-extension:kernels-settings"]["commsOverSubshells"] == "disabled"
    # the key and value exist in the installed JupyterLab's own schema
    schema_path = Path(sys.prefix, "share/jupyter/lab/schemas/@jupyterlab/apputils-extension/kernels-settings.json")
    if not schema_path.exists():
        pytest.skip(f"JupyterLab's schemas are not installed under {sys.prefix}")
    schema = json.loads(schema_path.read_text())["properties"]["commsOverSubshells"]
    assert "disabled" in [choice["const"] for choice in schema["oneOf"]]


def test_course_settings_are_installed_where_jupyterlab_reads_them():
    installed = Path(sys.prefix, "share/jupyter/lab/settings/overrides.json")
    if not (ROOT / ".venv").resolve() == Path(sys.prefix).resolve():
        pytest.skip("not running from the course's .venv (make test installs the settings there)")
    assert json.loads(installed.read_text()) == json.loads((ROOT / "jupyter" / "overrides.json").read_text())
