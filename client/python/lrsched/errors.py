"""The exceptions of the lrsched client.

Every failure of the service comes back as an :class:`RpcError` that carries
the gRPC status code (``error.code``, a :class:`grpc.StatusCode`) and the
server's own message (``error.details``), which names the field and the rule
for a bad request. The most common codes have subclasses, so that a caller
can catch, say, a conflicting job without comparing codes.
"""

from __future__ import annotations

import grpc


class Error(Exception):
    """Base of every exception raised by the lrsched package."""


class RpcError(Error):
    """A call to the server failed with a status that retrying cannot fix.

    Attributes:
        code: the gRPC status code (grpc.StatusCode).
        details: the server's message (or gRPC's, when the server was not
            reached).
        method: the RPC's name, e.g. "CreateJob".
    """

    def __init__(self, method: str, code: grpc.StatusCode, details: str):
        self.method = method
        self.code = code
        self.details = details
        super().__init__(f"{method}: {code.name}: {details}")


class InvalidArgumentError(RpcError, ValueError):
    """INVALID_ARGUMENT: a bad field; the message names it and the rule."""


class NotFoundError(RpcError, LookupError):
    """NOT_FOUND: no such job."""


class AlreadyExistsError(RpcError):
    """ALREADY_EXISTS: a job with this id and a different request (the message
    says what differs), or a different metric for a rank and step already
    reported."""


class FailedPreconditionError(RpcError):
    """FAILED_PRECONDITION: e.g. a metric for a step not decided yet, or for a
    schedule that takes none."""


class OutOfRangeError(RpcError, IndexError):
    """OUT_OF_RANGE: a step before the retained window or after the
    schedule's last step."""


class UnauthenticatedError(RpcError, PermissionError):
    """UNAUTHENTICATED: no credentials, or ones the server does not know
    (Client's ``token``, or a client certificate)."""


class PermissionDeniedError(RpcError, PermissionError):
    """PERMISSION_DENIED: the caller's role may not make the call, or the job
    is outside its job-id prefix (the message says which)."""


class UnavailableError(RpcError, ConnectionError):
    """The server could not be reached, or kept failing transiently
    (UNAVAILABLE, or CANCELLED/DEADLINE_EXCEEDED on an idempotent call),
    until the client's ``give_up_after`` ran out. ``code`` is the status of
    the last attempt."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str, target: str,
                 give_up_after: float):
        self.target = target
        self.give_up_after = give_up_after
        super().__init__(method, code, details)
        message = (f"{method}: the lrsched server at {target} did not answer within "
                   f"{give_up_after:g} s (last attempt: {code.name}: {details})")
        if method == "Step" and code == grpc.StatusCode.DEADLINE_EXCEEDED:
            # The server may well be there: a Step also waits while its step
            # is undecided.
            message += ("; a Step also waits while its step is undecided, until every rank "
                        "has reported its metric of the step before (give_up_after bounds "
                        "that wait too)")
        self.args = (message,)


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRangeError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
}


def from_grpc(method: str, error: grpc.RpcError) -> RpcError:
    """The exception for a failed call, of the subclass of its code."""
    code = error.code()
    return _BY_CODE.get(code, RpcError)(method, code, error.details() or "")
