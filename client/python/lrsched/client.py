"""lrsched.Client: a connection to an lrsched server.

The Python twin of the C++ ``lrsched::Client`` (client/include/lrsched/
client.h), with the same retry policy so that a worker rides out a server
restart (SIGTERM and drain, or a crash):

- UNAVAILABLE is retried by gRPC's own retry policy, set in the channel's
  service config (exponential back-off with jitter), and past it by the
  client until ``give_up_after``;
- idempotent calls (all but SetLearningRate and DeleteJob: Step,
  ReportMetric, CreateJob, SetWorldSize, the reads) are also repeated after
  CANCELLED and DEADLINE_EXCEEDED. The client never cancels a call itself,
  so these come from a server that shut down under the call, or from a wait
  that ran out (a Step waiting for an undecided step asks again every
  ``step_wait``); asking again is harmless;
- SetLearningRate and DeleteJob are repeated only after UNAVAILABLE: after
  CANCELLED or DEADLINE_EXCEEDED the change may or may not have happened,
  so the error goes to the caller (read the job to find out).

Errors that retrying cannot fix are raised at once as
:class:`lrsched.RpcError` (a subclass per common code) with the server's
code and message; running out of ``give_up_after`` raises
:class:`lrsched.UnavailableError`.

Every method takes either a request message or the request's fields as
keyword arguments (``client.get_job(job_id="a")``), and an optional
``timeout`` in seconds for each attempt. Thread-safe: share one Client
between threads.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import grpc
from google.protobuf import json_format

from lrsched import errors
from lrsched.v1 import event_pb2, job_pb2, scheduler_service_pb2 as service_pb2
from lrsched.v1 import scheduler_service_pb2_grpc as service_grpc
from lrsched.v1 import scheduler_spec_pb2 as spec_pb2

_SERVICE = "lrsched.v1.SchedulerService"

# Codes worth asking again, by whether the call may safely act twice.
_TRANSIENT_ALWAYS = {grpc.StatusCode.UNAVAILABLE}
_TRANSIENT_IF_IDEMPOTENT = {grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED}


def service_config_json(max_attempts: int = 5, initial_backoff: float = 0.1,
                        max_backoff: float = 2.0) -> str:
    """gRPC's service config with the retry policy of every SchedulerService
    method: the same JSON as the C++ client's ServiceConfigJson()."""
    return json.dumps({"methodConfig": [{
        "name": [{"service": _SERVICE}],
        "retryPolicy": {
            # gRPC accepts 2 to 5 attempts.
            "maxAttempts": min(max(max_attempts, 2), 5),
            "initialBackoff": f"{initial_backoff:.3f}s",
            "maxBackoff": f"{max_backoff:.3f}s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }]})


def read_token_file(path: str) -> str:
    """The bearer token in ``path`` (surrounding white space dropped), as a
    Kubernetes Secret mounts it: keep tokens in files, not in code or on
    command lines."""
    with open(path, encoding="utf-8") as file:
        token = file.read().strip()
    if not token:
        raise ValueError(f"token file {path} is empty")
    # gRPC metadata is printable ASCII: say so here, naming the file, rather
    # than refuse every call later.
    for index, character in enumerate(token):
        if not " " <= character <= "~":
            raise ValueError(f"token file {path} holds a character that is not printable ASCII "
                             f"(at {index} of the token); a token is printable ASCII")
    return token


def to_spec(spec: Any) -> spec_pb2.SchedulerSpec:
    """A SchedulerSpec from a message, a dict or a JSON string in proto3's
    JSON form (e.g. ``{"step_lr": {"step_size": 30}}``)."""
    if isinstance(spec, spec_pb2.SchedulerSpec):
        return spec
    try:
        if isinstance(spec, str):
            return json_format.Parse(spec, spec_pb2.SchedulerSpec())
        if isinstance(spec, dict):
            return json_format.ParseDict(spec, spec_pb2.SchedulerSpec())
    except json_format.ParseError as error:
        raise ValueError(f"spec: not a lrsched.v1.SchedulerSpec: {error}") from None
    raise TypeError(f"spec: expected a SchedulerSpec, a dict or a JSON string, "
                    f"not {type(spec).__name__}")


class Client:
    """A connection to one lrsched server.

    Args:
        target: "host:port" of the server.
        credentials: None for plaintext, else grpc.ssl_channel_credentials(...)
            (with the client's certificate and key for mutual TLS).
        token: the caller's bearer token, sent with every call as
            ``authorization: Bearer TOKEN`` (a server with --auth_tokens_file
            requires one, or a client certificate); see read_token_file.
        tls_server_name: with TLS, the name to verify in the server's
            certificate when it is not the target's host.
        call_timeout: seconds each attempt of a call but Step may take.
        step_wait: seconds one Step attempt waits for an undecided step
            before asking again.
        max_attempts, initial_backoff, max_backoff: gRPC's retry policy for
            UNAVAILABLE (at most 5 attempts; back-off in seconds), also used
            as the channel's reconnect back-off.
        give_up_after: seconds the client keeps retrying one call through
            outages in all, before raising UnavailableError.
        channel_options: further (key, value) gRPC channel arguments, e.g.
            ("grpc.max_receive_message_length", 64 << 20) for long previews.
    """

    def __init__(self, target: str = "localhost:50051", *,
                 credentials: grpc.ChannelCredentials | None = None,
                 token: str | None = None, tls_server_name: str | None = None, call_timeout: float = 10.0,
                 step_wait: float = 30.0, max_attempts: int = 5, initial_backoff: float = 0.1,
                 max_backoff: float = 2.0, give_up_after: float = 300.0,
                 channel_options: list[tuple[str, Any]] | None = None):
        self.target = target
        self.call_timeout = call_timeout
        self.step_wait = step_wait
        self.give_up_after = give_up_after
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        options = [
            ("grpc.enable_retries", 1),
            ("grpc.service_config",
             service_config_json(max_attempts, initial_backoff, max_backoff)),
            # Come back quickly after a server restart.
            ("grpc.initial_reconnect_backoff_ms", int(initial_backoff * 1000)),
            ("grpc.max_reconnect_backoff_ms", int(max_backoff * 1000)),
        ]
        if tls_server_name:
            options.append(("grpc.ssl_target_name_override", tls_server_name))
        options.extend(channel_options or [])
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=options)
        else:
            self._channel = grpc.secure_channel(target, credentials, options=options)
        self._stub = service_grpc.SchedulerServiceStub(self._channel)

    # ------------------------------------------------------------ plumbing

    @property
    def channel(self) -> grpc.Channel:
        """The gRPC channel."""
        return self._channel

    @property
    def stub(self) -> service_grpc.SchedulerServiceStub:
        """The generated stub, for what the methods do not cover."""
        return self._stub

    def close(self) -> None:
        """Closes the channel; calls in flight end with CANCELLED."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _call(self, method: str, request: Any, timeout: float | None, idempotent: bool):
        rpc = getattr(self._stub, method)
        timeout = self.call_timeout if timeout is None else timeout
        give_up = time.monotonic() + self.give_up_after
        while True:
            # An attempt never outlasts the give-up point, so that an
            # unreachable server is reported after give_up_after, not later.
            remaining = give_up - time.monotonic()
            try:
                # wait_for_ready: wait for the channel to (re)connect rather
                # than failing at once while the server restarts.
                return rpc(request, timeout=max(min(timeout, remaining), 0.001),
                           metadata=self._metadata, wait_for_ready=True)
            except grpc.RpcError as error:
                code = error.code()
                transient = code in _TRANSIENT_ALWAYS or (
                    idempotent and code in _TRANSIENT_IF_IDEMPOTENT)
                if not transient:
                    raise errors.from_grpc(method, error) from None
                if time.monotonic() >= give_up:
                    raise errors.UnavailableError(method, code, error.details() or "",
                                                  self.target, self.give_up_after) from None

    @staticmethod
    def _request(message_type, request, fields):
        """`request`, or a `message_type` made from `fields`."""
        if request is not None and fields:
            raise TypeError("give either a request message or its fields, not both")
        if request is not None:
            return request
        if "spec" in fields and not isinstance(fields["spec"], spec_pb2.SchedulerSpec):
            fields = dict(fields, spec=to_spec(fields["spec"]))
        return message_type(**fields)

    # ------------------------------------------------------------ the RPCs

    def create_job(self, request: service_pb2.CreateJobRequest | None = None, *,
                   timeout: float | None = None, **fields) -> job_pb2.Job:
        """Creates a job, or returns the existing identical one. A different
        request under the same id raises AlreadyExistsError saying what
        differs. ``spec`` may be given as a dict or JSON string."""
        request = self._request(service_pb2.CreateJobRequest, request, fields)
        return self._call("CreateJob", request, timeout, True)

    def get_job(self, job_id: str | None = None, *, request=None, timeout=None,
                **fields) -> job_pb2.Job:
        """The job (FULL view unless ``view`` says otherwise)."""
        if job_id is not None:
            fields["job_id"] = job_id
        request = self._request(service_pb2.GetJobRequest, request, fields)
        return self._call("GetJob", request, timeout, True)

    def list_jobs(self, request=None, *, timeout=None, **fields) -> service_pb2.ListJobsResponse:
        """One page of jobs in job id order."""
        request = self._request(service_pb2.ListJobsRequest, request, fields)
        return self._call("ListJobs", request, timeout, True)

    def delete_job(self, job_id: str, *, timeout=None) -> None:
        """Deletes a job and its log. Not repeated on an unknown outcome: a
        deletion that did happen would come back as NOT_FOUND."""
        self._call("DeleteJob", service_pb2.DeleteJobRequest(job_id=job_id), timeout, False)

    def step(self, job_id: str, rank: int, step: int, look_ahead: int = 0, *,
             timeout: float | None = None) -> service_pb2.StepResponse:
        """The values of ``step`` and of up to ``look_ahead`` decided steps
        after it. Waits while ``step`` is undecided, asking again every
        ``step_wait`` seconds (or ``timeout``), until give_up_after."""
        request = service_pb2.StepRequest(job_id=job_id, rank=rank, step=step,
                                          look_ahead=look_ahead)
        return self._call("Step", request, self.step_wait if timeout is None else timeout, True)

    def report_metric(self, request=None, *, timeout=None,
                      **fields) -> service_pb2.ReportMetricResponse:
        """Reports one worker's metric of a step (job_id, rank, step, value,
        weight). Idempotent per (rank, step): the same report again is
        acknowledged, so every transient outcome is retried."""
        request = self._request(service_pb2.ReportMetricRequest, request, fields)
        return self._call("ReportMetric", request, timeout, True)

    def set_learning_rate(self, request=None, *, timeout=None,
                          **fields) -> service_pb2.SetLearningRateResponse:
        """An operator override. Not idempotent (a second override would
        stack): repeated only when the server refused it (UNAVAILABLE)."""
        request = self._request(service_pb2.SetLearningRateRequest, request, fields)
        return self._call("SetLearningRate", request, timeout, False)

    def set_world_size(self, job_id: str, world_size: int, *, timeout=None) -> job_pb2.Job:
        """Changes the number of reporting workers from the first step not
        yet aggregated on. Setting the same size again changes nothing, so
        it is retried like the reads."""
        request = service_pb2.SetWorldSizeRequest(job_id=job_id, world_size=world_size)
        return self._call("SetWorldSize", request, timeout, True)

    def watch_job(self, job_id: str, from_sequence: int = 0, *,
                  timeout: float | None = None) -> Iterator[event_pb2.JobEvent]:
        """The job's events from ``from_sequence`` on, then new ones as they
        happen. A stream is not retried: after an error, watch again from
        the sequence after the last event received. ``timeout`` (None: no
        deadline) bounds the whole stream."""
        request = service_pb2.WatchJobRequest(job_id=job_id, from_sequence=from_sequence)
        stream = self._stub.WatchJob(request, timeout=timeout, metadata=self._metadata,
                                     wait_for_ready=True)
        try:
            for event in stream:
                yield event
        except grpc.RpcError as error:
            raise errors.from_grpc("WatchJob", error) from None
        finally:
            stream.cancel()

    def preview_schedule(self, request=None, *, timeout=None,
                         **fields) -> service_pb2.PreviewScheduleResponse:
        """The values of steps 0..steps of a spec, without creating a job."""
        request = self._request(service_pb2.PreviewScheduleRequest, request, fields)
        return self._call("PreviewSchedule", request, timeout, True)
