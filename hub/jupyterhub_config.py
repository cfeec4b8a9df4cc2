"""JupyterHub for the course, on one machine: `make hub`, the class tests and `make bench-class`.

A try-out, not a deployment (README, "Teaching a class", has the route for a real class: Zero to JupyterHub):

- **SharedPasswordAuthenticator**: a student signs in with any name and the class password; the instructor
  (``instructor``) with the admin password, for the admin page (every student's server, start/stop). Only for a
  try-out: whoever has the class password can sign in *as any student*.
- **SimpleLocalProcessSpawner**: each student's server is a process of the hub's own system user, with a home
  folder of its own under the hub's state folder. Only for a try-out: there is no isolation, every student can
  read and write every other student's files, and no memory or CPU limit applies.

Each student gets the course's notebooks (copied into their home the first time, never over their own work),
the course's JupyterLab settings (``overrides.json`` in this environment: comms over subshells disabled) and
kernels from this environment, started with the course's classroom settings (OMP_WAIT_POLICY=PASSIVE, see the
Makefile). ``hub/course_hub.py`` starts it with what it reads here from the environment:

WD_HUB_STATE          folder for the hub's database, cookie secret, passwords and the students' homes
WD_HUB_PORT           the public port (default 8000); WD_HUB_API_PORT, WD_HUB_PROXY_API_PORT: internal ones
WD_HUB_PASSWORD       the class password (default: made once, kept in $WD_HUB_STATE/class-password)
WD_HUB_ADMIN_TOKEN    if set, an API token with admin rights (the tests and the class benchmark create users)
"""

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from course_hub import kept_secret, student_runtime  # noqa: E402
ROOT = HERE.parent
NOTEBOOKS = ROOT / "notebooks"
STATE = Path(os.environ.get("WD_HUB_STATE", HERE / "state")).resolve()
INSTRUCTOR = "instructor"

c = get_config()  # noqa: F821 - JupyterHub provides it when it loads this file
STATE.mkdir(parents=True, exist_ok=True)

# --- where it listens, where it keeps its state (never in the checkout's root) --------------------------------------
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ.get("WD_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("WD_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('WD_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "cookie_secret")
c.JupyterHub.pid_file = str(STATE / "hub.pid")

# --- who signs in ----------------------------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ.get("WD_HUB_PASSWORD") or kept_secret(STATE, "class-password", 9)
c.SharedPasswordAuthenticator.admin_password = kept_secret(STATE, "admin-password", 32)
c.Authenticator.admin_users = {INSTRUCTOR}
c.Authenticator.allow_all = True  # a class signs in with names of its own choosing
if os.environ.get("WD_HUB_ADMIN_TOKEN"):
    c.JupyterHub.services = [{"name": "course-admin", "api_token": os.environ["WD_HUB_ADMIN_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "course-admin", "scopes": ["admin:users", "admin:servers", "tokens"],
                                "services": ["course-admin"]}]

# --- what each student gets --------------------------------------------------------------------------------------------
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
c.Spawner.cmd = [str(Path(sys.prefix, "bin", "jupyterhub-singleuser"))]  # this environment: its kernels, its settings
c.Spawner.default_url = "/lab"
c.Spawner.args = [
    # a classroom network may reach nothing outside: no news or update checks from each student's JupyterLab
    "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    *(["--allow-root"] if os.geteuid() == 0 else []),  # containers and CI machines run as root
    # kernels talk to their server over Unix sockets, not TCP ports: with dozens of servers on one machine starting
    # kernels at once, a port chosen free was taken before the kernel bound it ("Address already in use", five
    # restarts, a kernel lost: measured with 48 students). Sockets are also closed to other users of the machine.
    "--KernelManager.transport=ipc",
]


def runtime_dir(spawner) -> str:
    """The student's runtime folder (connection files, kernels' sockets): short, for the sockets' paths."""
    return str(student_runtime(STATE, spawner.user.name))


c.Spawner.environment = {
    # every kernel a student starts inherits it (the Makefile's reasons: a busy core must not slow a kernel 15×)
    "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
    "JUPYTER_RUNTIME_DIR": runtime_dir,
}
# a class arrives at once: on two cores sixteen servers take a while to import JupyterLab and answer
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180


def give_the_course(spawner) -> None:
    """Copy the course's notebooks into the student's home: those they do not have yet, never over their own."""
    home = Path(spawner.home_dir)
    home.mkdir(parents=True, exist_ok=True)
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        target = home / notebook.name
        if not target.exists():
            partial = target.with_name(f".{target.name}.partial")  # never a half-copied notebook under its name
            shutil.copyfile(notebook, partial)
            os.replace(partial, target)


c.Spawner.pre_spawn_hook = give_the_course
