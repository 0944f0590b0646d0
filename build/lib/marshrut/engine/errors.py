"""Named domain failures. The adapters map them to status codes; nothing here knows HTTP."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field or diagram element.

    :param path: where: a form field path (``/missing_documents/0``) or a BPMN element id.
    :param message: what is wrong and what to change, in Ukrainian for users.
    """

    path: str
    message: str


class EngineError(Exception):
    """Base of every failure the engine reports on purpose."""

    #: Stable snake_case code clients can branch on.
    code = "engine_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not_found"


class Forbidden(EngineError):
    """The caller's roles do not allow this action."""

    code = "forbidden"


class Conflict(EngineError):
    """The action no longer fits the state: task done, held by another, stale version."""

    code = "conflict"


class CaseChanged(Conflict):
    """Another user changed the same case between this operation's reads and its writes.

    Nothing was written; running the operation again from the start sees their change
    (see :func:`engine.operation.attempts`).
    """


class InvalidInput(EngineError):
    """Input breaks a rule: a form schema, a diagram convention, a business rule."""

    code = "invalid_input"

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class Unauthenticated(EngineError):
    """No valid credentials."""

    code = "unauthenticated"


class SandboxLimitExceeded(EngineError):
    """A diagram's script, condition, timer expression or decision cell broke a sandbox limit
    (time, iterations, number size, text or list length, memory); an ordinary Exception, so
    whoever runs automatic work can catch it and record the failure."""

    code = "sandbox_limit"
class TooLarge(EngineError):
    """An upload over the size limit."""

    code = "too_large"


class UnsupportedContent(EngineError):
    """An upload whose content is not of an accepted kind (judged by its bytes, not its name)."""

    code = "unsupported_content"
