"""lrsched: learning-rate schedules as a service for data-parallel training.

- :class:`lrsched.Client`: every RPC of lrsched.v1.SchedulerService, with
  deadlines and the retry policy of the C++ client.
- :class:`lrsched.WorkerSchedule`: one worker's look-ahead view of a job.
- :mod:`lrsched.torch`: ``RemoteScheduler``, a drop-in for PyTorch's
  schedulers, and ``spec_from(scheduler)`` (imports PyTorch, so it is not
  imported here).
- :mod:`lrsched.v1`: the generated messages and stubs.
"""

from lrsched.client import Client, read_token_file, service_config_json, to_spec
from lrsched.errors import (AlreadyExistsError, Error, FailedPreconditionError,
                            InvalidArgumentError, NotFoundError, OutOfRangeError,
                            PermissionDeniedError, RpcError, UnauthenticatedError,
                            UnavailableError)
from lrsched.worker_schedule import StepRates, WorkerSchedule

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError", "Client", "Error", "FailedPreconditionError", "InvalidArgumentError",
    "NotFoundError", "OutOfRangeError", "PermissionDeniedError", "RpcError", "StepRates",
    "UnauthenticatedError", "UnavailableError",
    "WorkerSchedule", "read_token_file", "service_config_json", "to_spec",
]
