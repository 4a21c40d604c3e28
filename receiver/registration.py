"""Idempotent NewMessage webhook registration, remembered in the journal database.

SmartDialog has no operation that lists webhooks, so the journal is the only record: a restart with
the same endpoint URL registers nothing new; a changed URL replaces the old registration.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Protocol

from smartdialog_sync import errors
from smartdialog_sync.api import models

from smartdialog_sync.journal import JournalStore, Registration
from .payloads import now_us
from .secret import mask_secret

log = logging.getLogger("receiver.registration")


class WebhookApi(Protocol):
    """The part of SmartDialogClient that registration uses."""

    def get_customer_services(self, customer_id: str, service_type: str = ...) -> list[models.Service]: ...

    def new_message_webhook(self, customer: str, service: str, endpoint_url: str) -> models.WebhookRegistration: ...

    def delete_trigger(self, pipeline_id: str, action_id: str) -> None: ...


def endpoint_fingerprint(endpoint_url: str) -> str:
    """A one-way digest of the endpoint URL (which carries the secret), to compare without storing it."""
    return hashlib.sha256(endpoint_url.encode()).hexdigest()


def two_way_services(api: WebhookApi, customer: str) -> list[str]:
    """The ids of a customer's two-way services."""
    return [service.id for service in api.get_customer_services(customer, "TwoWay")]


def register_webhooks(
    api: WebhookApi, store: JournalStore, customer: str, services: list[str], endpoint_url: str
) -> list[Registration]:
    """Make sure each service of `customer` posts new messages to `endpoint_url`, exactly once.

    Returns the registrations created by this call (empty when all were there already).
    """
    fingerprint = endpoint_fingerprint(endpoint_url)
    created = []
    with store.registration_lock():
        for service in services:
            existing = store.get_registration(customer, service)
            if existing is not None and existing.endpoint_fingerprint == fingerprint:
                log.info("webhook of %s/%s already registered (action %s)", customer, service, existing.action_id)
                continue
            if existing is not None:
                _delete_at_smartdialog(api, existing)
                store.delete_registration(customer, service)
            answer = api.new_message_webhook(customer, service, endpoint_url)
            registration = Registration(
                customer,
                service,
                fingerprint,
                mask_secret(endpoint_url),
                answer.pipeline_id,
                answer.action_id,
                answer.location,
                now_us(),
            )
            store.save_registration(registration)
            log.info("registered webhook of %s/%s -> %s", customer, service, registration.endpoint_url_masked)
            created.append(registration)
    return created


def unregister_webhooks(
    api: WebhookApi, store: JournalStore, customer: str | None = None, services: list[str] | None = None
) -> list[Registration]:
    """Delete the saved registrations (all, or those of `customer` / `services`) at SmartDialog and here."""
    removed = []
    with store.registration_lock():
        for registration in store.list_registrations():
            if customer is not None and registration.customer != customer:
                continue
            if services and registration.service not in services:
                continue
            _delete_at_smartdialog(api, registration)
            store.delete_registration(registration.customer, registration.service)
            log.info("unregistered webhook of %s/%s", registration.customer, registration.service)
            removed.append(registration)
    return removed


def _delete_at_smartdialog(api: WebhookApi, registration: Registration) -> None:
    if not (registration.pipeline_id and registration.action_id):
        return
    try:
        api.delete_trigger(registration.pipeline_id, registration.action_id)
    except errors.NotFound:
        log.info("webhook of %s/%s was already gone", registration.customer, registration.service)
