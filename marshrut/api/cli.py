"""The ``marshrut`` command line (SPEC §7)."""

import json
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import text

from marshrut.api.config import settings_from_env
from marshrut.engine import card_export, card_to_bpmn, cases, definitions, migrate, queries, users, views, worker, workflow_state
from marshrut.engine import sandbox_guards, sla_tallies
from marshrut.engine.access import Actor
from marshrut.engine.errors import EngineError, InvalidInput, NotFound
from marshrut.engine.models import Instance
from marshrut.engine.operation import attempts, operation
from marshrut.engine.store import Database


class Env:
    """Settings and database, built once per command."""

    def __init__(self) -> None:
        self.settings = settings_from_env()
        self.db = Database(self.settings.database_url)
        workflow_state.RECENT.resize(self.settings.kept_workflows)
        sandbox_guards.configure(timeout_ms=self.settings.script_timeout_ms)


def fail(error: EngineError) -> None:
    click.echo(f"Помилка: {error.message}", err=True)
    for item in getattr(error, "errors", []):
        click.echo(f"  {item.path}: {item.message}", err=True)
    sys.exit(1)


def actor_for(env: Env, login: str) -> Actor:
    with env.db.unit_of_work() as uow:
        actor = users.by_login(uow, login)
    if actor is None:
        click.echo(f"Помилка: користувача {login} немає (marshrut users create …)", err=True)
        sys.exit(1)
    return actor


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@click.group()
def main() -> None:
    """Marshrut: BPMN processes of the Department of Social Policy."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (Alembic)."""
    migrate.upgrade(settings_from_env().database_url)
    click.echo("Схему бази даних оновлено")


@db.command("current")
def db_current() -> None:
    """Print the schema revision of the database and of the code."""
    env = Env()
    click.echo(f"база даних: {migrate.current(env.db.engine) or 'порожня'}; код: {migrate.head()}")


@db.command("check")
def db_check() -> None:
    """Exit 1 unless the database's schema is at the code's newest revision."""
    env = Env()
    current, head = migrate.current(env.db.engine), migrate.head()
    if current != head:
        click.echo(f"Схема застаріла: {current or 'порожня'}, потрібна {head} (marshrut db upgrade)", err=True)
        sys.exit(1)
    click.echo(f"Схема актуальна: {head}")


@db.command("recount")
def db_recount() -> None:
    """Count the SLA tallies afresh from the tasks and cases (after rows were loaded or fixed by hand
    with the triggers off); the managers' views read them."""
    env = Env()
    if migrate.current(env.db.engine) != migrate.head():
        click.echo("Схема застаріла: спершу marshrut db upgrade", err=True)
        sys.exit(1)
    with env.db.engine.begin() as connection:
        sla_tallies.rebuild(connection)
        keys = connection.execute(text("SELECT COUNT(*) FROM sla_tallies")).scalar()
    click.echo(f"Лічильники строків перераховано: {keys} рядків")


@db.command("downgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Take the schema back to REVISION (e.g. -1 for one step)."""
    migrate.downgrade(settings_from_env().database_url, revision)
    click.echo(f"Схему повернуто до {revision}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Validate BPMN diagrams (with their DMN and forms) without deploying."""
    settings = settings_from_env()
    failed = False
    try:
        bundles = definitions.bundles_from_paths(list(paths), settings.bpmn_dir, settings.forms_dir)
    except EngineError as error:
        fail(error)
    for bundle in bundles:
        try:
            compiled = definitions.compile_bundle(bundle)
            click.echo(f"{bundle.bpmn_name}: гаразд ({compiled.key}, кроків: {len(compiled.steps)})")
        except InvalidInput as error:
            failed = True
            click.echo(f"{bundle.bpmn_name}: {error.message}", err=True)
            for item in error.errors:
                click.echo(f"  {item.path}: {item.message}", err=True)
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def deploy(paths: tuple[Path, ...]) -> None:
    """Validate and deploy BPMN diagrams as new versions."""
    env = Env()
    try:
        bundles = definitions.bundles_from_paths(list(paths), env.settings.bpmn_dir, env.settings.forms_dir)
        for bundle in bundles:
            with operation(env.db, env.settings) as (uow, ctx):
                row, created = definitions.deploy(uow, bundle, "cli", ctx.now())
                uow.commit()
            state = "розгорнуто" if created else "без змін"
            click.echo(f"{row.key}: версія {row.version} ({state})")
    except EngineError as error:
        fail(error)


@main.group("card")
def card_group() -> None:
    """Technological cards (DOCX): import as a diagram, export the deployed one."""


@card_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", required=True, help="Ключ процесу (латиницею, напр. housing_subsidy)")
@click.option("--name", default=None, help="Назва процесу (типово — назва послуги з картки)")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Тека для KEY.bpmn і forms/KEY/ (типово — bpmn/ і forms/ проєкту)")
@click.option("--force", is_flag=True, help="Перезаписати наявні файли")
def card_import(file: Path, key: str, name: str | None, out_dir: Path | None, force: bool) -> None:
    """Generate a diagram and its forms from a technological card (not deployed)."""
    settings = settings_from_env()
    try:
        generated = card_to_bpmn.import_card(file.read_bytes(), key, name)
    except EngineError as error:
        fail(error)
    bpmn_path = (out_dir or settings.bpmn_dir) / f"{key}.bpmn"
    forms_dir = (out_dir / "forms" if out_dir else settings.forms_dir) / key
    targets = [bpmn_path] + [forms_dir / f"{task}.json" for task in generated.forms]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        click.echo(f"Помилка: файли вже є (додайте --force, щоб перезаписати): {', '.join(existing)}", err=True)
        sys.exit(1)
    forms_dir.mkdir(parents=True, exist_ok=True)
    bpmn_path.write_text(generated.bpmn, encoding="utf-8")
    for task, schema in generated.forms.items():
        (forms_dir / f"{task}.json").write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for warning in generated.warnings:
        click.echo(f"Увага: {warning}", err=True)
    click.echo(f"{bpmn_path}: діаграма; {forms_dir}: форм {len(generated.forms)}")


@card_group.command("export")
@click.argument("key")
@click.option("--version", "version", default=None, type=int, help="Версія (типово — остання)")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Файл DOCX (типово KEY-card.docx)")
def card_export_command(key: str, version: int | None, out_file: Path | None) -> None:
    """Write the technological card of a deployed process as DOCX."""
    env = Env()
    try:
        with env.db.unit_of_work() as uow:
            rows = definitions.versions(uow, key)
            row = next((r for r in rows if version is None or r.version == version), None)
            if row is None:
                raise NotFound(f"Версії {version} процесу «{key}» немає")
            data = card_export.card_docx(row)
    except EngineError as error:
        fail(error)
    path = out_file or Path(f"{key}-card.docx")
    path.write_bytes(data)
    click.echo(f"{path}: картка версії {row.version}")


@main.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.argument("login")
@click.option("--role", "roles", multiple=True, required=True, help="Роль (можна кілька разів)")
@click.option("--name", default=None)
@click.option("--token", default=None, help="Задати токен API замість випадкового")
@click.option("--password", default=None, help="Пароль для входу на веб-сторінки")
@click.option("--email", default=None)
@click.option("--provider", "provider_id", default=None, help="Надавач (id з довідника), до якого прив'язано користувача з роллю provider")
def users_create(login: str, roles: tuple[str, ...], name: str | None, token: str | None,
                 password: str | None, email: str | None, provider_id: str | None) -> None:
    """Create a user and print its API token."""
    env = Env()
    try:
        with operation(env.db, env.settings) as (uow, ctx):
            _user, issued = users.create_user(uow, login, list(roles), ctx.now(), name, token, password, email,
                                              provider_id, str(env.settings.reference_dir))
            uow.commit()
    except EngineError as error:
        fail(error)
    click.echo(issued)


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--workers", default=2, type=int, help="Процеси gunicorn")
@click.option("--no-worker", is_flag=True, help="Не запускати обробник таймерів")
def serve(host: str, port: int, workers: int, no_worker: bool) -> None:
    """Run the API under gunicorn (migrating and deploying the shipped diagrams first)."""
    from marshrut.api.server import run

    env = Env()
    migrate.upgrade(env.settings.database_url)
    deploy_shipped(env)
    run(host, port, workers, with_worker=not no_worker)


def deploy_shipped(env: Env) -> None:
    """Deploy every diagram in ``bpmn/`` (unchanged ones create no version)."""
    paths = sorted(env.settings.bpmn_dir.glob("*.bpmn"))
    for bundle in definitions.bundles_from_paths(paths, env.settings.bpmn_dir, env.settings.forms_dir):
        with operation(env.db, env.settings) as (uow, ctx):
            definitions.deploy(uow, bundle, "system", ctx.now())
            uow.commit()


@main.command("worker")
@click.option("--once", is_flag=True, help="Один прохід і вихід")
@click.option("--interval", default=5.0, type=float)
def worker_command(once: bool, interval: float) -> None:
    """Fire due BPMN timers (committee meetings, escalations)."""
    env = Env()
    if once:
        result = worker.run_pass(env.db, env.settings)
        click.echo(f"Таймерів спрацювало: {result.timers_fired} (справ: {result.cases})")
        return
    from marshrut.api.observability import WORKER_PASS, WORKER_TIMERS, configure_logging

    configure_logging()

    def observe(seconds: float, timers_fired: int) -> None:
        WORKER_PASS.observe(seconds)
        WORKER_TIMERS.inc(timers_fired)

    worker.run_forever(env.db, env.settings, interval, observe=observe)


@main.command("demo")
def demo() -> None:
    """Create demo users (one per role, password «demo») and a few cases at different stages."""
    from marshrut.engine import demo as demo_data
    from marshrut.engine.config import PACKAGE_ROOT

    env = Env()
    migrate.upgrade(env.settings.database_url)
    deploy_shipped(env)
    with operation(env.db, env.settings) as (_uow, ctx):
        now = ctx.now()
    created = demo_data.create_users(env.db, env.settings, now)
    samples = json.loads((PACKAGE_ROOT / "reference" / "demo_cases.json").read_text(encoding="utf-8"))
    made = [] if demo_data.has_cases(env.db) else demo_data.seed_cases(env.db, env.settings, now, samples)
    click.echo("Демо-користувачі: логін = роль, пароль «demo» (напр. programs_dept, manager, analyst)")
    for login, _role, name, token in created:
        click.echo(f"  {login:16} {name:24} токен API: {token}")
    if not created:
        click.echo("  (уже існують; токени показуються лише при створенні)")
    click.echo(f"Справ створено: {len(made)}" if made else "Справи вже є; нових не створено")


@main.group("case")
def case_group() -> None:
    """Walk cases from the shell."""


@case_group.command("start")
@click.argument("process_key")
@click.option("--as", "login", required=True, help="Логін, від імені якого діяти")
@click.option("--data", "data_json", required=True, help="JSON стартової форми (або @файл)")
@click.option("--received-at", default=None, help="ISO 8601 з часовим поясом")
def case_start(process_key: str, login: str, data_json: str, received_at: str | None) -> None:
    """Register a case from its start form."""
    from datetime import datetime

    env = Env()
    actor = actor_for(env, login)
    try:
        with operation(env.db, env.settings) as (uow, ctx):
            moment = datetime.fromisoformat(received_at) if received_at else None
            instance = cases.start_case(uow, actor, ctx, process_key, _load_json(data_json), moment)
            uow.commit()
            click.echo(f"{instance.number} (id {instance.id})")
    except EngineError as error:
        fail(error)


@case_group.command("show")
@click.argument("instance_id", type=int)
def case_show(instance_id: int) -> None:
    """Print a case with its open steps and timers."""
    env = Env()
    with operation(env.db, env.settings) as (uow, ctx):
        try:
            instance = queries.must_find(uow.session.get(Instance, instance_id), f"Справу {instance_id} не знайдено")
        except EngineError as error:
            fail(error)
        view = views.instance_view(
            instance, queries.definition_of(uow, instance), queries.open_tasks(uow, instance_id),
            queries.waiting_timers(uow, instance_id), ctx.now(), ctx.calendar,
        )
    echo_json(view)


@main.group("task")
def task_group() -> None:
    """Work steps from the shell."""


@task_group.command("list")
@click.option("--as", "login", required=True)
@click.option("--instance", "instance_id", type=int, default=None)
def task_list(login: str, instance_id: int | None) -> None:
    """List the ready steps the user may act on."""
    env = Env()
    actor = actor_for(env, login)
    with operation(env.db, env.settings) as (uow, ctx):
        page = queries.list_tasks(uow, actor, ctx.now(), instance_id=instance_id, per_page=500)
        for task in page.items:
            due = ctx.calendar.local_date(task.due_at).isoformat() if task.due_at else "—"
            click.echo(f"{task.id}\t{task.element_id}\t{task.role}\t{due}\t{task.name}")


@task_group.command("complete")
@click.argument("task_id", type=int)
@click.option("--as", "login", required=True)
@click.option("--data", "data_json", default="{}", help="JSON форми (або @файл)")
def task_complete(task_id: int, login: str, data_json: str) -> None:
    """Complete a step with its form's data."""
    env = Env()
    actor = actor_for(env, login)
    try:
        data = _load_json(data_json)
        for attempt in attempts(env.db, env.settings):
            with attempt as (uow, ctx):
                done = cases.complete_task(uow, actor, ctx, task_id, data)
                uow.commit()
        click.echo(f"{done.task.element_id}: виконано; справа {done.instance.number}: {done.instance.status}")
    except EngineError as error:
        fail(error)


def _load_json(text: str) -> Any:
    raw = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
    try:
        return json.loads(raw)
    except ValueError as err:
        raise click.BadParameter(f"не JSON: {err}") from err


if __name__ == "__main__":
    main()
