"""The course on a real JupyterHub (hub/): signing in, what each student gets, their own work kept, nothing left
running. Needs configurable-http-proxy from npm (`make hub-proxy`, which `make test` runs when npm is here);
skipped without it, with the reason."""

import json
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hub"))

from course_hub import CourseHub, alive, kept_secret, nbgitpuller_link, proxy_missing, runtime_root, student_runtime  # noqa: E402

requests = pytest.importorskip("requests")
# every test but the last needs a hub, hence its proxy
needs_proxy = pytest.mark.skipif(proxy_missing() is not None, reason=str(proxy_missing()))
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with CourseHub(tmp_path_factory.mktemp("hub")) as hub:
        yield hub


def sign_in(hub, name: str, password: str) -> tuple[requests.Session, requests.Response]:
    """Sign in on the hub's login page as a browser does (its _xsrf field and cookie); the final response: the
    student's JupyterLab once their server has started (the page "your server is starting" waits for it in a browser)."""
    session = requests.Session()
    form = session.get(f"{hub.url}/hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
    response = session.post(f"{hub.url}/hub/login?next=", data={"username": name, "password": password, "_xsrf": xsrf},
                            timeout=60)
    if "/hub/spawn-pending/" in response.url:
        hub.wait_ready(name)
        response = session.get(response.url, timeout=60)
    return session, response


@needs_proxy
def test_a_student_signs_in_with_the_class_password_and_gets_the_course(hub):
    session, response = sign_in(hub, "ada", hub.password)
    assert response.status_code == 200 and response.url.startswith(f"{hub.url}/user/ada/lab"), response.url
    contents = session.get(f"{hub.url}/user/ada/api/contents", timeout=30).json()
    assert sorted(item["name"] for item in contents["content"] if item["type"] == "notebook") == NOTEBOOKS
    copied = json.loads((hub.state / "home" / "ada" / "04_weight_decay.ipynb").read_text())
    assert copied == json.loads((ROOT / "notebooks" / "04_weight_decay.ipynb").read_text())
    # the course's JupyterLab settings are in effect for the student (overrides.json of this environment)
    settings = session.get(f"{hub.url}/user/ada/lab/api/settings/@jupyterlab/apputils-extension:kernels-settings",
                           timeout=30).json()
    assert settings["schema"]["properties"]["commsOverSubshells"]["default"] == "disabled"  # overrides apply as defaults
    assert "commsOverSubshells" not in json.loads(settings["raw"] or "{}")  # and no user setting overrides them
    # kernels come from the course's environment and start with the classroom's settings
    xsrf = {"X-XSRFToken": session.cookies.get("_xsrf", path="/user/ada/")}  # the server's own, beside the hub's
    kernel = session.post(f"{hub.url}/user/ada/api/kernels", json={"name": "python3"}, headers=xsrf, timeout=60).json()
    pid = next(pid for pid in hub.leftover_pids() if kernel["id"] in Path(f"/proc/{pid}/cmdline").read_text())
    argv = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    python = Path(argv[0])
    assert python.parent == Path(sys.prefix, "bin") and python.name.startswith("python")  # this environment's
    # over Unix sockets in the student's own runtime folder, not TCP ports that many servers could race for
    connection = Path(argv[argv.index("-f") + 1])
    assert connection.parent == student_runtime(hub.state, "ada")
    assert json.loads(connection.read_text())["transport"] == "ipc"
    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"OMP_WAIT_POLICY=PASSIVE" in environment  # a busy core must not slow a student's kernel 15x (Makefile)
    assert not [v for v in environment if v.startswith(b"MPLBACKEND=")]  # %matplotlib widget must choose ipympl
    assert session.delete(f"{hub.url}/user/ada/api/kernels/{kernel['id']}", headers=xsrf, timeout=60).status_code == 204


@needs_proxy
def test_a_wrong_password_is_refused_and_starts_nothing(hub):
    _, response = sign_in(hub, "eve", hub.password + "x")
    assert response.status_code == 403 and "/user/eve" not in response.url
    with pytest.raises(Exception, match="404"):
        hub.api("GET", "/users/eve")


@needs_proxy
def test_the_instructor_signs_in_with_the_admin_password_only(hub):
    _, refused = sign_in(hub, "instructor", hub.password)
    assert refused.status_code == 403
    admin_password = (hub.state / "admin-password").read_text().strip()
    session, response = sign_in(hub, "instructor", admin_password)
    assert response.status_code == 200
    assert session.get(f"{hub.url}/hub/admin", timeout=30, allow_redirects=False).status_code == 200


@needs_proxy
def test_a_student_cannot_open_another_students_server(hub):
    hub.spawn("bo")
    session, _ = sign_in(hub, "cy", hub.password)
    response = session.get(f"{hub.url}/user/bo/api/contents", timeout=30)
    assert response.status_code == 403 or "/user/cy" in response.url, (response.status_code, response.url)


@needs_proxy
def test_a_students_own_work_is_kept_when_their_server_restarts(hub):
    server = hub.spawn("dee")
    mine = server.home / "04_weight_decay.ipynb"
    work = json.loads(mine.read_text())
    work["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["my notes"]})
    mine.write_text(json.dumps(work))
    (server.home / "01_activations.ipynb").unlink()
    hub.stop_server("dee")
    hub.spawn("dee")
    assert json.loads(mine.read_text())["cells"][-1]["source"] == ["my notes"]  # not overwritten by the course's copy
    assert (server.home / "01_activations.ipynb").exists()  # a notebook the student lost comes back
    assert not list(server.home.glob(".*.partial"))


@needs_proxy
def test_a_small_class_two_students_move_a_slider_each_on_their_own_kernel(hub):
    """`make bench-class` in small: two students on the hub run notebook 04's explorer through the widget protocol
    and move one slider each; each gets a new frame from their own kernel, under their own server."""
    from class_load import Student, run_class

    servers = [hub.spawn(name) for name in ("gus", "hal")]
    students = [Student(s.name, s.url, s.token) for s in servers]
    result = run_class(students, moves_per_student=1, pace=(0.0, 0.2), watch=hub.pids())
    assert [len(s.latencies_ms) for s in result.students] == [1, 1]
    assert all(ms > 0 for ms in result.latencies())
    assert len({s.server_pid for s in result.students}) == 2  # a server each: nobody shares a kernel or a server
    for student, server in zip(result.students, servers):
        cwd = Path(f"/proc/{student.server_pid}/cwd").resolve()
        assert cwd == server.home.resolve(), f"{student.name}'s kernel runs under another student's server ({cwd})"
        assert student.omp_wait_policy == "PASSIVE"
    # each move's frame came from the student's own kernel, answering that student's own message
    assert all(s.last_frame is not None and s.last_frame.parent == s.last_move_id for s in students)
    assert {"hub", "proxy", "kernels"} <= set(result.cpu_percent)


@needs_proxy
def test_an_nbgitpuller_link_hands_a_student_the_course(hub, tmp_path):
    """The link format the README gives, followed on this hub, with a local repository standing in for GitHub."""
    repo = tmp_path / "wd-course"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "notebooks" / "04_weight_decay.ipynb").write_bytes((ROOT / "notebooks" / "04_weight_decay.ipynb").read_bytes())
    git = ["git", "-C", str(repo), "-c", "user.name=course", "-c", "user.email=course@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the course"], check=True)

    link = nbgitpuller_link(hub.url, f"file://{repo}.git", notebook="04_weight_decay.ipynb")
    assert link.startswith(f"{hub.url}/hub/user-redirect/git-pull?repo=file%3A%2F%2F")
    (repo.parent / "wd-course.git").symlink_to(repo)  # served as .../wd-course.git, as GitHub's URLs end
    session, _ = sign_in(hub, "fay", hub.password)
    page = session.get(link, timeout=60)
    assert page.status_code == 200 and page.url.startswith(f"{hub.url}/user/fay/git-pull?"), page.url
    # what the page's script does next: stream the pull, then open urlpath
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))
    events = session.get(f"{hub.url}/user/fay/git-pull/api", params={k: query[k] for k in ("repo", "branch", "targetpath")},
                         stream=True, timeout=120)
    phases = [json.loads(line[len("data:"):])["phase"] for line in events.iter_lines(decode_unicode=True)
              if line.startswith("data:")]
    assert phases[-1] == "finished", phases
    opened = session.get(f"{hub.url}/user/fay/api/contents/{query['urlpath'].removeprefix('lab/tree/')}", timeout=30)
    assert opened.status_code == 200 and opened.json()["type"] == "notebook"
    assert (hub.state / "home" / "fay" / "wd-course" / "notebooks" / "04_weight_decay.ipynb").exists()


@needs_proxy
def test_stopping_the_hub_stops_every_server_and_kernel(tmp_path):
    hub = CourseHub(tmp_path).start()
    try:
        server = hub.spawn("eli")
        kernel = requests.post(f"{server.url}api/kernels", headers={"Authorization": f"token {server.token}"},
                               json={"name": "python3"}, timeout=60).json()
        running = hub.leftover_pids()
        assert any(kernel["id"] in Path(f"/proc/{pid}/cmdline").read_text() for pid in running)
    finally:
        hub.stop()
    assert [pid for pid in running if alive(pid)] == []
    assert hub.leftover_pids() == []
    assert not runtime_root(hub.state).exists()  # the students' sockets and connection files are gone too


def test_a_kept_password_is_made_once_private_and_whole(tmp_path):
    first = kept_secret(tmp_path / "state", "class-password", 9)
    assert kept_secret(tmp_path / "state", "class-password", 9) == first  # a class keeps its password across restarts
    assert len(first) == 12 and kept_secret(tmp_path / "state", "admin-password", 32) != first
    assert (tmp_path / "state" / "class-password").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["admin-password", "class-password"]


@pytest.mark.parametrize("argv, message", [
    (["serve", "--port", "0"], "--port must be in 1..65535, got 0"),
    (["serve", "--port", "70000"], "--port must be in 1..65535, got 70000"),
    (["serve", "--port", "eight"], "argument --port: invalid int value: 'eight'"),
])
def test_make_hub_refuses_a_bad_port_saying_which_and_the_range(argv, message, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "hub" / "course_hub.py"), *argv, "--state", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr
    assert not list(tmp_path.iterdir())  # nothing started, nothing written
