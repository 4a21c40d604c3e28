from tests.receiver.harness import receiver_factory  # noqa: F401
