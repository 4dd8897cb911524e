"""Story cluster storage: which items report the same event."""

from __future__ import annotations

from monitor.models import Item
from monitor.store.base import StoreBase


class ClustersMixin(StoreBase):
    """Queries over the clusters table and items.cluster_id."""

    def cluster_items(self, cluster_id: str | None) -> list[Item]:
        """Every item of a story, first report first (placeholder until clustering lands: none)."""
        return []

    def mark_cluster_read(self, item_id: str, read: bool = True) -> int:
        """Mark an item and the rest of its story read (placeholder: the item alone)."""
        return self.set_read([item_id], read)  # type: ignore[attr-defined, no-any-return]
