"""The `dlcoach` command line (also `python -m bot`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from pydantic import ValidationError

from bot.config import Settings
from content.loader import ContentError

if TYPE_CHECKING:
    from bot.app import App
    from bot.channels.base import Channel

T = TypeVar("T")

cli = typer.Typer(
    help="dlcoach: a digital-literacy coach for LINE, Telegram and the terminal.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="Database commands.", no_args_is_help=True)
agency_cli = typer.Typer(help="Agencies and their units.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(agency_cli, name="agency")
admin_cli = typer.Typer(help="The agency's working group (admins).", no_args_is_help=True)
cli.add_typer(admin_cli, name="admin")
line_cli = typer.Typer(help="LINE commands.", no_args_is_help=True)
cli.add_typer(line_cli, name="line")
line_webhook_cli = typer.Typer(help="Where LINE posts the bot's events.", no_args_is_help=True)
line_cli.add_typer(line_webhook_cli, name="webhook")
telegram_cli = typer.Typer(help="Telegram commands.", no_args_is_help=True)
cli.add_typer(telegram_cli, name="telegram")
telegram_webhook_cli = typer.Typer(
    help="Where Telegram posts the bot's updates.", no_args_is_help=True
)
telegram_cli.add_typer(telegram_webhook_cli, name="webhook")
outbox_cli = typer.Typer(help="Messages waiting to be sent, and failed ones.", no_args_is_help=True)
cli.add_typer(outbox_cli, name="outbox")


def _settings() -> Settings:
    """The settings from the environment and .env, or a clear exit (code 2)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        typer.echo(f"configuration error: {problems}", err=True)
        raise typer.Exit(2) from exc


def _app(settings: Settings | None = None, channels: Iterable[Channel] = ()) -> App:
    """Build the App, turning a broken content file into a clear exit (code 2)."""
    from bot.app import build_app

    try:
        return build_app(settings or _settings(), channels=channels)
    except ContentError as exc:
        typer.echo(f"content error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _with_app(
    work: Callable[[App], Awaitable[T]], app: App | None = None, *, migrate: bool = True
) -> T:
    """Run `work(app)` on a prepared app (schema up to date, demo seeded) and close it after."""
    app = app or _app()

    async def main() -> T:
        try:
            if migrate:
                await app.prepare()
            return await work(app)
        finally:
            await app.close()

    return asyncio.run(main())


@cli.command()
def chat(
    user: Annotated[str, typer.Option("--user", help="Who you are in this terminal.")] = "local",
    lang: Annotated[str | None, typer.Option("--lang", help="th or en (for a new user).")] = None,
) -> None:
    """Talk to the bot in the terminal (same core and database as LINE and Telegram)."""
    from bot.channels.console import ConsoleChannel
    from bot.terminal import run_chat

    if lang not in (None, "th", "en"):
        raise typer.BadParameter("--lang must be th or en")
    logging.basicConfig(level=logging.WARNING)
    channel = ConsoleChannel(user)
    # One local person, maybe reading a script from stdin: no flood limit here.
    settings = _settings().model_copy(update={"dlcoach_flood_burst": 0})
    app = _app(settings, channels=[channel])

    async def work(app: App) -> None:
        await run_chat(app, channel, lang or app.policy.lang)

    with contextlib.suppress(KeyboardInterrupt):
        _with_app(work, app)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Run the web server (webhooks, health), the scheduler and the enabled channels."""
    import uvicorn

    from bot import logs
    from bot.server import build_web, enabled_channels

    settings = _settings()
    logs.configure(settings.dlcoach_log_json)
    app = _app(settings, enabled_channels(settings))
    if settings.dlcoach_log_json:  # uvicorn's lines go through ours; no access log
        uvicorn.run(build_web(app), host=host, port=port, log_config=None, access_log=False)
    else:
        uvicorn.run(build_web(app), host=host, port=port, log_level="info")


@cli.command()
def doctor(
    lang: Annotated[str | None, typer.Option("--lang", help="th or en.")] = None,
) -> None:
    """Check the setup as it will run (content, time zone, database, LINE, Telegram);
    exit 1 when something would break."""
    from bot.doctor import examine, report

    settings = _settings()
    if lang not in (None, "th", "en"):
        raise typer.BadParameter("--lang must be th or en")
    lang = lang or settings.default_lang
    findings, content = asyncio.run(examine(settings))
    if content is not None:
        typer.echo(content.t("doctor.title", lang))
    for line in report(findings, content, lang):
        typer.echo(line)
    failures = sum(finding.status == "fail" for finding in findings)
    if content is not None:
        summary = "doctor.summary_fail" if failures else "doctor.summary_ok"
        typer.echo(content.t(summary, lang, count=failures))
    if failures:
        raise typer.Exit(1)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    from storage.migrate import upgrade

    async def work(app: App) -> None:
        await upgrade(app.engine)

    _with_app(work, migrate=False)
    typer.echo("database is up to date")


def _join_instructions(join_code: str) -> str:
    from storage.agencies import shown

    return (
        f"join code: {shown(join_code)}\n"
        f"staff type it when the bot asks for their agency; in Telegram an invite link "
        f"does it for them: https://t.me/<your bot>?start={join_code}"
    )


@agency_cli.command("create")
def agency_create(
    code: Annotated[str, typer.Option(help="Short code, e.g. OCSC.")],
    name: Annotated[str, typer.Option(help="The agency's full name.")],
    timezone: Annotated[str, typer.Option(help="Time zone of its staff.")] = "Asia/Bangkok",
) -> None:
    """Create an agency and print the join code its staff need."""
    from sqlmodel import select

    from storage.agencies import new_join_code
    from storage.db import transaction
    from storage.models import Agency

    async def work(app: App) -> str | None:
        async with transaction(app.sessions) as session:
            found = (await session.exec(select(Agency).where(Agency.code == code))).first()
            if found is not None:
                return None
            join_code = new_join_code()
            session.add(Agency(code=code, name=name, timezone=timezone, join_code=join_code))
            return join_code

    join_code = _with_app(work)
    if join_code is None:
        typer.echo(f"agency {code} already exists", err=True)
        raise typer.Exit(1)
    typer.echo(f"created agency {code}")
    typer.echo(_join_instructions(join_code))


@agency_cli.command("join-code")
def agency_join_code(
    code: Annotated[str, typer.Option(help="The agency's code.")],
    renew: Annotated[
        bool, typer.Option("--renew", help="Replace the join code (the old one stops working).")
    ] = False,
) -> None:
    """Show an agency's join code, or replace it with --renew."""
    from sqlmodel import select

    from storage import audit
    from storage.agencies import new_join_code
    from storage.db import transaction
    from storage.models import Agency

    async def work(app: App) -> str | None:
        async with transaction(app.sessions) as session:
            agency = (await session.exec(select(Agency).where(Agency.code == code))).first()
            if agency is None:
                return None
            if renew or not agency.join_code:
                agency.join_code = new_join_code()
                session.add(agency)
                audit.record(session, app.clock.now(), "agency.join_code_renewed", agency=code)
            return agency.join_code

    join_code = _with_app(work)
    if join_code is None:
        typer.echo(f"no agency with code {code}", err=True)
        raise typer.Exit(1)
    typer.echo(_join_instructions(join_code))


@agency_cli.command("headcount")
def agency_headcount(
    code: Annotated[str, typer.Option(help="The agency's code.")],
    count: Annotated[int | None, typer.Option(help="How many staff (omit to list).")] = None,
    unit: Annotated[str | None, typer.Option(help="The unit (omit for none).")] = None,
    group: Annotated[
        str | None, typer.Option(help="Personnel group: g1..g6 or 1..6 (omit for none).")
    ] = None,
) -> None:
    """Record how many staff a unit and personnel group has, or list the headcount."""
    from sqlmodel import select

    from jobs.staff_list import group_id, set_headcount
    from storage.db import transaction
    from storage.models import Agency
    from storage.reports import headcounts

    if count is not None and count < 0:
        raise typer.BadParameter("--count must be 0 or more")

    async def work(app: App) -> list | None:
        listing = count is None  # only reads: no need for SQLite's write lock
        async with transaction(app.read_sessions if listing else app.sessions) as session:
            agency = (await session.exec(select(Agency).where(Agency.code == code))).first()
            if agency is None:
                return None
            if count is not None:
                try:
                    wanted = group_id(app.content, group or "")
                except ValueError:
                    raise typer.BadParameter(f"unknown personnel group {group!r}") from None
                await set_headcount(session, agency, unit, wanted, count)
            return await headcounts(session, agency.id)  # type: ignore[arg-type]

    cells = _with_app(work)
    if cells is None:
        typer.echo(f"no agency with code {code}", err=True)
        raise typer.Exit(1)
    for cell in sorted(cells, key=lambda c: (c.unit, c.personnel_group)):
        typer.echo(f"{cell.unit or '-'}\t{cell.personnel_group or '-'}\t{cell.count}")
    typer.echo(f"total\t\t{sum(c.count for c in cells)}")


@agency_cli.command("staff")
def agency_staff(
    code: Annotated[str, typer.Option(help="The agency's code.")],
    import_file: Annotated[
        Path,
        typer.Option(
            "--import",
            help="XLSX or CSV with the columns unit, group and (optional) staff code.",
        ),
    ],
) -> None:
    """Import the agency's staff list (replacing the last one and the headcount)."""
    from sqlmodel import select

    from jobs.staff_list import StaffListError, import_staff_list, read_staff_list
    from storage import audit
    from storage.db import transaction
    from storage.models import Agency

    async def work(app: App) -> int | None:
        lines = read_staff_list(import_file, app.content)
        async with transaction(app.sessions) as session:
            agency = (await session.exec(select(Agency).where(Agency.code == code))).first()
            if agency is None:
                return None
            imported = await import_staff_list(session, agency, lines)
            audit.record(
                session, app.clock.now(), "agency.staff_imported", agency=code, lines=imported
            )
            return imported

    try:
        imported = _with_app(work)
    except StaffListError as exc:
        typer.echo(f"staff list error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if imported is None:
        typer.echo(f"no agency with code {code}", err=True)
        raise typer.Exit(1)
    typer.echo(f"imported {imported} staff into {code}; the headcount now follows the list")


@agency_cli.command("units")
def agency_units(
    code: Annotated[str, typer.Option(help="The agency's code.")],
    add: Annotated[list[str] | None, typer.Option(help="A unit to add (repeatable).")] = None,
) -> None:
    """List an agency's units, adding any given with --add."""
    from sqlmodel import select

    from jobs.staff_list import ensure_units
    from storage.db import transaction
    from storage.models import Agency, Unit

    async def work(app: App) -> list[str] | None:
        listing = not any(u.strip() for u in add or [])  # only reads
        async with transaction(app.read_sessions if listing else app.sessions) as session:
            agency = (await session.exec(select(Agency).where(Agency.code == code))).first()
            if agency is None:
                return None
            await ensure_units(session, agency, {u.strip() for u in add or [] if u.strip()})
            found = await session.exec(select(Unit.name).where(Unit.agency_id == agency.id))
            return sorted(found.all())

    units = _with_app(work)
    if units is None:
        typer.echo(f"no agency with code {code}", err=True)
        raise typer.Exit(1)
    for unit in units:
        typer.echo(unit)


@cli.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    format: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    agency: Annotated[str | None, typer.Option("--agency", help="Agency code.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="XLSX headings: th or en.")] = None,
    names: Annotated[
        bool,
        typer.Option(
            "--with-names/--no-names",
            help="Numbers only (the default: for the report to the OCSC), or names too "
            "for use inside the agency (the export is audited either way).",
        ),
    ] = False,
    fiscal_year: Annotated[
        str | None,
        typer.Option(
            "--fiscal-year", help="Thai fiscal year, e.g. 2570 (default: the current one)."
        ),
    ] = None,
) -> None:
    """Write the report for OCSC: CSV (one row per person) or XLSX (summary by unit and
    personnel group, per person, per skill; Thai headings, Buddhist Era dates)."""
    from jobs.exports import export_report

    if format not in ("csv", "xlsx"):
        raise typer.BadParameter("--format must be csv or xlsx")
    if format == "xlsx" and not agency:
        raise typer.BadParameter("--agency is required for xlsx (the report is per agency)")
    if lang not in (None, "th", "en"):
        raise typer.BadParameter("--lang must be th or en")
    year = None
    if fiscal_year is not None:
        from handlers.reports.period import parse_fiscal_year

        year = parse_fiscal_year(fiscal_year)
        if year is None:
            raise typer.BadParameter("--fiscal-year must look like 2570 (or 2027)")

    async def work(app: App) -> int | None:
        return await export_report(
            app.sessions,
            app.content,
            app.clock,
            out,
            format,
            agency,
            lang or app.policy.lang,
            year=year,
            timezone=app.policy.timezone,
            names=names,
        )

    count = _with_app(work)
    if count is None:
        typer.echo(f"no agency with code {agency}", err=True)
        raise typer.Exit(1)
    typer.echo(f"wrote {count} people to {out}")


@admin_cli.command("invite")
def admin_invite(
    agency: Annotated[str, typer.Option("--agency", help="The agency's code.")],
    role: Annotated[str, typer.Option("--role", help="head or member.")] = "member",
    hours: Annotated[
        int | None,
        typer.Option("--hours", help="How long the code lasts (default DLCOACH_INVITE_HOURS)."),
    ] = None,
) -> None:
    """Print a one-time invite code; the person redeems it in a private chat with /admin CODE."""
    from datetime import timedelta

    from sqlmodel import select

    from handlers.admin.access import create_invite
    from storage.db import transaction
    from storage.models import Agency
    from storage.models.admin import ROLES

    if role not in ROLES:
        raise typer.BadParameter("--role must be head or member")
    if hours is not None and hours < 1:
        raise typer.BadParameter("--hours must be at least 1")
    app = _app()
    valid_for = timedelta(hours=hours or app.settings.dlcoach_invite_hours)

    async def work(app: App) -> str | None:
        async with transaction(app.sessions) as session:
            found = (await session.exec(select(Agency).where(Agency.code == agency))).first()
            if found is None:
                return None
            return await create_invite(session, found, role, app.clock.now(), valid_for)

    code = _with_app(work, app)
    if code is None:
        typer.echo(f"no agency with code {agency}", err=True)
        raise typer.Exit(1)
    typer.echo(code)
    typer.echo(
        f"one-time {role} code for {agency}, valid for {valid_for.total_seconds() / 3600:g} hours:"
        " redeem it in a private chat with the bot as /admin CODE",
        err=True,
    )


def _settings_with(field: str) -> Settings:
    """The settings, or exit code 2 when `field` (say line_channel_access_token) is unset."""
    settings = _settings()
    if not getattr(settings, field):
        typer.echo(f"{field.upper()} is not set", err=True)
        raise typer.Exit(2)
    return settings


def _line_settings() -> Settings:
    return _settings_with("line_channel_access_token")


def _platform_call(call: Awaitable[T], platform: str) -> T:
    """Run one call to a platform; a refusal or a network failure is one clear line
    and exit code 1, never a traceback."""
    try:
        return asyncio.run(call)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - the SDKs raise many kinds; all mean "it failed"
        typer.echo(f"{platform} refused or could not be reached: {exc}", err=True)
        raise typer.Exit(1) from exc


@line_cli.command("richmenu")
def line_richmenu(
    lang: Annotated[str | None, typer.Option("--lang", help="th or en.")] = None,
    image_out: Annotated[
        Path | None,
        typer.Option("--image-out", help="Also save the drawn images in this folder."),
    ] = None,
    relink: Annotated[
        bool,
        typer.Option("--relink", help="Link every chat's menu again, even if none changed."),
    ] = False,
) -> None:
    """Create or update the menus under the LINE chat (one per part of the journey,
    and the working group's); running it again changes only what differs."""
    from bot.channels.line.richmenu import draw_all, install
    from content.loader import load_content
    from storage.accounts import forget_menus
    from storage.db import transaction

    settings = _line_settings()
    if lang not in (None, "th", "en"):
        raise typer.BadParameter("--lang must be th or en")
    try:
        content = load_content(settings.dlcoach_content_dir)
    except ContentError as exc:
        typer.echo(f"content error: {exc}", err=True)
        raise typer.Exit(2) from exc
    drawn = draw_all(content, lang or settings.default_lang)
    if image_out is not None:
        image_out.mkdir(parents=True, exist_ok=True)
        for item in drawn:
            (image_out / f"{item.sheet.alias}.png").write_bytes(item.image)
    done = _platform_call(install(settings, drawn), "LINE")
    kept = len(done.menus) - len(done.created)
    typer.echo(
        f"rich menus: {len(done.menus)} ({len(done.created)} created, {kept} unchanged, "
        f"{len(done.deleted)} older ones deleted); aliases set: {len(done.aliases_set)}"
    )
    if not done.changed and not relink:
        typer.echo("nothing changed")
        return

    async def work(app: App) -> int:
        async with transaction(app.sessions) as session:
            return await forget_menus(session, "line")

    try:
        again = _with_app(work, _app(settings))
    except Exception as exc:  # noqa: BLE001 - the database: one clear line, not a traceback
        typer.echo(
            f"the menus are on LINE, but the database could not be told ({exc}); "
            "run `dlcoach line richmenu --relink` when it answers",
            err=True,
        )
        raise typer.Exit(1) from exc
    typer.echo(f"{again} LINE chats get their menu again with their next message")


@line_webhook_cli.command("set")
def line_webhook_set(
    url: Annotated[
        str | None,
        typer.Option("--url", help="Default: DLCOACH_PUBLIC_URL + /webhooks/line."),
    ] = None,
) -> None:
    """Point LINE's webhook at this bot and have LINE send it a test event."""
    from bot.channels.line.endpoint import expected_endpoint, set_endpoint

    settings = _line_settings()
    target = url or expected_endpoint(settings)
    if not target:
        typer.echo("give --url, or set DLCOACH_PUBLIC_URL (the bot's https address)", err=True)
        raise typer.Exit(2)
    trial = _platform_call(set_endpoint(settings, target), "LINE")
    typer.echo(f"LINE webhook endpoint: {target}")
    if not trial.success:
        typer.echo(
            f"LINE's test call failed ({trial.reason}: {trial.detail}): is `dlcoach serve` "
            "running at that address, with this LINE_CHANNEL_SECRET?",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"LINE's test call: {trial.status_code} {trial.reason}")


@line_webhook_cli.command("info")
def line_webhook_info() -> None:
    """Show the webhook endpoint LINE holds, and whether it is this bot's."""
    from bot.channels.line.endpoint import read_endpoint

    found = _platform_call(read_endpoint(_line_settings()), "LINE")
    typer.echo(f"endpoint: {found.url or '(not set)'}")
    typer.echo(f"active: {'yes' if found.active else 'no'}")
    if found.expected is None:
        typer.echo("DLCOACH_PUBLIC_URL is not set: cannot say whether it is this bot's")
    elif not found.matches:
        typer.echo(f"expected: {found.expected} (fix: dlcoach line webhook set)", err=True)
        raise typer.Exit(1)


def _telegram_settings() -> Settings:
    return _settings_with("telegram_bot_token")


def _print_webhook(info) -> None:  # noqa: ANN001 - telegram.WebhookInfo
    typer.echo(f"url: {info.url or '(none: long polling)'}")
    typer.echo(f"pending updates: {info.pending_update_count}")
    if info.last_error_message:
        typer.echo(f"last error: {info.last_error_message}")


@telegram_webhook_cli.command("set")
def telegram_webhook_set() -> None:
    """Register TELEGRAM_WEBHOOK_URL (with TELEGRAM_WEBHOOK_SECRET) at Telegram."""
    from bot.channels.telegram.webhook import set_webhook

    settings = _telegram_settings()
    if not settings.telegram_webhook_url:
        typer.echo("TELEGRAM_WEBHOOK_URL is not set (without it the bot long-polls)", err=True)
        raise typer.Exit(2)
    _print_webhook(_platform_call(set_webhook(settings), "Telegram"))


@telegram_webhook_cli.command("info")
def telegram_webhook_info() -> None:
    """Show the webhook Telegram holds, and whether it is TELEGRAM_WEBHOOK_URL."""
    from bot.channels.telegram.webhook import webhook_info

    settings = _telegram_settings()
    info = _platform_call(webhook_info(settings), "Telegram")
    _print_webhook(info)
    wanted = settings.telegram_webhook_url or ""
    if info.url != wanted:
        fix = "dlcoach telegram webhook set" if wanted else "dlcoach telegram webhook delete"
        typer.echo(f"expected: {wanted or '(none: long polling)'} (fix: {fix})", err=True)
        raise typer.Exit(1)


@telegram_webhook_cli.command("delete")
def telegram_webhook_delete() -> None:
    """Remove the webhook, so that the bot can long-poll."""
    from bot.channels.telegram.webhook import delete_webhook

    _platform_call(delete_webhook(_telegram_settings()), "Telegram")
    typer.echo("webhook removed: the bot can long-poll")


@outbox_cli.command("status")
def outbox_status() -> None:
    """How many messages wait, were sent or failed per channel; the latest failures."""
    from storage import outbox as queries
    from storage.timeutil import as_utc

    async def work(app: App) -> tuple[list, list]:
        async with app.read_sessions() as session:
            return await queries.status_lines(session), await queries.failed_rows(session)

    lines, failed = _with_app(work)
    now = _now()
    typer.echo(f"{'channel':<10} {'status':<10} {'rows':>8}  oldest")
    for line in lines:
        age = _age(now - as_utc(line.oldest)) if line.oldest else "-"
        typer.echo(f"{line.channel:<10} {line.status:<10} {line.count:>8}  {age}")
    if not lines:
        typer.echo("(the outbox is empty)")
    if failed:
        typer.echo("\nfailed (newest first; dlcoach outbox retry --id N to send again):")
        for row in failed:
            error = (row.last_error or "").replace("\n", " ")[:120]
            typer.echo(
                f"  #{row.id} {row.channel} {row.kind} {as_utc(row.created_at):%Y-%m-%d %H:%M} UTC  {error}"
            )


@outbox_cli.command("retry")
def outbox_retry(
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="A failed row (repeatable).")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    all_failed: Annotated[bool, typer.Option("--all", help="Every failed row.")] = False,
) -> None:
    """Send failed messages again (after fixing what made them fail)."""
    from storage import outbox as queries
    from storage.db import transaction

    if not ids and not all_failed and channel is None:
        typer.echo("say which: --id N (repeatable), --channel NAME or --all", err=True)
        raise typer.Exit(2)

    async def work(app: App) -> int:
        async with transaction(app.sessions) as session:
            return await queries.retry_failed(
                session, app.clock.now(), row_ids=ids or None, channel=channel
            )

    count = _with_app(work)
    typer.echo(f"{count} failed message(s) queued again; a running `dlcoach serve` sends them.")


def _now():  # noqa: ANN202
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _age(delta) -> str:  # noqa: ANN001
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}min"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def main() -> None:
    try:
        cli()
    except BrokenPipeError:
        sys.exit(0)
