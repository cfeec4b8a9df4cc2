"""Start the course's JupyterHub (hub/jupyterhub_config.py) and drive it: `make hub`, the class tests, `make bench-class`.

    python hub/course_hub.py serve [--port 8000]     # what `make hub` runs: prints the URL and how to sign in

In code (tests, benchmarks)::

    with CourseHub(home) as hub:            # JupyterHub + configurable-http-proxy on loopback, free ports
        server = hub.spawn("student01")     # the user, their server started and answering, a token of theirs
        server.url, server.token            # "http://127.0.0.1:PORT/user/student01/"

Everything it starts (hub, proxy, students' servers and their kernels) is stopped by ``stop()``, whatever state
it is in: the hub stops its proxy and servers itself, and what is left (found by the state folder, which every
student's process has as its working folder or in its command line) is killed.
"""

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "jupyterhub_config.py"
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
BIN = Path(sys.prefix, "bin")
START_TIMEOUT = 90  # seconds for the hub to answer (a cold start imports JupyterHub and starts the proxy)
SPAWN_TIMEOUT = 240  # seconds for a student's server to answer; sixteen starting at once on two cores take a while
INSTALL_PROXY = "make hub-proxy (npm install of hub/package.json; needs Node.js and npm: apt-get install nodejs npm)"


def proxy_missing() -> str | None:
    """Why the hub cannot start here, or None: JupyterHub needs configurable-http-proxy (from npm)."""
    if not PROXY.exists():
        return f"configurable-http-proxy is not installed at {PROXY}: {INSTALL_PROXY}"
    return None


def runtime_root(state: Path) -> Path:
    """Where the students of the hub kept in ``state`` have their runtime folders: a short path under /tmp, as a Unix
    socket's path (a kernel's, with ``--KernelManager.transport=ipc``) must stay under 108 bytes."""
    return Path(tempfile.gettempdir(), f"wdhub-{hashlib.sha1(str(Path(state).resolve()).encode()).hexdigest()[:8]}")


def student_runtime(state: Path, name: str) -> Path:
    """A student's runtime folder (their server's and kernels' connection files and sockets), private to the hub's user."""
    folder = runtime_root(state) / hashlib.sha1(name.encode()).hexdigest()[:8]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def kept_secret(state: Path, name: str, nbytes: int) -> str:
    """A password kept in the hub's state folder: made once (readable by the hub's user only, written whole, never
    half), the same on every later start."""
    path = Path(state) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{name}.{os.getpid()}.partial")
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(secrets.token_urlsafe(nbytes) + "\n")
        os.replace(partial, path)
    return path.read_text().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class UserServer:
    """A student's running server: its URL through the hub's proxy, and an API token of that student."""

    name: str
    url: str
    token: str
    home: Path


class CourseHub:
    """The course's JupyterHub in a process group of its own, its log in ``home/hub.log``."""

    def __init__(self, home: Path, *, port: int | None = None, password: str | None = None):
        self.home = Path(home).resolve()
        self.state = self.home / "state"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = password or secrets.token_urlsafe(9)
        self.admin_token = secrets.token_hex(24)
        self.log_path = self.home / "hub.log"
        self.process = None

    # --- start and stop -----------------------------------------------------------------------------------------------
    def start(self):
        reason = proxy_missing()
        if reason:
            raise RuntimeError(reason)
        self.state.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MPLBACKEND", "JUPYTER", "PYTEST", "IPYTHONDIR", "WD_HUB_"))}
        env.update({
            "WD_HUB_STATE": str(self.state), "WD_HUB_PORT": str(self.port), "WD_HUB_API_PORT": str(free_port()),
            "WD_HUB_PROXY_API_PORT": str(free_port()), "WD_HUB_PASSWORD": self.password,
            "WD_HUB_ADMIN_TOKEN": self.admin_token, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        })
        self._log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [str(BIN / "jupyterhub"), "-f", str(CONFIG)], env=env, cwd=self.state, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_terminate_with_parent,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited with {self.process.returncode}; see {self.log_path}")
            try:
                self.api("GET", "/")
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise RuntimeError(f"JupyterHub did not answer within {START_TIMEOUT} s; see {self.log_path}")

    def stop(self):
        """Stop the hub, its proxy, every student's server and kernel."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the hub stops the students' servers and its proxy
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        for pid in [self.process.pid, *self.leftover_pids()]:
            _kill(pid)
        shutil.rmtree(runtime_root(self.state), ignore_errors=True)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        self.process = None

    def leftover_pids(self) -> list[int]:
        """Processes the hub started: its proxy, and anything working in or naming the state folder or the students'
        runtime folders (servers, kernels)."""
        pids = set()
        proxy_pid = self.state / "proxy.pid"
        if proxy_pid.exists():
            try:
                pids.add(int(proxy_pid.read_text().strip()))
            except ValueError:
                pass
        state, runtime = str(self.state), str(runtime_root(self.state))
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if not alive(int(proc.name)):
                    continue
                command = (proc / "cmdline").read_bytes().decode(errors="replace")
                if os.readlink(proc / "cwd").startswith(state) or state in command or runtime in command:
                    pids.add(int(proc.name))
            except OSError:
                continue
        pids.discard(os.getpid())
        return sorted(pid for pid in pids if alive(pid))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- the hub's REST API (as its admin service) ---------------------------------------------------------------------
    def api(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/hub/api{path}", data=data, method=method,
            headers={"Authorization": f"token {self.admin_token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
        return json.loads(text) if text else None

    def pids(self) -> dict[str, int]:
        """The hub's and the proxy's process ids (for their CPU and memory)."""
        return {"hub": self.process.pid, "proxy": int((self.state / "proxy.pid").read_text().strip())}

    def spawn(self, name: str, *, timeout: float = SPAWN_TIMEOUT) -> UserServer:
        """Create the user ``name`` (if new), start their server, wait until it answers; a token of theirs with it."""
        quoted = urllib.parse.quote(name)
        self._api_unless("POST", f"/users/{quoted}", 409)  # 409: the user exists already
        token = self.api("POST", f"/users/{quoted}/tokens", {"note": "course class test", "expires_in": 86400})["token"]
        self._api_unless("POST", f"/users/{quoted}/server", 400)  # 400: already running
        self.wait_ready(name, timeout=timeout)
        url = f"{self.url}/user/{quoted}/"
        request = urllib.request.Request(f"{url}api/status", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=60):
            pass
        return UserServer(name, url, token, self.state / "home" / name)

    def wait_ready(self, name: str, *, timeout: float = SPAWN_TIMEOUT) -> None:
        """Wait until the hub says the server of ``name`` is ready (started by the API or by signing in)."""
        deadline = time.monotonic() + timeout
        while not (self.api("GET", f"/users/{urllib.parse.quote(name)}").get("servers", {}).get("", {}).get("ready")):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server of {name!r} did not start within {timeout} s; see {self.log_path}")
            time.sleep(0.5)

    def _api_unless(self, method: str, path: str, harmless: int) -> None:
        """A call whose refusal with status ``harmless`` means it is done already (user exists, server running)."""
        try:
            self.api(method, path)
        except urllib.error.HTTPError as error:
            if error.code != harmless:
                raise

    def stop_server(self, name: str, *, timeout: float = 60):
        """Stop the server of ``name`` (and its kernels); wait until the hub says it is stopped."""
        quoted = urllib.parse.quote(name)
        self._api_unless("DELETE", f"/users/{quoted}/server", 400)  # 400: not running
        deadline = time.monotonic() + timeout
        while self.api("GET", f"/users/{quoted}").get("servers", {}).get(""):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server of {name!r} did not stop within {timeout} s; see {self.log_path}")
            time.sleep(0.3)


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def nbgitpuller_link(hub_url: str, repo: str, *, notebook: str = "04_weight_decay.ipynb", branch: str = "main") -> str:
    """The link that hands a class the course through nbgitpuller: a student who follows it signs in, gets (or
    updates, merging with their own changes) a clone of ``repo`` in their home, and lands on ``notebook``."""
    folder = repo.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1]  # named explicitly: not "wd-course.git"
    query = urllib.parse.urlencode({"repo": repo, "branch": branch, "targetpath": folder,
                                    "urlpath": f"lab/tree/{folder}/notebooks/{notebook}"})
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def _kill(pid: int):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(40):
            if not alive(pid):
                return
            time.sleep(0.05)


def _terminate_with_parent():
    """In the child, before exec: get SIGTERM if whoever started the hub dies (Linux), so that no hub outlives it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve(port: int, state: Path) -> None:
    """`make hub`: the hub in the foreground until Ctrl-C, the students' homes kept in ``state`` between runs."""
    home = state.parent
    hub = CourseHub(home, port=port, password=kept_secret(state, "class-password", 9))  # a class keeps it
    print(f"starting JupyterHub for the course (log: {hub.log_path}) ...", flush=True)
    with hub:
        admin = (state / "admin-password").read_text().strip()
        print(f"""
The course's JupyterHub: {hub.url}
  students:   sign in with any name and the class password  {hub.password}
              (each gets the course's notebooks in a home of their own: {state / 'home'})
  instructor: sign in as "instructor" with the admin password  {admin}
              ({hub.url}/hub/admin lists every student's server)
A try-out on one machine (shared password, no isolation between students): README, "Teaching a class".
Ctrl-C stops the hub and every student's server.""", flush=True)
        try:
            while hub.process.poll() is None:
                time.sleep(1)
            print(f"JupyterHub exited with {hub.process.returncode}; see {hub.log_path}", file=sys.stderr)
        except KeyboardInterrupt:
            print("\nstopping ...", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="start the hub and keep it running until Ctrl-C")
    run.add_argument("--port", type=int, default=8000, help="the public port on 127.0.0.1 (default 8000)")
    run.add_argument("--state", type=Path, default=HERE / "state",
                     help="the hub's database, passwords and students' homes (default hub/state)")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be in 1..65535, got {args.port}")
    reason = proxy_missing()
    if reason:
        parser.exit(2, f"cannot start the hub: {reason}\n")
    serve(args.port, args.state.resolve())


if __name__ == "__main__":
    main()
