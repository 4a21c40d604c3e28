from tests.receiver.harness import journal_url, postgres_url, receiver_factory, shared_receiver  # noqa: F401
