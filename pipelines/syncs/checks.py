"""The online part of `sdsync syncs check`: the customers, group services and services syncs name exist."""

from __future__ import annotations

from collections.abc import Sequence

from smartdialog_sync.api import SmartDialogClient

from .definitions import SyncDefinition

SERVICE_TYPES = {"group_service": ("Group",), "service": ("OneWay", "TwoWay")}


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
        for key, types in SERVICE_TYPES.items():
            wanted = definition.options.get(key)
            if wanted is None:
                continue
            known = set().union(*(_services(api, services, customer, kind) for kind in types))
            if wanted not in known:
                problems.append(f"[syncs.{definition.name}] {key}: customer {customer!r} has no "
                                f"{'/'.join(types)} service {wanted!r}")
    return problems


def _services(api: SmartDialogClient, cache: dict[tuple[str, str], set[str]], customer: str, kind: str) -> set[str]:
    if (customer, kind) not in cache:
        cache[customer, kind] = {service.id for service in api.get_customer_services(customer, kind)}  # type: ignore[arg-type]
    return cache[customer, kind]
