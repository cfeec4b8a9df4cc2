"""JupyterLab and Voilà servers for the browser tests, from the course's own environment.

Each server runs on loopback, on a free port, with a random token, over a temporary copy of
notebooks/, with Jupyter's config, data, runtime and user-settings folders pointed into a temporary
home (nothing in the user's home is read or written). The environment's own folders
(``sys.prefix/share/jupyter``: the front-end extensions, and the course's ``overrides.json`` that
``make install`` puts there) still apply, so the server is configured as ``make lab`` configures it.
A server is stopped with its kernels, whatever state a test left it in.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
START_TIMEOUT = 90  # seconds; a cold start imports every server extension
ROOT_FLAG = ["--allow-root"] if os.geteuid() == 0 else []  # Jupyter refuses root without it
BIN = Path(sys.prefix, "bin")

# a line of a server's log (kernels log there too) that reports an error, or a refused request (403)
LOG_ERROR = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception): |^\[E |\bERROR\b|^403 ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(home: Path) -> dict:
    """The test process's environment for a server, minus what must not leak into it.

    MPLBACKEND=Agg (set for pytest) must not reach the kernels: the notebooks choose ipympl with
    %matplotlib widget. Jupyter's per-user folders point into ``home``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPLBACKEND", "JUPYTER", "PYTEST", "IPYTHONDIR"))}
    folders = {
        "JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "user-settings", "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }
    for variable, folder in folders.items():
        (home / folder).mkdir(parents=True, exist_ok=True)
        env[variable] = str(home / folder)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


class Server:
    """A server in its own process group, its output (and its kernels') in ARTIFACTS/<name>.log."""

    def __init__(self, name: str, home: Path):
        self.name, self.home = name, home
        self.course = home / "course"  # what `make present` serves: the repository's notebooks/ and presenter/
        self.notebooks = self.course / "notebooks"
        shutil.copytree(ROOT / "notebooks", self.notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = isolated_env(home)
        self.runtime_dir = home / "runtime"
        self.log_path = ARTIFACTS / f"{name}.log"
        self.process = None

    def start(self, argv: list[str], ready_path: str):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            argv, env=self.env, cwd=self.home, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_terminate_with_parent,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.at(ready_path), timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {START_TIMEOUT} s; see {self.log_path}")

    def at(self, path: str) -> str:
        """The URL of path on this server, with the token."""
        return f"{self.url}{path}{'&' if '?' in path else '?'}token={self.token}"

    def fetch(self, path: str, method: str = "GET") -> bytes:
        request = urllib.request.Request(self.at(path), method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def api(self, path: str, method: str = "GET"):
        body = self.fetch(path, method)
        return json.loads(body) if body else None

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_errors(self, since: int = 0) -> list[str]:
        """Lines of the log after offset ``since`` that report an error."""
        return [line for line in self.log_text()[since:].splitlines() if LOG_ERROR.search(line)]

    def stop(self):
        """Stop the server and every kernel it started."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self.shut_down_gracefully()
                self.process.wait(timeout=20)
            except Exception:  # noqa: BLE001 - whatever went wrong, the kills below still run
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)  # the server and anything left in its group
                self.process.wait(timeout=10)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        # kernels run in sessions of their own: find ours by their connection files, in our runtime dir
        for pid in pids_with_argument(str(self.runtime_dir)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()

    def shut_down_gracefully(self):
        self.process.send_signal(signal.SIGTERM)


class LabServer(Server):
    def launch(self):
        # the harness's own user setting: no "official Jupyter news?" toast over the notebook
        news = self.home / "user-settings" / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True, exist_ok=True)
        (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
        return self.start([
            str(BIN / "jupyter"), "lab", "--no-browser", *ROOT_FLAG,
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.notebooks}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ], ready_path="/api/status")

    def shut_down_kernels(self):
        for kernel in self.api("/api/kernels"):
            self.fetch(f"/api/kernels/{kernel['id']}", method="DELETE")

    def shut_down_gracefully(self):
        self.shut_down_kernels()
        self.fetch("/api/shutdown", method="POST")


class VoilaServer(Server):
    def launch(self):
        """Voilà as `make present` runs it, over a copy of notebooks/ and presenter/: presenter/voila.json
        (pre-heated kernels for the explorer pages) and the course's template (presenter/jupyter)."""
        presenter = self.course / "presenter"
        shutil.copytree(ROOT / "presenter", presenter, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        self.env["JUPYTER_PATH"] = str(presenter / "jupyter")
        return self.start([
            str(BIN / "voila"), str(self.course), "--no-browser",
            f"--Voila.config_file_paths={presenter}",
            "--Voila.ip=127.0.0.1", f"--Voila.port={self.port}", "--Voila.port_retries=0",
            f"--Voila.token={self.token}", f"--Voila.connection_dir_root={self.runtime_dir}",
        ], ready_path="/")


def _terminate_with_parent():
    """In the child, before exec: get SIGTERM if pytest itself dies (killed, not just failed), so
    that not even a killed test run leaves a server behind (Linux; elsewhere the fixtures' stop())."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def pids_with_argument(text: str) -> list[int]:
    """Processes whose command line contains text."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids
