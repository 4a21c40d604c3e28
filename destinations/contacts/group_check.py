"""Before a contact sync plans against a group service: is it a Group service of the customer?

One GetCustomerServices call (type Group) answers it. When the answer is no, the run ends with exit 2
before anything is written, naming what the customer has (id, name and type of each of its services: one
more call per service type) or, for an unknown customer, the customers the credentials may act for.
"""

from __future__ import annotations

from smartdialog_sync.api import SmartDialogClient
from smartdialog_sync.errors import NotFound, UsageError


class NotAGroupService(UsageError):
    """The group service is unknown to the customer, or of another type, or the customer is unknown."""


def is_group_service(api: SmartDialogClient, customer: str, group_service: str) -> bool:
    """Whether `group_service` is a Group service of `customer` (one call); NotFound for an unknown customer."""
    return any(service.id == group_service for service in api.get_customer_services(customer, "Group"))


def check_group_service(api: SmartDialogClient, customer: str, group_service: str) -> None:
    """Raise NotAGroupService unless `group_service` is a Group service of `customer` (one call when it is)."""
    try:
        if is_group_service(api, customer, group_service):
            return
    except NotFound:
        known = "; ".join(f"{c.customer_id} ({c.customer_name})" for c in api.get_user_customers()) or "none"
        raise NotAGroupService(f"customer {customer!r} is unknown to SmartDialog; your customers: {known}") from None
    services = api.get_customer_services_of_every_type(customer)
    kind = next((kind for kind, service in services if service.id == group_service), None)
    what = f"is a {kind} service, not a Group service" if kind else "is not a service of that customer"
    listed = "; ".join(f"{service.id} ({service.name or 'no name'}, {kind})" for kind, service in services) or "none"
    raise NotAGroupService(f"group service {group_service!r} of customer {customer!r} {what}; "
                           f"the customer's services: {listed}")
