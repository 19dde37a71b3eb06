"""The token cache shared by every instance: one fetch per token life, renewed when refused."""

from collections.abc import Callable

import pytest

from sms_gateway.tokens import TokenCache

pytestmark = pytest.mark.unit


class TableStandIn:
    def __init__(self) -> None:
        self.items: dict[str, tuple[str, int]] = {}

    def get_token(self, account: str) -> tuple[str, int] | None:
        return self.items.get(account)

    def put_token(self, account: str, token: str, valid_until: int) -> None:
        self.items[account] = (token, valid_until)

    def drop_token(self, account: str, token: str) -> None:
        if self.items.get(account, ("",))[0] == token:
            del self.items[account]


def fetching(fetched: list[str], token: str, lifetime: int) -> Callable[[], tuple[str, int]]:
    """The vendor's token endpoint, counting its calls in ``fetched``."""

    def fetch() -> tuple[str, int]:
        fetched.append(token)
        return token, lifetime

    return fetch


@pytest.fixture(autouse=True)
def cold_instance() -> None:
    TokenCache._memory.clear()


def test_a_second_instance_reuses_the_token_from_the_table() -> None:
    # Given one instance that fetched a token
    table, fetched = TableStandIn(), list[str]()
    TokenCache(table, "a").get(fetching(fetched, "t1", 7200))
    # When another instance (cold memory) asks
    TokenCache._memory.clear()
    token = TokenCache(table, "a").get(fetching(fetched, "t2", 7200))
    # Then it gets the shared token without fetching
    assert (token, len(fetched)) == ("t1", 1)


def test_a_token_handed_out_near_its_end_is_not_fetched_on_every_call() -> None:
    table, fetched = TableStandIn(), list[str]()
    for _ in range(3):
        TokenCache(table, "a").get(fetching(fetched, "t", 200))
    assert len(fetched) == 1


def test_a_refused_token_is_dropped_everywhere_and_fetched_again() -> None:
    table = TableStandIn()
    cache = TokenCache(table, "a")
    assert cache.get(lambda: ("old", 7200)) == "old"
    cache.invalidate("old")
    assert table.items == {}
    assert TokenCache(table, "a").get(lambda: ("new", 7200)) == "new"
