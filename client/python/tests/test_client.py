"""lrsched.Client and lrsched.WorkerSchedule against a real server: every
RPC, deadlines, the C++ client's retry policy, errors with the server's code
and message, and the look-ahead window's RPC count."""

from __future__ import annotations

import json
import threading
import time

import grpc
import pytest

import lrsched
from conftest import ServerProcess
from lrsched.v1 import scheduler_service_pb2 as service_pb2

PLATEAU = {"reduce_lr_on_plateau": {"patience": 0, "factor": 0.5}}


def test_service_config_is_the_cpp_clients():
    # client/client.cc's ServiceConfigJson() with the default ClientOptions.
    assert lrsched.service_config_json() == (
        '{"methodConfig": [{"name": [{"service": "lrsched.v1.SchedulerService"}], '
        '"retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.100s", "maxBackoff": "2.000s", '
        '"backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}')
    config = json.loads(lrsched.service_config_json(max_attempts=9, initial_backoff=0.25))
    assert config["methodConfig"][0]["retryPolicy"]["maxAttempts"] == 5
    assert config["methodConfig"][0]["retryPolicy"]["initialBackoff"] == "0.250s"


def test_every_rpc(server):
    client = lrsched.Client(server.target)
    job = client.create_job(job_id="rpcs", spec=PLATEAU, base_lrs=[0.1, 0.2], world_size=2)
    assert job.job_id == "rpcs" and list(job.base_lrs) == [0.1, 0.2]
    # Idempotent: the same request again returns the job.
    again = client.create_job(service_pb2.CreateJobRequest(
        job_id="rpcs", spec=lrsched.to_spec(PLATEAU), base_lrs=[0.1, 0.2], world_size=2))
    assert again.create_time == job.create_time
    assert client.get_job("rpcs").world_size == 2
    assert [j.job_id for j in client.list_jobs(page_size=1000).jobs].count("rpcs") == 1

    values = client.step("rpcs", 0, 0, look_ahead=10).values
    assert [(v.step, list(v.lrs)) for v in values] == [(0, [0.1, 0.2])]  # step 1 undecided
    assert not client.report_metric(job_id="rpcs", rank=0, step=0, value=1.0).aggregated
    decided = client.report_metric(job_id="rpcs", rank=1, step=0, value=3.0)
    assert decided.aggregated and decided.decision.value == 2.0

    override = client.set_learning_rate(job_id="rpcs", step=1, factor=0.5).override
    assert override.effective_step >= 1
    assert client.set_world_size("rpcs", 1).world_size == 1
    preview = client.preview_schedule(spec={"step_lr": {"step_size": 2, "gamma": 0.5}},
                                      base_lrs=[1.0], steps=4)
    assert [v.lrs[0] for v in preview.values] == [1.0, 1.0, 0.5, 0.5, 0.25]

    events = client.watch_job("rpcs", timeout=10)
    first = next(events)
    events.close()
    assert first.sequence == 1 and first.WhichOneof("kind") == "created"

    client.delete_job("rpcs")
    with pytest.raises(lrsched.NotFoundError) as error:
        client.get_job("rpcs")
    assert error.value.code == grpc.StatusCode.NOT_FOUND and "rpcs" in error.value.details


def test_errors_carry_code_and_server_message(server):
    client = lrsched.Client(server.target)
    with pytest.raises(lrsched.InvalidArgumentError) as error:
        client.create_job(job_id="bad", spec={"step_lr": {"step_size": 0}}, base_lrs=[0.1])
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.step_lr.step_size" in error.value.details
    assert str(error.value).startswith("CreateJob: INVALID_ARGUMENT: spec.step_lr.step_size")
    with pytest.raises(ValueError, match="spec: not a lrsched.v1.SchedulerSpec"):
        client.create_job(job_id="bad", spec={"no_such_scheduler": {}}, base_lrs=[0.1])


def test_a_step_waits_within_its_deadline_then_gives_up(server):
    client = lrsched.Client(server.target, give_up_after=0.6)
    client.create_job(job_id="deadline", spec=PLATEAU, base_lrs=[0.1])
    started = time.monotonic()
    # Step 1 waits for the metric of step 0, which never comes: each attempt
    # ends at its deadline and is asked again, until give_up_after.
    with pytest.raises(lrsched.UnavailableError) as error:
        client.step("deadline", 0, 1, timeout=0.2)
    assert time.monotonic() - started >= 0.6
    assert error.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert server.target in str(error.value)


def test_calls_ride_out_a_server_restart(tmp_path):
    server = ServerProcess(str(tmp_path)).start()
    try:
        client = lrsched.Client(server.target)
        client.create_job(job_id="restart", spec={"exponential_lr": {"gamma": 0.5}},
                          base_lrs=[1.0])
        server.signal(9)
        attempted = threading.Event()
        step = client.stub.Step

        def first_attempt_seen(*args, **kwargs):
            attempted.set()
            return step(*args, **kwargs)

        client.stub.Step = first_attempt_seen
        result = {}
        call = threading.Thread(target=lambda: result.update(
            values=client.step("restart", 0, 3, look_ahead=0).values))
        call.start()
        # The call is made while the server is down, so it can only succeed
        # by waiting and retrying until the server is back.
        assert attempted.wait(60)
        server.start()  # the same port and state file
        call.join(60)
        assert [list(v.lrs) for v in result["values"]] == [[0.125]]
    finally:
        server.stop()


def test_worker_schedule_costs_a_handful_of_rpcs(server):
    client = lrsched.Client(server.target)
    client.create_job(job_id="window", spec={"cosine_annealing_lr": {"t_max": 5000}},
                      base_lrs=[0.1])
    schedule = lrsched.WorkerSchedule(client, "window", rank=0)
    steps = [schedule.step() for _ in range(10_000)]
    assert [s.step for s in steps] == list(range(10_000))
    assert schedule.step_rpcs <= 12, schedule.step_rpcs
    preview = client.preview_schedule(spec={"cosine_annealing_lr": {"t_max": 5000}},
                                      base_lrs=[0.1], steps=9_999)
    assert [s.lrs for s in steps] == [list(v.lrs) for v in preview.values]


def test_worker_schedule_reports_the_step_it_gave(server):
    client = lrsched.Client(server.target)
    client.create_job(job_id="reports", spec=PLATEAU, base_lrs=[0.1])
    schedule = lrsched.WorkerSchedule(client, "reports", rank=0)
    with pytest.raises(RuntimeError, match="before the first step"):
        schedule.report_metric(1.0)
    assert schedule.step().lrs == [0.1]
    schedule.report_metric(1.0)
    assert schedule.step().lrs == [0.1]  # the first metric is an improvement
    schedule.report_metric(2.0)
    assert schedule.step().lrs == [0.05]
    assert schedule.current_step == 2


def test_prefetch_gives_the_same_values_and_ends_with_the_schedule(server):
    client = lrsched.Client(server.target)
    spec = {"one_cycle_lr": {"max_lr": [0.1], "total_steps": 2500}}
    client.create_job(job_id="prefetch", spec=spec, base_lrs=[0.1])
    schedule = lrsched.WorkerSchedule(client, "prefetch", rank=0, look_ahead=100,
                                      prefetch=True)
    steps = [schedule.step() for _ in range(2501)]
    preview = client.preview_schedule(spec=spec, base_lrs=[0.1], steps=2500)
    assert [(s.step, s.lrs, s.momentums) for s in steps] == [
        (v.step, list(v.lrs), list(v.momentums)) for v in preview.values]
    # One window fetched at a time, each but the first while the previous
    # was in use; the one asked for past the end failed quietly...
    assert 25 <= schedule.step_rpcs <= 27, schedule.step_rpcs
    # ... and stepping there raises the server's error.
    with pytest.raises(lrsched.OutOfRangeError, match="ends at step 2500"):
        schedule.step()


def test_a_token_from_a_file_reaches_a_server_that_requires_one(tmp_path):
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("callers:\n"
                      "  - {name: dashboard, role: viewer, token: viewer-token-0123456789}\n"
                      "  - {name: team-a, role: worker, job_prefix: a-,"
                      " token: worker-token-0123456789}\n")
    (tmp_path / "viewer.token").write_text("viewer-token-0123456789\n")
    server = ServerProcess(str(tmp_path), f"--auth_tokens_file={tokens}").start()
    try:
        with pytest.raises(lrsched.UnauthenticatedError, match="no credentials"):
            lrsched.Client(server.target, give_up_after=5).list_jobs()
        viewer = lrsched.Client(server.target,
                                token=lrsched.read_token_file(str(tmp_path / "viewer.token")))
        assert len(viewer.list_jobs().jobs) == 0
        with pytest.raises(lrsched.PermissionDeniedError, match="role viewer"):
            viewer.create_job(job_id="a-x", spec={"step_lr": {"step_size": 2}}, base_lrs=[0.1])
        # The drop-in passes the token through to its client.
        import torch  # pylint: disable=import-outside-toplevel
        from lrsched.torch import RemoteScheduler  # pylint: disable=import-outside-toplevel
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = RemoteScheduler(optimizer, "a-x", {"step_lr": {"step_size": 2}},
                                    server=server.target, token="worker-token-0123456789")
        scheduler.step()
        scheduler.step()
        assert scheduler.get_last_lr() == [0.1 * 0.1]
        with pytest.raises(lrsched.PermissionDeniedError, match="starts with 'a-'"):
            RemoteScheduler(optimizer, "b-x", {"step_lr": {"step_size": 2}},
                            server=server.target, token="worker-token-0123456789")
    finally:
        server.stop()


def test_a_token_file_that_is_not_printable_ascii_is_refused_naming_it(tmp_path):
    (tmp_path / "odd.token").write_text("caf\u00e9\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"odd.token holds a character that is not printable "
                                         r"ASCII \(at 3 of the token\)"):
        lrsched.read_token_file(str(tmp_path / "odd.token"))
    (tmp_path / "empty.token").write_text(" \n")
    with pytest.raises(ValueError, match="empty.token is empty"):
        lrsched.read_token_file(str(tmp_path / "empty.token"))


def test_max_look_ahead_brings_an_override_sooner(server):
    # A cosine schedule is handed out as far ahead as a worker asks (1000
    # steps), so an override lands after those; a job created with
    # max_look_ahead=2 takes it at the first step the worker does not hold.
    torch = pytest.importorskip("torch")
    import lrsched.torch

    def scheduler(job_id, **options):
        parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        optimizer = torch.optim.SGD([parameter], lr=0.1)
        spec = {"cosine_annealing_lr": {"t_max": 15}}
        return optimizer, lrsched.torch.RemoteScheduler(optimizer, job_id, spec,
                                                         server=server.target, **options)

    client = lrsched.Client(server.target)
    for job_id, options, lands_at in [("far", {}, 1001), ("near", {"max_look_ahead": 2}, 3)]:
        optimizer, remote = scheduler(job_id, **options)
        assert client.get_job(job_id).max_look_ahead == options.get("max_look_ahead", 0)
        remote.step()
        remote.step()  # the worker trains step 2
        effective = client.set_learning_rate(
            job_id=job_id, step=0, lrs={"values": [0.5]}).override.effective_step
        assert effective == lands_at, job_id
        while remote.last_epoch < effective:
            assert optimizer.param_groups[0]["lr"] != 0.5
            remote.step()
        assert optimizer.param_groups[0]["lr"] == 0.5
        remote.close()
