"""The parametrised store fixture gives an initialised database on both backends."""

from mineaction.store.engine import Store


def test_store_is_at_head(store: Store) -> None:
    assert store.current_revision() == store.head_revision()
