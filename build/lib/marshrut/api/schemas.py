"""Marshmallow schemas of the API's bodies and query strings (the OpenAPI document is built from them)."""

from datetime import datetime

from marshmallow import Schema, ValidationError, fields, validate

from marshrut.engine.input_limits import moment_problem


def within_service_years(value: datetime) -> None:
    """A moment the service reasons about lies in 2000–2100 (SPEC §8)."""
    problem = moment_problem(value)
    if problem:
        raise ValidationError(problem)


class HealthSchema(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"description": "ready / not_ready"})
    database = fields.String(required=True)
    migrations = fields.String(required=True, metadata={"description": "ревізія схеми або що не так"})


class MeSchema(Schema):
    login = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())


#: The largest value an id column holds (``Integer``: PostgreSQL's int4); larger ids and pages are
#: refused as bad input instead of reaching the database and failing there.
MAX_INT = 2**31 - 1


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_INT))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


def page_of(item: type[Schema] | Schema, name: str) -> type[Schema]:
    """A paginated list schema ``{items, total, page, per_page}`` of ``item``."""
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item)), "total": fields.Integer(), "page": fields.Integer(),
         "per_page": fields.Integer()},
        name=name,
    )


class ParticipantSchema(Schema):
    role = fields.String()
    action = fields.String()


class StepSchema(Schema):
    element_id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    action = fields.String(allow_none=True)
    participants = fields.List(fields.Nested(ParticipantSchema))
    days = fields.Integer(allow_none=True)
    days_min = fields.Integer(allow_none=True)
    calendar = fields.String()
    from_ = fields.String(data_key="from", attribute="from")
    deadline = fields.String(allow_none=True)
    crisis_days = fields.Integer(allow_none=True)
    crisis_hours = fields.Integer(allow_none=True)


class DefinitionSummarySchema(Schema):
    key = fields.String()
    name = fields.String()
    version = fields.Integer()
    target_days = fields.Integer(allow_none=True)
    legal_days = fields.Integer(allow_none=True)
    deployed_at = fields.String()
    deployed_by = fields.String(allow_none=True)


class DefinitionSchema(DefinitionSummarySchema):
    start_form = fields.Dict()
    forms = fields.Dict()
    steps = fields.List(fields.Nested(StepSchema))
    versions = fields.List(fields.Integer())
    warnings = fields.List(fields.String(), metadata={"description": "the card's own limits cannot meet its target or legal date (SPEC §5)"})


class DeployedSchema(Schema):
    key = fields.String()
    version = fields.Integer()
    created = fields.Boolean()
    warnings = fields.List(fields.Nested(lambda: WarningSchema()))


class WarningSchema(Schema):
    path = fields.String(metadata={"description": "id елемента діаграми"})
    message = fields.String()


class ValidationResultSchema(Schema):
    valid = fields.Boolean()
    key = fields.String(allow_none=True)
    steps = fields.List(fields.Nested(StepSchema))
    warnings = fields.List(fields.Nested(WarningSchema))


class DefinitionArgs(Schema):
    version = fields.Integer(validate=validate.Range(min=1))


class TaskSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    instance_number = fields.String(allow_none=True)
    applicant = fields.String(allow_none=True, metadata={"description": "прізвище та ініціали заявника"})
    process_key = fields.String()
    element_id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)
    role = fields.String()
    action = fields.String()
    participants = fields.List(fields.Nested(ParticipantSchema))
    state = fields.String()
    assignee = fields.String(allow_none=True)
    created_at = fields.String()
    due_at = fields.String(allow_none=True)
    due_date = fields.String(allow_none=True)
    sla_status = fields.String()
    completed_at = fields.String(allow_none=True)
    completed_by = fields.String(allow_none=True)
    inputs = fields.Dict()
    data = fields.Dict(allow_none=True)
    form = fields.Dict(allow_none=True)
    provider_id = fields.String(allow_none=True, metadata={"description": "the provider the decision named for this delivery branch; only its users complete it"})
    participation = fields.Boolean(metadata={"description": "роль користувача лише бере участь (У), не виконує"})


class TaskListArgs(PageArgs):
    state = fields.String(load_default="ready", validate=validate.OneOf(["ready", "completed", "cancelled", "all"]))
    role = fields.String()
    instance_id = fields.Integer(validate=validate.Range(min=1, max=MAX_INT))
    process_key = fields.String()
    sla_status = fields.String(validate=validate.OneOf(["on_track", "at_risk", "overdue"]))
    mine = fields.Boolean(load_default=False)
    all = fields.Boolean(load_default=False, metadata={"description": "усі видимі завдання, не лише ті, що можна виконати"})
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "кроки справ, знайдених як у GET /process-instances?q="})
    element_id = fields.String(validate=validate.Length(min=1, max=100),
                               metadata={"description": "завдання одного кроку діаграми (щоб виконати їх разом)"})


class CompleteSchema(Schema):
    data = fields.Dict(load_default=dict)


class CompleteBatchSchema(Schema):
    task_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=MAX_INT)), required=True,
                           validate=validate.Length(min=1, max=500))
    data = fields.Dict(load_default=dict, metadata={"description": "спільні дані для всіх завдань"})
    per_task = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=dict,
                           metadata={"description": "дані окремих завдань: {\"<id>\": {...}}, поверх спільних"})


class BatchResultItemSchema(Schema):
    task_id = fields.Integer()
    status = fields.Integer()
    instance_id = fields.Integer(allow_none=True)
    problem = fields.Dict(metadata={"description": "application/problem+json (RFC 9457), якщо не виконано"})


class BatchResultSchema(Schema):
    batch_id = fields.String()
    results = fields.List(fields.Nested(BatchResultItemSchema))


class SlaPairSchema(Schema):
    target = fields.String()
    legal = fields.String()


class WaitingSchema(Schema):
    element_id = fields.String()
    name = fields.String()
    fires_at = fields.String()


class IncidentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    number = fields.String(allow_none=True)
    element_id = fields.String()
    message = fields.String()
    created_at = fields.String()
    attempts = fields.Integer()
    last_attempt_at = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)


class StepRecordSchema(Schema):
    task_id = fields.Integer()
    element_id = fields.String()
    name = fields.String()
    completed_at = fields.String(allow_none=True)
    completed_by = fields.String(allow_none=True)
    data = fields.Dict()


class InstanceSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    process_key = fields.String()
    process_name = fields.String()
    applicant = fields.String(allow_none=True, metadata={"description": "прізвище та ініціали заявника"})
    version = fields.Integer()
    status = fields.String()
    received_at = fields.String()
    target_date = fields.String(allow_none=True)
    legal_date = fields.String(allow_none=True)
    forecast_date = fields.String(allow_none=True)
    forecast_basis = fields.String(allow_none=True, metadata={"description": "history: observed step durations; card: the card's limits (SPEC §5)"})
    steps = fields.List(fields.Nested(StepRecordSchema), metadata={"description": "completed steps in order, each with its own data (GET only)"})
    endorse_by = fields.String(allow_none=True, metadata={"description": "the last day the draft decision may be endorsed to reach a committee meeting before the legal date"})
    sla = fields.Nested(SlaPairSchema)
    open_tasks = fields.List(fields.Nested(TaskSchema))
    waiting = fields.List(fields.Nested(WaitingSchema))
    created_at = fields.String()
    created_by = fields.String(allow_none=True)
    completed_at = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)
    incidents = fields.List(fields.Nested(IncidentSchema))  # open ones (a case's own answer only)


class CompletedSchema(Schema):
    task = fields.Nested(TaskSchema)
    instance = fields.Nested(InstanceSchema)


class StartInstanceSchema(Schema):
    process_key = fields.String(required=True, validate=validate.Length(min=1))
    data = fields.Dict(required=True)
    received_at = fields.AwareDateTime(allow_none=True, validate=within_service_years)


class InstanceListArgs(PageArgs):
    process_key = fields.String()
    status = fields.String(validate=validate.OneOf(["running", "completed", "returned", "cancelled"]))
    sla = fields.String(validate=validate.OneOf(["on_track", "at_risk", "breached"]))
    q = fields.String(validate=validate.Length(max=100), metadata={
        "description": "номер справи, прізвище або ім’я заявника (початок, без огляду на регістр), РНОКПП (точно)"})


class CancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AuditEventSchema(Schema):
    id = fields.Integer()
    event = fields.String()
    actor = fields.String(allow_none=True)
    at = fields.String()
    task_id = fields.Integer(allow_none=True)
    data = fields.Dict()


class HistorySchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    total = fields.Integer()


class ClockSchema(Schema):
    now = fields.AwareDateTime(required=True, validate=within_service_years)


class TickSchema(Schema):
    cases = fields.Integer()
    timers_fired = fields.Integer()
    now = fields.String()


class MigrateSchema(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_INT))
