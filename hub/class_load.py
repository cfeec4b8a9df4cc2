"""Simulated students for a class load test: each opens notebook 04 on their own server, runs its explorer and moves
its sliders, talking to the server as JupyterLab's front-end does; the class runner times every move.

    student = Student("alice", "http://127.0.0.1:8000/user/alice/", token)
    result = run_class([student, ...], moves_per_student=30)      # opens, explores, measures, closes
    result.p95, result.worst_p95, result.students[0].kernel.pss_mb

The wire, as JupyterLab 4 speaks it:

- REST (``Authorization: token …``): ``POST api/sessions`` starts the notebook's kernel, ``GET api/contents`` reads
  the student's own copy of the notebook, ``DELETE api/sessions/<id>`` shuts the kernel down.
- ``api/kernels/<id>/channels``, a websocket: the jupyter protocol in the binary frames of the
  ``v1.kernel.websocket.jupyter.org`` subprotocol (JupyterLab asks for it; ``encode_v1``/``decode_v1``), or, if
  the server does not choose it, the default protocol (JSON text frames; binary ones for messages with buffers).
- ipywidgets' protocol 2.1: a slider moved on the page is ``{"method": "update", "state": {"index": i},
  "buffer_paths": []}`` on its comm.
- ipympl's canvas (jupyter-matplotlib's MPLCanvasModel, read from its labextension): when the page creates the model
  it sends ``refresh``, ``send_image_mode`` and ``initialized`` (first ``set_dpi_ratio``/``set_device_pixel_ratio`` on
  screens whose pixel ratio is not 1: not sent here); it answers the kernel's ``draw`` with ``draw`` (unless it is
  still waiting for an image) and ``resize`` with ``refresh``; a frame is a ``{"type": "binary"}`` message whose
  buffer is a PNG. None of these is needed for frames to come (measured): ipympl's canvas sends frames from its
  creation, the explorer's first during its own cell, then one per redraw, unasked. The page's messages still cost
  the kernel two more full draws after the cell (``refresh`` → ``draw``; ``initialized`` → ``resize`` → ``refresh``
  → ``draw``), as a real page does; those frames can arrive after the first move is sent, so a move is timed to
  the first frame whose parent header is the move's own message.
"""

import json
import math
import re
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import pairwise

import numpy as np
import psutil
import websocket

NOTEBOOK = "04_weight_decay.ipynb"
EXPLORER_CELL = re.compile(r"^explorer\s*=\s*weight_decay_explorer\(", re.MULTILINE)
SLIDERS = {"lambd": "weight decay λ", "lr": "learning rate"}  # our names → the descriptions on the page
PROTOCOL_V1 = "v1.kernel.websocket.jupyter.org"
PNG = b"\x89PNG\r\n\x1a\n"
CANVAS_HELLO = ("refresh", "send_image_mode", "initialized")  # MPLCanvasModel.send_initialization_message, ratio 1
MIB = 2**20
CONNECT_ATTEMPTS = 3
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- the websocket's framing -----------------------------------------------------------------------------------------
def encode_v1(channel: str, msg: dict) -> bytes:
    """A message as a v1 binary frame: the number of offsets, the offsets (each 8 bytes, little-endian), then the
    channel name, header, parent header, metadata, content (JSON) and the buffers (jupyter_server's
    serialize_msg_to_ws_v1)."""
    parts = [json.dumps(msg[key]).encode() for key in ("header", "parent_header", "metadata", "content")]
    parts = [channel.encode(), *parts, *msg.get("buffers", [])]
    offsets = [8 * (len(parts) + 2)]  # the count and one offset per part, plus the end
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return b"".join([len(offsets).to_bytes(8, "little"), *(o.to_bytes(8, "little") for o in offsets), *parts])


def decode_v1(frame: bytes) -> tuple[str, dict]:
    """(channel, message) of a v1 binary frame; the message's buffers as bytes."""
    count = int.from_bytes(frame[:8], "little")
    offsets = [int.from_bytes(frame[8 * (i + 1): 8 * (i + 2)], "little") for i in range(count)]
    parts = [frame[start:stop] for start, stop in pairwise(offsets)]
    msg = dict(zip(("header", "parent_header", "metadata", "content"), (json.loads(p) for p in parts[1:5])))
    msg["buffers"] = parts[5:]
    return parts[0].decode(), msg


def encode_default(channel: str, msg: dict) -> str | bytes:
    """A message in the default protocol: JSON text, or, with buffers, jupyter_server's serialize_binary_message
    (the number of parts, their offsets as 4-byte big-endian integers, the JSON, the buffers)."""
    buffers = list(msg.get("buffers", []))
    text = json.dumps({**{k: v for k, v in msg.items() if k != "buffers"}, "channel": channel})
    if not buffers:
        return text
    parts = [text.encode(), *buffers]
    offsets = [4 * (len(parts) + 1)]
    for part in parts[:-1]:
        offsets.append(offsets[-1] + len(part))
    return struct.pack(f"!{len(parts) + 1}I", len(parts), *offsets) + b"".join(parts)


def decode_default(frame: str | bytes) -> tuple[str, dict]:
    """(channel, message) of a default-protocol frame (a text frame, or a binary one: a message with buffers)."""
    if isinstance(frame, str):
        msg = json.loads(frame)
        msg["buffers"] = []
    else:
        count = struct.unpack("!I", frame[:4])[0]
        offsets = [*struct.unpack(f"!{count}I", frame[4: 4 * (count + 1)]), len(frame)]
        parts = [frame[start:stop] for start, stop in pairwise(offsets)]
        msg = json.loads(parts[0])
        msg["buffers"] = parts[1:]
    return msg.pop("channel"), msg


# --- statistics ------------------------------------------------------------------------------------------------------
def percentile(values, q: float) -> float:
    """The q-th percentile by numpy's default definition, linear interpolation between order statistics
    (Hyndman & Fan type 7): at rank h = (n - 1) q / 100, x[⌊h⌋] + (h - ⌊h⌋)(x[⌊h⌋ + 1] - x[⌊h⌋]).
    Of 1, 2, 3, 4, 10 the 95th is 8.8 (nearest rank would say 10)."""
    values = list(values)
    if not values:
        raise ValueError("percentile of no values: at least one is needed")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    return float(np.percentile(values, q))


@dataclass(frozen=True)
class Memory:
    """A process's memory in MiB: resident (RSS), its fair share of pages shared with others (PSS), peak resident."""

    rss_mb: float
    pss_mb: float
    peak_mb: float


def memory_of(process: psutil.Process) -> Memory:
    full = process.memory_full_info()  # PSS: from /proc/<pid>/smaps_rollup
    with open(f"/proc/{process.pid}/status") as status:  # the peak (VmHWM), which psutil does not give
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    return Memory(full.rss / MIB, full.pss / MIB, peak / MIB)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process so far (0 once it is gone)."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


# --- a student -------------------------------------------------------------------------------------------------------
class MoveTimeout(RuntimeError):
    """A slider move that brought no new frame in time."""


class Disconnected(ConnectionError):
    """The websocket to the kernel closed (the server hung up, or the connection broke)."""


@dataclass
class Model:
    """A widget model the kernel opened: its comm and its state as the page keeps it."""

    comm_id: str
    state: dict


@dataclass
class Frame:
    arrived: float  # time.perf_counter() when the reader received it
    parent: str  # msg_id of the message the kernel was handling when it sent the frame
    size: int


class Student:
    """One student with notebook 04 open on their own server: ``open``, ``run_explorer``, ``move`` …, ``close``."""

    def __init__(self, name: str, base_url: str, token: str, *, notebook: str = NOTEBOOK,
                 session_path: str | None = None, kernel_name: str = "python3", timeout: float = 120.0):
        self.name, self.token, self.notebook, self.kernel_name = name, token, notebook, kernel_name
        # a server keeps one session per path: students sharing a server (not on the hub) need paths of their own,
        # or they would all get the first one's kernel
        self.session_path = session_path or notebook
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout  # seconds for a request, a cell, the first frame
        self.session_id = self.kernel_id = None
        self.client_session = uuid.uuid4().hex  # the page's own session id, in every message header
        self.open_s = self.explorer_s = None
        self.sliders: dict[str, Model] = {}
        self.canvas: Model | None = None
        self.moves = 0
        self.reconnects = 0  # websockets the server closed while the student opened the notebook
        self._ws = self._reader = self._process = None
        self._v1 = True
        self._changed = threading.Condition()  # the reader notifies it after every message
        self._models: dict[str, Model] = {}
        self.frames: list[Frame] = []  # every frame received, in order
        self.last_move_id: str | None = None  # msg_id of the last move's message
        self.last_frame: Frame | None = None  # the frame that move was timed to
        self._replies: dict[str, dict] = {}  # shell replies by the msg_id they answer
        self._idle: set[str] = set()  # msg_ids whose iopub "idle" arrived: all their output is in
        self._awaiting_image = False
        self._reader_error: BaseException | None = None

    def __repr__(self):
        return f"Student({self.name!r}, kernel {self.kernel_id})"

    @property
    def setup_s(self) -> float | None:
        """Seconds from opening the notebook to the explorer's first frame (session, kernel, both cells)."""
        return None if self.explorer_s is None else self.open_s + self.explorer_s

    # --- REST ---------------------------------------------------------------------------------------------------------
    def _rest(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            self.base_url + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    # --- open, run, move, close ---------------------------------------------------------------------------------------
    def open(self) -> "Student":
        """Start the notebook's kernel (a session, as opening the notebook does) and connect to it."""
        start = time.perf_counter()
        session = self._rest("POST", "api/sessions", {
            "path": self.session_path, "name": self.notebook, "type": "notebook", "kernel": {"name": self.kernel_name}})
        self.session_id, self.kernel_id = session["id"], session["kernel"]["id"]
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                self._connect()
                self._wait_reply(self._send("shell", "kernel_info_request", {}), "kernel_info_request")
                break
            except Disconnected:
                # JupyterLab reconnects a kernel's websocket that the server closes (with a back-off); so does a
                # student, counted: once seen at 16 students beside a busy core, as the kernels started
                self._disconnect()
                if attempt == CONNECT_ATTEMPTS:
                    raise
                self.reconnects += 1
                time.sleep(attempt)
        self.open_s = time.perf_counter() - start
        return self

    def _connect(self):
        url = urllib.parse.urlsplit(self.base_url)
        ws_url = urllib.parse.urlunsplit((
            "wss" if url.scheme == "https" else "ws", url.netloc,
            f"{url.path}api/kernels/{self.kernel_id}/channels", f"session_id={self.client_session}", ""))
        self._reader_error = None
        self._ws = websocket.create_connection(
            ws_url, header=[f"Authorization: token {self.token}"], subprotocols=[PROTOCOL_V1], timeout=self.timeout)
        self._v1 = self._ws.getsubprotocol() == PROTOCOL_V1
        self._ws.settimeout(None)  # the reader waits for as long as the kernel is quiet
        self._reader = threading.Thread(target=self._read, args=(self._ws,), name=f"{self.name}-reader", daemon=True)
        self._reader.start()

    def _disconnect(self):
        ws, self._ws = self._ws, None  # None first: the reader takes the error it is about to get as the end
        if ws is not None:
            ws.abort()  # wakes the reader, which is blocked in recv
            ws.shutdown()
            self._reader.join(timeout=10)

    def execute(self, code: str) -> dict:
        """Run ``code`` in the kernel as a cell; its execute_reply once all its output is in. A failing cell raises
        a RuntimeError with its traceback."""
        msg_id = self._send("shell", "execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False,
            "stop_on_error": True})
        reply = self._wait_reply(msg_id, "cell")
        self._wait(lambda: msg_id in self._idle, f"the output of a cell ({self.timeout} s)")
        if reply["status"] != "ok":
            trace = ANSI.sub("", "\n".join(reply.get("traceback", [])))
            raise RuntimeError(f"{self.name}: a cell failed: {reply.get('ename')}: {reply.get('evalue')}\n"
                               f"{trace}\n--- the cell:\n{code}")
        return reply

    def run_explorer(self) -> float:
        """Run the notebook's first code cell and the one that builds the explorer (as read from the student's copy
        on the server), find its sliders and canvas, wait for its first frame. The seconds it took."""
        start = time.perf_counter()
        content = self._rest("GET", f"api/contents/{urllib.parse.quote(self.notebook)}?content=1&type=notebook")
        cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                 for c in content["content"]["cells"] if c["cell_type"] == "code"]
        builds = [cell for cell in cells if EXPLORER_CELL.search(cell)]
        if not cells or not builds:
            raise RuntimeError(f"{self.name}: {self.notebook} has no cell matching {EXPLORER_CELL.pattern!r}")
        frames = len(self.frames)
        self.execute(cells[0])
        self.execute(builds[0])
        with self._changed:
            described = {m.state.get("description"): m for m in self._models.values()}
            canvases = [m for m in self._models.values() if m.state.get("_model_name") == "MPLCanvasModel"]
        missing = [d for d in SLIDERS.values() if d not in described] + ([] if canvases else ["an MPLCanvasModel"])
        if missing:
            raise RuntimeError(f"{self.name}: the explorer opened no {', '.join(map(repr, missing))}: its widgets are "
                               f"{sorted(str(m.state.get('_model_name')) for m in self._models.values())}")
        self.sliders = {name: described[description] for name, description in SLIDERS.items()}
        self.canvas = canvases[-1]
        self._wait(lambda: any(f.size for f in self.frames[frames:]), f"the explorer's first frame ({self.timeout} s)")
        self.explorer_s = time.perf_counter() - start
        return self.explorer_s

    def options(self, slider: str) -> list[str]:
        """The labels of a slider's values, in order (its index runs over them)."""
        return list(self._slider(slider).state["_options_labels"])

    def index(self, slider: str) -> int:
        return self._slider(slider).state["index"]

    def move(self, slider: str, index: int, *, timeout: float = 60.0) -> float:
        """Move a slider to ``index`` as the page does; the milliseconds from sending that to the arrival of the
        next full frame on the canvas that the move caused. Raises MoveTimeout after ``timeout`` seconds."""
        model = self._slider(slider)
        count = len(model.state["_options_labels"])
        if not (isinstance(index, int | np.integer) and 0 <= index < count):
            raise ValueError(f"index of {slider!r} must be an integer in [0, {count - 1}], got {index!r}")
        if index == model.state["index"]:  # a slider that does not move sends nothing, and nothing redraws
            raise ValueError(f"index of {slider!r} must differ from where it is ({index}): a move changes it")
        self.moves += 1
        with self._changed:
            first = len(self.frames)
        sent = time.perf_counter()
        msg_id = self.last_move_id = self._send("shell", "comm_msg", {"comm_id": model.comm_id, "data": {
            "method": "update", "state": {"index": int(index)}, "buffer_paths": []}})
        model.state["index"] = int(index)  # the page's model changes as it sends
        try:
            frame = self._wait(lambda: next((f for f in self.frames[first:] if f.parent == msg_id and f.size), None),
                               "", timeout=timeout)
        except TimeoutError:
            label = model.state["_options_labels"][index]
            raise MoveTimeout(f"{self.name}: move {self.moves} ({SLIDERS.get(slider, slider)} → {label}) brought no "
                              f"frame within {timeout} s") from None
        self.last_frame = frame
        return 1000 * (frame.arrived - sent)

    def kernel_process(self) -> psutil.Process:
        """The kernel's process: the one whose command line names its connection file, kernel-<id>.json."""
        if self._process is None or not self._process.is_running():
            wanted = f"kernel-{self.kernel_id}.json"
            self._process = next((p for p in psutil.process_iter(["cmdline"])
                                  if any(wanted in arg for arg in p.info["cmdline"] or ())), None)
            if self._process is None:
                raise RuntimeError(f"{self.name}: no process on this machine runs kernel {self.kernel_id}")
        return self._process

    def kernel_memory(self) -> Memory:
        """RSS, PSS and peak RSS of this student's kernel, in MiB. PSS splits shared pages (libraries mapped by every
        kernel) among the processes that map them: the fair figure for how many kernels fit."""
        return memory_of(self.kernel_process())

    def server_process(self) -> psutil.Process:
        """The server that started the kernel (its parent): on the hub, this student's own single-user server."""
        return self.kernel_process().parent()

    def close(self) -> None:
        """Shut the kernel down (delete the session) and disconnect; idempotent, and it tries every step whatever
        failed before: as a last resort the kernel's process is killed, so that no kernel is left behind."""
        self._disconnect()
        if self.kernel_id is None:
            return
        try:
            self._rest("DELETE", f"api/sessions/{self.session_id}")
        except (urllib.error.URLError, OSError):
            try:
                self._rest("DELETE", f"api/kernels/{self.kernel_id}")
            except (urllib.error.URLError, OSError):
                pass
        try:
            process = self.kernel_process()
        except RuntimeError:
            process = None  # gone (or never on this machine)
        if process is not None:
            try:
                process.wait(timeout=10)
            except psutil.TimeoutExpired:
                process.kill()
        self.kernel_id = self.session_id = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the wire -----------------------------------------------------------------------------------------------------
    def _slider(self, slider: str) -> Model:
        if slider not in self.sliders:
            raise ValueError(f"slider must be one of {', '.join(map(repr, SLIDERS))} (after run_explorer), "
                             f"got {slider!r}")
        return self.sliders[slider]

    def _send(self, channel: str, msg_type: str, content: dict) -> str:
        header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": self.name,
                  "session": self.client_session, "date": datetime.now(timezone.utc).isoformat(), "version": "5.4"}
        msg = {"header": header, "parent_header": {}, "metadata": {}, "content": content, "buffers": []}
        ws = self._ws
        if ws is None:
            raise RuntimeError(f"{self.name}: not connected (open() first; closed students stay closed)")
        frame = encode_v1(channel, msg) if self._v1 else encode_default(channel, msg)
        try:
            ws.send_binary(frame) if isinstance(frame, bytes) else ws.send(frame)
        except (websocket.WebSocketException, OSError) as error:
            raise Disconnected(f"{self.name}: the websocket to the kernel is closed: {error!r}") from error
        return header["msg_id"]

    def _comm(self, comm_id: str, content: dict) -> None:
        """A custom message from a model to its kernel object (what ipympl's model.send does)."""
        self._send("shell", "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}})

    def _read(self, ws: websocket.WebSocket):
        """The reader thread: every message from the kernel, kept as the page keeps it."""
        try:
            while True:
                opcode, frame = ws.recv_data()
                arrived = time.perf_counter()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    if self._ws is not None:  # not our own close(): the server hung up
                        status = f" (status {int.from_bytes(frame[:2], 'big')} {frame[2:].decode(errors='replace')})"
                        self._reader_error = ConnectionError(
                            f"the server closed the websocket{status if frame else ''}")
                    return
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    frame = frame.decode()
                channel, msg = decode_v1(frame) if self._v1 else decode_default(frame)
                with self._changed:
                    self._handle(channel, msg, arrived)
                    self._changed.notify_all()
        except (websocket.WebSocketException, OSError) as error:
            if self._ws is not None:
                self._reader_error = error
        except BaseException as error:  # noqa: BLE001 - a waiter must hear of it, not hang
            self._reader_error = error
        finally:
            with self._changed:
                self._changed.notify_all()

    def _handle(self, channel: str, msg: dict, arrived: float):
        kind, content = msg["header"]["msg_type"], msg["content"]
        parent = (msg.get("parent_header") or {}).get("msg_id", "")
        if channel == "shell" and kind.endswith("_reply"):
            self._replies[parent] = content
        elif kind == "status" and content["execution_state"] == "idle":
            self._idle.add(parent)
        elif kind == "status" and content["execution_state"] in ("restarting", "dead"):
            # the kernel died (JupyterLab says "kernel restarting"): its explorer is gone, so whoever waits fails now,
            # not after their timeout
            self._reader_error = RuntimeError(f"the kernel died (the server reports it {content['execution_state']})")
        elif kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            model = Model(content["comm_id"], dict(content["data"]["state"]))
            self._models[model.comm_id] = model
            if model.state.get("_model_name") == "MPLCanvasModel":
                for message in CANVAS_HELLO:
                    self._comm(model.comm_id, {"type": message})
        elif kind == "comm_msg" and content["comm_id"] in self._models:
            model, data = self._models[content["comm_id"]], content["data"]
            if data["method"] in ("update", "echo_update"):
                model.state.update(data["state"])
            elif data["method"] == "custom" and model.state.get("_model_name") == "MPLCanvasModel":
                self._canvas_message(model, json.loads(data["content"]["data"]), msg["buffers"], arrived, parent)
        elif kind == "comm_close":
            self._models.pop(content["comm_id"], None)

    def _canvas_message(self, model: Model, message: dict, buffers: list, arrived: float, parent: str):
        """What jupyter-matplotlib's model does with a message from the kernel (only what makes frames come)."""
        if message["type"] == "binary":
            self._awaiting_image = False
            full = bool(buffers) and buffers[0][:8] == PNG and model.state.get("_image_mode", "full") == "full"
            self.frames.append(Frame(arrived, parent, len(buffers[0]) if full else 0))
        elif message["type"] == "draw" and not self._awaiting_image:
            self._awaiting_image = True
            self._comm(model.comm_id, {"type": "draw"})
        elif message["type"] == "resize":
            self._comm(model.comm_id, {"type": "refresh"})

    def _wait(self, condition, what: str, *, timeout: float | None = None):
        """Wait until ``condition()`` (called under the lock) is true; its value. TimeoutError naming ``what``."""
        with self._changed:
            value = self._changed.wait_for(lambda: condition() or self._reader_error,
                                            self.timeout if timeout is None else timeout)
            if self._reader_error is not None:
                raise Disconnected(f"{self.name}: the connection to the kernel failed: {self._reader_error!r}")
        if not value:
            raise TimeoutError(f"{self.name}: no {what}")
        return value

    def _wait_reply(self, msg_id: str, what: str) -> dict:
        return self._wait(lambda: self._replies.get(msg_id), f"reply to the {what} within {self.timeout} s")


# --- the class -------------------------------------------------------------------------------------------------------
@dataclass
class StudentResult:
    """One student's figures: every move's latency, setup, memory after the moves."""

    name: str
    latencies_ms: list[float]
    setup_s: float
    repeats: int  # moves to a setting (λ, lr) the student had seen: the explorer redraws it from its cache
    kernel: Memory
    server: Memory  # the server the kernel runs under (on the hub: this student's single-user server)
    server_pid: int
    omp_wait_policy: str | None  # in the kernel's environment: PASSIVE keeps a busy core from slowing it (Makefile)
    reconnects: int = 0

    @property
    def p95(self) -> float:
        return percentile(self.latencies_ms, 95)


@dataclass
class ClassResult:
    """What a class did: per student figures, and CPU over the moving window (% of one core: 100 = a core)."""

    students: list[StudentResult]
    moving_s: float
    cpu_percent: dict[str, float] = field(default_factory=dict)  # "kernels", "servers", and each watched process

    def latencies(self) -> list[float]:
        return [ms for student in self.students for ms in student.latencies_ms]

    @property
    def p50(self) -> float:
        """Median of every move of every student (pooled; numpy's linear percentile, see ``percentile``)."""
        return percentile(self.latencies(), 50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies(), 95)

    @property
    def worst_p95(self) -> float:
        """The 95th percentile of the student who waited most: a class is as good as its worst-off student."""
        return max(student.p95 for student in self.students)


def check_class(students: list, moves_per_student: int, pace) -> tuple[float, float]:
    """Refuse a class that cannot run, naming the argument and what it accepts; the pace as two floats."""
    if len(students) < 1:
        raise ValueError(f"students must hold at least 1 student (N ≥ 1), got {len(students)}")
    if isinstance(moves_per_student, bool) or not isinstance(moves_per_student, int) or moves_per_student < 1:
        raise ValueError(f"moves_per_student must be an integer ≥ 1, got {moves_per_student!r}")
    try:
        low, high = (float(x) for x in pace)
    except (TypeError, ValueError):
        low = high = math.nan
    if not 0 <= low <= high < math.inf:
        raise ValueError(f"pace must be two numbers of seconds (low, high) with 0 ≤ low ≤ high, got {pace!r}")
    return low, high


@dataclass(frozen=True)
class Move:
    delay_s: float  # the student's pause after the last redraw
    slider: str
    index: int
    repeat: bool  # the setting (λ, lr) after it was shown before: the explorer redraws it from its cache


def plan_moves(rng: np.random.Generator, start: dict[str, int], counts: dict[str, int], moves: int,
               pace: tuple[float, float]) -> list[Move]:
    """A student's moves: λ, lr, λ, … each to one of its slider's values other than the current one (uniformly:
    a student exploring tries new values as often as old ones), each after a pause drawn from U(pace).
    ``start``: the sliders' indices at first; ``counts``: how many values each has."""
    index = dict(start)
    seen = {(index["lambd"], index["lr"])}
    plan = []
    for number in range(moves):
        slider = ("lambd", "lr")[number % 2]
        delay = float(rng.uniform(*pace))
        step = int(rng.integers(1, counts[slider]))  # 1 … count-1 places on, around: never where it is
        index[slider] = (index[slider] + step) % counts[slider]
        setting = (index["lambd"], index["lr"])
        plan.append(Move(delay, slider, index[slider], setting in seen))
        seen.add(setting)
    return plan


def run_class(students, *, moves_per_student: int = 30, pace=(1.0, 2.0), seed: int = 0, move_timeout: float = 60.0,
              watch: dict[str, int] | None = None) -> ClassResult:
    """A class: the students open the notebook and run the explorer all at once (as a class arrives), then, from a
    common start, each makes the moves of ``plan_moves`` (its own generator, seeded by ``seed`` and its place in the
    class). The students are closed at the end, whatever happened; the first failure is raised (the others as its
    notes), and one student's failure stops the others.

    ``watch``: other processes (name → pid, e.g. the hub and its proxy) whose CPU over the moving window to report.
    """
    students = list(students)
    pace = check_class(students, moves_per_student, pace)
    latencies: dict[str, list[float]] = {s.name: [] for s in students}
    plans: dict[str, list[Move]] = {}
    try:
        _together(students, lambda student, _: (student.open(), student.run_explorer()))
        if len({s.kernel_id for s in students}) < len(students):
            raise RuntimeError("students share a kernel (one server, one notebook path): give each a session_path")
        for number, s in enumerate(students):
            plans[s.name] = plan_moves(np.random.default_rng([seed, number]), {k: s.index(k) for k in SLIDERS},
                                       {k: len(s.options(k)) for k in SLIDERS}, moves_per_student, pace)
        pids = {"kernels": {s.kernel_process().pid for s in students},
                "servers": {s.server_process().pid for s in students},
                **{name: {pid} for name, pid in (watch or {}).items()}}
        stop = threading.Event()  # set by a student who failed: the others stop too
        barrier = threading.Barrier(len(students))

        def explore(student, _):
            barrier.wait()
            for move in plans[student.name]:
                if stop.wait(move.delay_s):
                    return
                try:
                    latencies[student.name].append(student.move(move.slider, move.index, timeout=move_timeout))
                except BaseException:
                    stop.set()
                    raise

        before = {name: sum(cpu_seconds(pid) for pid in group) for name, group in pids.items()}
        start = time.perf_counter()
        _together(students, explore)
        moving_s = time.perf_counter() - start
        cpu = {name: 100 * (sum(cpu_seconds(pid) for pid in group) - before[name]) / moving_s
               for name, group in pids.items()}
        return ClassResult([
            StudentResult(s.name, latencies[s.name], setup_s=s.setup_s,
                          repeats=sum(m.repeat for m in plans[s.name]), kernel=s.kernel_memory(),
                          server=memory_of(s.server_process()), server_pid=s.server_process().pid,
                          omp_wait_policy=s.kernel_process().environ().get("OMP_WAIT_POLICY"), reconnects=s.reconnects)
            for s in students], moving_s, cpu)
    finally:
        _together(students, lambda student, _: student.close(), raise_first=False)


def _together(students: list, action, *, raise_first: bool = True) -> None:
    """``action(student, number)`` for every student at once, one thread each; then the first failure, if any,
    raised with the others as its notes."""
    failures = []

    def run(student, number):
        try:
            action(student, number)
        except BaseException as error:  # noqa: BLE001 - re-raised below, in the caller's thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(s, i), name=f"class-{s.name}") for i, s in enumerate(students)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures and raise_first:
        first = failures[0]
        for other in failures[1:]:
            first.add_note(f"also: {type(other).__name__}: {other}")
        raise first
