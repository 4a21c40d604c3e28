"""The server helpers the tests share live in the product (the demo uses them too)."""

from smartdialog_sync.pipelines.servers import free_port, wait_for_port

__all__ = ["free_port", "wait_for_port"]
