"""Run Galaxy's GoDocker job runner, unchanged, against a Go-Docker server.

The runner is `galaxy/jobs/runners/godocker.py` of the `galaxy-app` package (installed without its
dependencies by scripts/install-deps.sh). The rest of Galaxy is stood in for by the smallest
stand-ins its code touches: the runner base class, the job state, the job wrapper and
`galaxy.util`. Everything the runner sends and reads goes over HTTP to the server, as in Galaxy.

Usage: runner_harness.py SERVER_URL LOGIN API_KEY PROJECT WORK_ROOT VOLUME
Prints one line per scenario; exits non-zero (with the reason) on the first failure.
"""

import importlib.util
import os
import queue
import sys
import sysconfig
import time
import types
from typing import Generic, TypeVar

import requests

SERVER, LOGIN, KEY, PROJECT, WORK_ROOT, VOLUME = sys.argv[1:7]


# ---- stand-ins for the parts of Galaxy the runner imports ----

class _States:
    NEW = "new"
    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    STOPPED = "stopped"


class _Job:
    states = _States

    def __init__(self, external_id, state, command_line=""):
        self.id = 90000 + int(external_id)
        self._external_id = external_id
        self.state = state
        self.command_line = command_line

    def get_job_runner_external_id(self):
        return self._external_id


_T = TypeVar("_T")


class AsynchronousJobState:
    def __init__(self, job_wrapper=None, job_destination=None, files_dir=None, job_id=None, **_):
        self.job_wrapper = job_wrapper
        self.job_destination = job_destination
        self.files_dir = files_dir
        self.job_id = job_id
        self.running = False
        self.old_state = None
        base = os.path.join(files_dir or ".", "galaxy_%s" % job_id)
        self.output_file = base + ".o"
        self.error_file = base + ".e"
        self.exit_code_file = base + ".ec"


class AsynchronousJobRunner(Generic[_T]):
    """What the GoDocker runner uses of Galaxy's base class: its parameters, its monitor queue,
    prepare_job, _find_container and the two ways a watched job ends."""

    def __init__(self, app, nworkers, **kwargs):
        specs = kwargs.pop("runner_param_specs", {})
        self.app = app
        self.runner_params = {k: specs[k]["map"](v) for k, v in kwargs.items() if k in specs}
        self.monitor_queue = queue.Queue()
        self.finished = []
        self.failed = []

    def prepare_job(self, job_wrapper, **_):
        return True

    def _find_container(self, job_wrapper):
        return types.SimpleNamespace(container_id=job_wrapper.image)

    def mark_as_finished(self, job_state):
        self.finished.append(job_state)

    def mark_as_failed(self, job_state):
        self.failed.append(job_state)


class JobWrapper:
    def __init__(self, job_id, command_line, image, work_dir):
        self.job_id = job_id
        self.image = image
        self.working_directory = work_dir
        self.runner_command_line = command_line
        self.galaxy_virtual_env = None
        self.tool = types.SimpleNamespace(id="cat1", name="Concatenate datasets")
        self.job_destination = types.SimpleNamespace(
            params={"docker_cpu": "1", "docker_memory": "1", "godocker_volumes": VOLUME}
        )
        self.state = _States.QUEUED
        self.external_id = None
        self.failure = None

    def get_state(self):
        return self.state

    def change_state(self, state):
        self.state = state

    def set_external_id(self, external_id):
        self.external_id = external_id

    def fail(self, message, **_):
        self.failure = message


galaxy = types.ModuleType("galaxy")
galaxy.model = types.ModuleType("galaxy.model")
galaxy.model.Job = _Job
jobs = types.ModuleType("galaxy.jobs")
runners = types.ModuleType("galaxy.jobs.runners")
runners.AsynchronousJobRunner = AsynchronousJobRunner
runners.AsynchronousJobState = AsynchronousJobState
util = types.ModuleType("galaxy.util")
util.DEFAULT_SOCKET_TIMEOUT = 60
util.requests = requests
util.unicodify = str
sys.modules.update(
    {
        "galaxy": galaxy,
        "galaxy.model": galaxy.model,
        "galaxy.jobs": jobs,
        "galaxy.jobs.runners": runners,
        "galaxy.util": util,
    }
)

source = os.path.join(sysconfig.get_paths()["purelib"], "galaxy", "jobs", "runners", "godocker.py")
spec = importlib.util.spec_from_file_location("galaxy_godocker_runner", source)
godocker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(godocker)


# ---- the scenarios ----

def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def watch(runner, ajs, until, secs=90):
    """Call check_watched_item as Galaxy's monitor thread does, until `until(result)`."""
    deadline = time.time() + secs
    while time.time() < deadline:
        got = runner.check_watched_item(ajs)
        if until(got):
            return got
        time.sleep(0.2)
    fail("job %s: never reached the expected state" % ajs.job_id)


def read(path):
    with open(path) as f:
        return f.read()


params = {"godocker_master": SERVER, "user": LOGIN, "key": KEY}
if PROJECT:
    params["godocker_project"] = PROJECT
runner = godocker.GodockerJobRunner(None, 1, **params)
if not runner.auth.token:
    fail("no token from /api/1.0/authenticate")
print("login ok")

image = os.environ.get("GOD_TEST_IMAGE", "god-test/minimal:latest")


def submit(name, command):
    work = os.path.join(WORK_ROOT, name)
    os.makedirs(work, exist_ok=True)
    uid = int(os.environ["GOD_TEST_UID"])  # Galaxy's working directories belong to its user
    os.chown(work, uid, uid)
    wrapper = JobWrapper(None, command, image, work)
    runner.queue_job(wrapper)
    if wrapper.failure:
        fail("%s: queue_job failed: %s" % (name, wrapper.failure))
    ajs = runner.monitor_queue.get_nowait()
    wrapper.job_id = ajs.job_id  # what Galaxy's stop_job passes back (see below)
    return wrapper, ajs


# 1. A job that succeeds: stdout, stderr and exit code reach Galaxy's files; its output is in the
#    Galaxy working directory it ran in.
wrapper, ajs = submit("ok", "echo hello from galaxy; echo a warning >&2; echo data > out.dat")
watch(runner, ajs, lambda got: got is None)
if ajs not in runner.finished:
    fail("the finished job was not marked finished (failed: %s)" % (ajs in runner.failed))
if read(ajs.output_file) != "hello from galaxy\n":
    fail("stdout: %r" % read(ajs.output_file))
if read(ajs.error_file) != "a warning\n":
    fail("stderr: %r" % read(ajs.error_file))
if read(ajs.exit_code_file) != "0":
    fail("exit code: %r" % read(ajs.exit_code_file))
if read(os.path.join(wrapper.working_directory, "out.dat")) != "data\n":
    fail("the job's output in its working directory")
print("job %s: finished, stdout, stderr and exit code 0 collected" % ajs.job_id)

# 2. A job that fails: Galaxy gets its exit code.
wrapper, ajs = submit("fails", "echo before; exit 3")
watch(runner, ajs, lambda got: got is None)
if read(ajs.exit_code_file) != "3" or read(ajs.output_file) != "before\n":
    fail("exit 3: %r %r" % (read(ajs.exit_code_file), read(ajs.output_file)))
print("job %s: exit code 3 collected" % ajs.job_id)

# 3. A running job is seen running, then stopped by stop_job (which asks /status first). The
#    runner passes Galaxy's own job id there; the stand-in job wrapper carries ours.
wrapper, ajs = submit("stopped", "sleep 300")
watch(runner, ajs, lambda got: got is not None and wrapper.state == _States.RUNNING)
print("job %s: running" % ajs.job_id)
runner.stop_job(wrapper)
watch(runner, ajs, lambda got: got is None)
status = runner.get_task_status(ajs.job_id)
if status["status"]["primary"] != "over" or status["primary"] != "over":
    fail("after stop_job: %r" % status)
if status["secondary"] != "killed":
    fail("after stop_job: %r" % status)
print("job %s: stopped by stop_job (%s)" % (ajs.job_id, status["secondary"]))

# 4. Galaxy restarts: recover() puts a running job back under watch by its external id.
wrapper, first = submit("recovered", "sleep 1; echo recovered")
job = _Job(first.job_id, _States.RUNNING, wrapper.runner_command_line)
runner.recover(job, wrapper)
ajs = runner.monitor_queue.get_nowait()
watch(runner, ajs, lambda got: got is None)
if read(ajs.output_file) != "recovered\n":
    fail("recovered job's stdout: %r" % read(ajs.output_file))
print("job %s: recovered and collected" % ajs.job_id)
print("ALL OK")
