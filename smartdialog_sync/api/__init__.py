"""The one SmartDialog API client of smartdialog-sync, with its settings, limiter, retry policy and models."""

from .. import errors
from . import models
from .client import SmartDialogClient
from .config import ClientSettings, RateLimit, Secret
from .resolve import resolve_settings
from .limiter import SlidingWindowLimiter
from .retry import RetryPolicy

__all__ = [
    "ClientSettings",
    "RateLimit",
    "RetryPolicy",
    "Secret",
    "SlidingWindowLimiter",
    "SmartDialogClient",
    "errors",
    "models",
    "resolve_settings",
]
