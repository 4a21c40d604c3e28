"""The online part of `sdsync syncs check`: the customers, group services and services syncs name exist."""

from __future__ import annotations

from collections.abc import Sequence

from smartdialog_sync.destinations.contacts.group_check import is_group_service

from smartdialog_sync.api import SmartDialogClient

from .definitions import SyncDefinition

SENDING_TYPES = ("OneWay", "TwoWay")


def online_problems(definitions: Sequence[SyncDefinition], api: SmartDialogClient) -> list[str]:
    """One line per customer, group service or service a definition names that the service does not know."""
    customers = {customer.customer_id for customer in api.get_user_customers()}
    services: dict[tuple[str, str], set[str]] = {}
    problems = []
    for definition in definitions:
        customer = definition.options.get("customer")
        if customer is None:
            continue
        if customer not in customers:
            problems.append(f"[syncs.{definition.name}] customer: unknown customer {customer!r} "
                            f"(the credentials have: {', '.join(sorted(customers)) or 'none'})")
            continue
        group_service = definition.options.get("group_service")
        if group_service is not None and not is_group_service(api, customer, group_service):
            problems.append(f"[syncs.{definition.name}] group_service: customer {customer!r} has no "
                            f"Group service {group_service!r}")
        service = definition.options.get("service")
        if service is not None and service not in set().union(*(_services(api, services, customer, kind)
                                                                for kind in SENDING_TYPES)):
            problems.append(f"[syncs.{definition.name}] service: customer {customer!r} has no "
                            f"{'/'.join(SENDING_TYPES)} service {service!r}")
    return problems


def _services(api: SmartDialogClient, cache: dict[tuple[str, str], set[str]], customer: str, kind: str) -> set[str]:
    if (customer, kind) not in cache:
        cache[customer, kind] = {service.id for service in api.get_customer_services(customer, kind)}  # type: ignore[arg-type]
    return cache[customer, kind]
