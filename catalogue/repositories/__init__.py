"""Repositories: the catalogue's rules over any ItemStore, one module per resource."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from catalogue.store.base import ItemStore

from .audit import AuditRepository
from .change_events import ChangeEventRepository
from .datasets import DatasetRepository
from .distributions import DistributionRepository
from .editions import EditionRepository
from .events import EventRepository
from .permissions import PermissionRepository
from .sessions import SessionRepository
from .subscriptions import SubscriptionRepository
from .tokens import TokenRepository
from .versions import VersionRepository


class Repositories:
    """Every repository over one store and one clock."""

    def __init__(
        self,
        store: ItemStore,
        clock: Callable[[], datetime],
        admins: Iterable[str] | None = (),
    ) -> None:
        self.store = store
        self.datasets = DatasetRepository(store, clock)
        # Deletes of versions and editions may take distributions with them.
        changed = self.datasets.refresh_formats
        self.versions = VersionRepository(store, clock, changed)
        self.editions = EditionRepository(store, clock, changed)
        self.distributions = DistributionRepository(store, clock, self.editions, changed)
        self.audit = AuditRepository(store, clock)
        self.change_events = ChangeEventRepository(store, clock)
        self.subscriptions = SubscriptionRepository(store, clock, admins)
        self.permissions = PermissionRepository(store, clock)
        self.tokens = TokenRepository(store, clock)
        self.sessions = SessionRepository(store, clock)
        self.events = EventRepository(store, clock)
