"""`sdsync api ...`: browse an account (customers, services, templates, identities, categories, regions)."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

import typer

from smartdialog_sync.constants import SERVICE_TYPES

from ..runtime import open_client, stdout
from ..tables import print_table

app = typer.Typer(help="Browse what a SmartDialog account holds, as tables or JSON.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")
CUSTOMER_OPTION = typer.Option(..., "--customer", "-c", help="Customer id (see `sdsync api customers`).")


def _show(title: str, columns: Sequence[str], rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        stdout.print_json(json.dumps(rows))
        return
    cells = [["" if row.get(column) is None else str(row.get(column)) for column in columns] for row in rows]
    print_table(stdout, title, columns, cells)


@app.command()
def customers(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """The customers your credentials may act for."""
    with open_client(ctx) as api:
        rows = [item.model_dump() for item in api.get_user_customers()]
    _show("Customers", ["customer_id", "customer_name"], rows, as_json)


@app.command()
def services(
    ctx: typer.Context,
    customer: str = CUSTOMER_OPTION,
    service_type: Optional[str] = typer.Option(
        None, "--type", help=f"One of {', '.join(SERVICE_TYPES)}; all types when left out."
    ),
    allow_reply: Optional[bool] = typer.Option(None, "--allow-reply/--no-allow-reply", help="Filter on reply support."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A customer's services (one-way, two-way and group)."""
    if service_type is not None and service_type not in SERVICE_TYPES:
        raise typer.BadParameter(f"must be one of {', '.join(SERVICE_TYPES)}", param_hint="--type")
    with open_client(ctx) as api:
        if service_type:
            found = [(service_type, item) for item in api.get_customer_services(customer, service_type, allow_reply)]  # type: ignore[arg-type]
        else:
            found = api.get_customer_services_of_every_type(customer, allow_reply)
    rows = [{**item.model_dump(), "type": kind} for kind, item in found]
    _show(f"Services of {customer}", ["id", "name", "type"], rows, as_json)


@app.command()
def templates(
    ctx: typer.Context,
    customer: str = CUSTOMER_OPTION,
    template_id: Optional[str] = typer.Option(None, help="Only this template."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A customer's WhatsApp templates."""
    with open_client(ctx) as api:
        rows = [item.model_dump() for item in api.get_customer_whatsapp_templates(customer, template_id)]
    _show(f"WhatsApp templates of {customer}", ["id", "display_name", "raw_content"], rows, as_json)


@app.command()
def identities(ctx: typer.Context, customer: str = CUSTOMER_OPTION, as_json: bool = JSON_OPTION) -> None:
    """A customer's WhatsApp identity numbers."""
    with open_client(ctx) as api:
        rows = [{"identity": number} for number in api.get_customer_whatsapp_identities(customer)]
    _show(f"WhatsApp identities of {customer}", ["identity"], rows, as_json)


@app.command()
def categories(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """The categories a WhatsApp template may have."""
    with open_client(ctx) as api:
        rows = [{"category": name} for name in api.get_whatsapp_template_categories()]
    _show("WhatsApp template categories", ["category"], rows, as_json)


@app.command()
def regions(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """The regions phone numbers can be parsed in."""
    with open_client(ctx) as api:
        rows = [item.model_dump() for item in api.get_phone_number_regions()]
    _show("Phone number regions", ["value", "name"], rows, as_json)
