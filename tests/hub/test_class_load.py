"""The simulated students of the class load test (hub/class_load.py, `make bench-class`): statistics, move plans and
framing without a server; then the client against a plain Jupyter server on loopback, as it talks to a student's
server on the hub. Nothing here asserts a measured time: the benchmark reports those."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import websocket
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_binary_message,
    serialize_msg_to_ws_v1,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hub"))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import bench_class  # noqa: E402
from class_load import (  # noqa: E402
    PNG, ClassResult, Disconnected, Memory, MoveTimeout, Student, StudentResult, decode_default, decode_v1,
    encode_default, encode_v1, percentile, plan_moves, run_class,
)
from e2e_servers import BIN, ROOT_FLAG, Server  # noqa: E402
from wd_helpers.widgets.weight_decay import LAMBDA_CHOICES, LR_CHOICES  # noqa: E402


# --- statistics -------------------------------------------------------------------------------------------------------
def test_percentile_interpolates_linearly_between_order_statistics():
    # nearest rank would give 10 (p95) and 2 or 3 (p50); "lower" 4; linear: 4 + 0.8 × (10 - 4)
    assert percentile([10, 1, 4, 2, 3], 95) == pytest.approx(8.8)
    assert percentile([4, 1, 3, 2], 50) == pytest.approx(2.5)
    assert (percentile([5, 7], 0), percentile([5, 7], 100)) == (5, 7)


@pytest.mark.parametrize("values, q, message", [
    ([], 50, "at least one"), ([1.0], -1, r"q must be in \[0, 100\], got -1"), ([1.0], 101, "got 101"),
])
def test_percentile_refuses_no_values_and_q_outside_0_to_100(values, q, message):
    with pytest.raises(ValueError, match=message):
        percentile(values, q)


def student_result(name, latencies):
    memory = Memory(300.0, 250.0, 310.0)
    return StudentResult(name, latencies, setup_s=3.0, repeats=0, kernel=memory, server=memory, server_pid=1,
                         omp_wait_policy="PASSIVE")


def test_a_class_pools_every_move_and_its_worst_student_is_the_one_who_waited_most():
    steady = student_result("ada", [10.0] * 20)
    unlucky = student_result("bo", [10.0] * 19 + [500.0])
    result = ClassResult([steady, unlucky], moving_s=30.0)
    assert len(result.latencies()) == 40
    assert result.p50 == 10.0 and result.p95 == 10.0  # 39 of 40 moves took 10 ms
    assert unlucky.p95 == pytest.approx(10 + 0.05 * 490)  # rank 18.05 of 0…19
    assert result.worst_p95 == unlucky.p95 == pytest.approx(34.5)


# --- move plans -------------------------------------------------------------------------------------------------------
COUNTS = {"lambd": len(LAMBDA_CHOICES), "lr": len(LR_CHOICES)}
START = {"lambd": 0, "lr": LR_CHOICES.index(0.003)}


def test_a_student_moves_lambda_and_lr_in_turn_always_somewhere_new_after_a_pause_in_pace():
    plan = plan_moves(np.random.default_rng([0, 0]), START, COUNTS, 200, (1.0, 2.0))
    assert [m.slider for m in plan[:4]] == ["lambd", "lr", "lambd", "lr"]
    where = dict(START)
    for move in plan:
        assert move.index != where[move.slider] and 0 <= move.index < COUNTS[move.slider]
        where[move.slider] = move.index
        assert 1.0 <= move.delay_s <= 2.0
    # every value is drawn, not only a few: 200 moves reach (nearly) all 22 λ and 25 lr values
    assert len({m.index for m in plan if m.slider == "lambd"}) >= 20
    assert len({m.index for m in plan if m.slider == "lr"}) >= 22


def test_a_move_back_to_a_setting_seen_before_is_counted_as_a_repeat():
    counts = {"lambd": 2, "lr": 2}  # two values each: λ, lr, λ, lr comes back to the start, then repeats
    plan = plan_moves(np.random.default_rng(0), {"lambd": 0, "lr": 0}, counts, 6, (0.0, 0.0))
    assert [(m.slider, m.index) for m in plan] == [("lambd", 1), ("lr", 1), ("lambd", 0), ("lr", 0), ("lambd", 1),
                                                   ("lr", 1)]
    assert [m.repeat for m in plan] == [False, False, False, True, True, True]


def test_the_same_seed_plans_the_same_moves_and_each_student_plans_their_own():
    def plan(*seed):
        return plan_moves(np.random.default_rng(seed), START, COUNTS, 30, (1.0, 2.0))

    assert plan(0, 0) == plan(0, 0)
    assert plan(0, 0) != plan(0, 1) and plan(0, 0) != plan(1, 0)


# --- framing: as jupyter_server writes and reads it -------------------------------------------------------------------
MSG = {
    "header": {"msg_id": "a1", "msg_type": "comm_msg", "session": "s", "username": "ada", "version": "5.4",
               "date": "2026-01-01T00:00:00+00:00"},
    "parent_header": {"msg_id": "p0"}, "metadata": {},
    "content": {"comm_id": "c", "data": {"method": "update", "state": {"description": "weight decay λ"}}},
}


def test_v1_frames_are_read_as_jupyter_server_reads_them_and_read_as_it_writes_them():
    png = PNG + b"\x00frame"
    channel, parts = deserialize_msg_from_ws_v1(encode_v1("shell", {**MSG, "buffers": [png]}))
    assert channel == "shell"
    assert [json.loads(p) for p in parts[:4]] == [MSG["header"], MSG["parent_header"], {}, MSG["content"]]
    assert parts[4:] == [png]
    packed = [json.dumps(MSG[k]).encode() for k in ("header", "parent_header", "metadata", "content")]
    channel, msg = decode_v1(serialize_msg_to_ws_v1([*packed, png], "iopub"))
    assert channel == "iopub" and msg["content"] == MSG["content"] and msg["buffers"] == [png]


def test_default_protocol_frames_are_text_without_buffers_and_binary_with_them():
    text = encode_default("shell", {**MSG, "buffers": []})
    assert isinstance(text, str) and json.loads(text)["content"] == MSG["content"]
    binary = encode_default("shell", {**MSG, "buffers": [b"one", PNG]})
    assert deserialize_binary_message(binary)["buffers"] == [b"one", PNG]
    channel, msg = decode_default(serialize_binary_message({**MSG, "channel": "iopub", "buffers": [PNG]}))
    assert channel == "iopub" and msg["content"] == MSG["content"] and msg["buffers"] == [PNG]
    assert decode_default(text)[1]["header"] == MSG["header"]


# --- bad input --------------------------------------------------------------------------------------------------------
NOWHERE = "http://127.0.0.1:9/"  # discard port: any request would fail with a connection error, not a ValueError


@pytest.mark.parametrize("count, options, message", [
    (0, {}, r"students must hold at least 1 student \(N ≥ 1\), got 0"),
    (1, {"moves_per_student": 0}, "moves_per_student must be an integer ≥ 1, got 0"),
    (1, {"moves_per_student": 2.5}, "moves_per_student must be an integer ≥ 1, got 2.5"),
    (1, {"moves_per_student": True}, "moves_per_student must be an integer ≥ 1, got True"),
    (1, {"pace": (2.0, 1.0)},
     r"pace must be two numbers of seconds \(low, high\) with 0 ≤ low ≤ high, got \(2.0, 1.0\)"),
    (1, {"pace": (-1.0, 1.0)}, r"0 ≤ low ≤ high, got \(-1.0, 1.0\)"),
    (1, {"pace": (1.0, float("inf"))}, r"0 ≤ low ≤ high, got \(1.0, inf\)"),
    (1, {"pace": "fast"}, "0 ≤ low ≤ high, got 'fast'"),
])
def test_a_class_that_cannot_run_is_refused_before_anyone_connects(count, options, message):
    students = [Student(f"s{i}", NOWHERE, "t") for i in range(count)]
    with pytest.raises(ValueError, match=message):
        run_class(students, **options)
    assert all(s.kernel_id is None for s in students)


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "0,2"], "--sizes must be integers ≥ 1 separated by commas, got '0,2'"),
    (["--sizes", "two"], "--sizes must be integers ≥ 1 separated by commas, got 'two'"),
    (["--moves", "0"], "--moves must be an integer ≥ 1, got 0"),
])
def test_the_benchmark_refuses_bad_sizes_and_moves_before_starting_a_hub(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        bench_class.main(argv)
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_sizing_scales_the_largest_class_that_met_the_target():
    best = {"N": 8, "cpu_percent_of_a_core": {"kernels": 60.0, "servers": 4.0, "hub_and_proxy": 2.0},
            "kernel_pss_mib": {"mean": 250.0}, "server_pss_mib": {"mean": 130.0}}
    size = bench_class.sizing(best, cores=2, limit_found=True)
    assert size["students_per_core"] == 4 and size["cpu_percent_per_student"] == 8
    assert size["classes"]["30"] == {"cores": 8, "memory_gib": pytest.approx(30 * 380 / 1024)}
    assert size["classes"]["300"]["cores"] == 75
    assert not size["students_per_core_is_a_lower_bound"]
    assert bench_class.sizing(best, cores=2, limit_found=False)["students_per_core_is_a_lower_bound"]


# --- against a real server --------------------------------------------------------------------------------------------
class PlainServer(Server):
    """A plain `jupyter server` (no JupyterLab) over a copy of notebooks/: the REST and websocket API a student's
    single-user server on the hub has."""

    def launch(self):
        return self.start([
            str(BIN / "jupyter"), "server", "--no-browser", *ROOT_FLAG, "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.notebooks}",
        ], ready_path="/api/status")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = PlainServer("class-load", tmp_path_factory.mktemp("class-load"))
    try:
        yield server.launch()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ada(server):
    with Student("ada", server.url + "/", server.token) as student:
        student.open()
        student.run_explorer()
        yield student


def another(student, slider, value=None):
    """The index of ``value`` on the slider, or of the next value along (wrapping): never where it is."""
    options = student.options(slider)
    return options.index(value) if value is not None else (student.index(slider) + 1) % len(options)


def test_a_student_finds_the_explorers_sliders_with_their_own_values_and_its_canvas(ada):
    assert ada.options("lambd") == [f"{v:g}" for v in LAMBDA_CHOICES]
    assert ada.options("lr") == [f"{v:g}" for v in LR_CHOICES]
    assert (ada.options("lambd")[ada.index("lambd")], ada.options("lr")[ada.index("lr")]) == ("0", "0.003")
    assert ada.canvas.state["_model_name"] == "MPLCanvasModel"
    assert ada.setup_s == ada.open_s + ada.explorer_s and ada.explorer_s > 0


def test_a_slider_move_retrains_the_explorer_and_returns_when_its_frame_arrives(ada):
    latency = ada.move("lambd", another(ada, "lambd", "3"))
    ada.execute("assert explorer.history.lambd == 3.0, explorer.history.lambd")  # the kernel got the move
    assert latency > 0 and ada.last_frame.parent == ada.last_move_id and ada.last_frame.size > 0
    lr = another(ada, "lr")
    ada.move("lr", lr)
    ada.execute(f"assert explorer.history.lr == {LR_CHOICES[lr]!r}, explorer.history.lr")


def test_a_move_that_brings_no_frame_raises_naming_the_student_and_the_move(ada):
    kernel = ada.kernel_process()
    kernel.suspend()  # a kernel that does not answer: the move's frame cannot come
    try:
        message = r"ada: move \d+ \(weight decay λ → 0.1\) brought no frame within 0.5 s"
        with pytest.raises(MoveTimeout, match=message):
            ada.move("lambd", another(ada, "lambd", "0.1"), timeout=0.5)
    finally:
        kernel.resume()
    unanswered = ada.last_move_id
    ada.move("lambd", another(ada, "lambd", "0"))
    # that move's frame came late, and the next move was timed to its own frame, not to that one
    late = [f for f in ada.frames if f.parent == unanswered]
    assert late and ada.last_frame.parent == ada.last_move_id != unanswered
    ada.execute("assert explorer.history.lambd == 0.0, explorer.history.lambd")


@pytest.mark.parametrize("slider, index, message", [
    ("lambd", 22, r"index of 'lambd' must be an integer in \[0, 21\], got 22"),
    ("lr", -1, r"index of 'lr' must be an integer in \[0, 24\], got -1"),
    ("lambd", 1.0, r"must be an integer in \[0, 21\], got 1.0"),
    ("momentum", 1, "slider must be one of 'lambd', 'lr'"),
])
def test_a_move_off_the_slider_is_refused_naming_the_range(ada, slider, index, message):
    with pytest.raises(ValueError, match=message):
        ada.move(slider, index)


def test_a_move_to_where_the_slider_is_is_refused_it_would_redraw_nothing(ada):
    with pytest.raises(ValueError, match="must differ from where it is"):
        ada.move("lr", ada.index("lr"))


def test_a_failing_cell_raises_with_its_traceback(ada):
    with pytest.raises(RuntimeError, match=r"(?s)ada: a cell failed: ZeroDivisionError: .*1 / 0"):
        ada.execute("x = 1 / 0")


def test_kernel_memory_is_that_of_the_students_own_kernel(ada, server):
    process = ada.kernel_process()
    assert f"kernel-{ada.kernel_id}.json" in " ".join(process.cmdline())
    assert ada.server_process().pid == server.process.pid
    memory = ada.kernel_memory()
    assert 0 < memory.pss_mb <= memory.rss_mb <= memory.peak_mb
    # the explorer's kernel holds torch and matplotlib: far more than an idle Python
    assert memory.rss_mb > 100


def test_a_server_that_hangs_up_is_reported_as_a_disconnection_naming_the_student(server):
    with Student("jo", server.url + "/", server.token, session_path="jo/04_weight_decay.ipynb") as jo:
        jo.open()
        # a second connection of the same page session: the server closes the first as stale
        url = f"ws://127.0.0.1:{server.port}/api/kernels/{jo.kernel_id}/channels?session_id={jo.client_session}"
        second = websocket.create_connection(url, header=[f"Authorization: token {server.token}"], timeout=60)
        try:
            with pytest.raises(Disconnected, match=r"jo: the (connection to the kernel failed: .*the server closed|"
                                                   r"websocket to the kernel is closed)"):
                jo._reader.join(timeout=30)  # the reader ends when the server's close arrives
                jo.execute("1 + 1")
        finally:
            second.close()


def test_a_kernel_that_dies_fails_the_wait_at_once_naming_the_student(server):
    """A kernel killed mid-class (out of memory, say): the server restarts it and says so; the student waiting for a
    reply fails then, not after their timeout."""
    with Student("di", server.url + "/", server.token, session_path="di/04_weight_decay.ipynb", timeout=60) as di:
        di.open()
        di.kernel_process().kill()
        # without the server's report this would end in a TimeoutError after 60 s, not in Disconnected
        with pytest.raises(Disconnected, match=r"di: .*the kernel died \(the server reports it restarting\)"):
            di.execute("1 + 1")


def test_closing_leaves_no_kernel_even_when_the_notebook_could_not_run(server):
    student = Student("cy", server.url + "/", server.token, notebook="missing.ipynb")
    student.open()
    kernel = student.kernel_process()
    with pytest.raises(Exception, match="404"):
        student.run_explorer()
    student.close()
    assert not psutil.pid_exists(kernel.pid) or kernel.status() == psutil.STATUS_ZOMBIE
    assert all(k["id"] != student.kernel_id for k in server.api("/api/kernels"))
    student.close()  # again: nothing to do, no error


def test_a_class_of_two_moves_together_and_every_kernel_is_shut_down(server, ada):
    before = {k["id"] for k in server.api("/api/kernels")}
    students = [Student(name, server.url + "/", server.token, session_path=f"{name}/04_weight_decay.ipynb")
                for name in ("dee", "eli")]
    result = run_class(students, moves_per_student=3, pace=(0.0, 0.1), watch={"pytest": psutil.Process().pid})
    assert [s.name for s in result.students] == ["dee", "eli"]
    assert [len(s.latencies_ms) for s in result.students] == [3, 3]
    assert all(s.setup_s > 0 and 0 < s.kernel.pss_mb <= s.kernel.rss_mb for s in result.students)
    assert {s.server_pid for s in result.students} == {server.process.pid}  # a plain server: one for all
    assert set(result.cpu_percent) == {"kernels", "servers", "pytest"}
    assert result.cpu_percent["kernels"] > 0
    time.sleep(0.2)
    assert {k["id"] for k in server.api("/api/kernels")} == before  # theirs gone, ada's still there


def test_students_who_would_share_a_kernel_are_refused_and_it_is_shut_down(server):
    with Student("gil", server.url + "/", server.token, session_path="gil/04_weight_decay.ipynb") as gil:
        gil.open()  # a session for that path exists: whoever opens it again gets gil's kernel
        twins = [Student(name, server.url + "/", server.token, session_path="gil/04_weight_decay.ipynb")
                 for name in ("hal", "ivy")]
        with pytest.raises(RuntimeError, match="students share a kernel"):
            run_class(twins, moves_per_student=1, pace=(0.0, 0.0))
        assert all(k["id"] != gil.kernel_id for k in server.api("/api/kernels"))
