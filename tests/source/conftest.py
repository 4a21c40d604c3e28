from tests.receiver.harness import journal_url, postgres_url, receiver_factory  # noqa: F401
from tests.source.support import destination  # noqa: F401
