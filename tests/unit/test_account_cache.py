"""AccountCache: kept only while vouched for, and never a row read before a change it missed."""

from __future__ import annotations

from chartkeeper.security.account_cache import AccountCache


class Loader:
    """Counts database reads; ``during`` runs in the middle of one (a change racing it)."""

    def __init__(self, value: object = "row") -> None:
        self.value = value
        self.reads = 0
        self.during: list[object] = []

    def __call__(self) -> object:
        self.reads += 1
        for action in self.during:
            action()  # type: ignore[operator]
        self.during = []
        return self.value


def test_not_vouched_for_reads_the_database_every_time() -> None:
    cache, load = AccountCache(), Loader()
    assert [cache.get("client", "lab", load) for _ in range(3)] == ["row"] * 3
    assert load.reads == 3 and cache.hits == 0


def test_vouched_for_reads_once_until_a_change_is_heard() -> None:
    cache, load = AccountCache(), Loader()
    cache.set_live(True)
    assert cache.get("client", "lab", load) == cache.get("client", "lab", load) == "row"
    assert load.reads == 1 and cache.hits == 1
    cache.invalidate()
    load.value = "changed"
    assert cache.get("client", "lab", load) == "changed" and load.reads == 2
    assert cache.get("user", "lab", load) == "changed" and load.reads == 3  # kinds are apart


def test_a_read_that_races_a_change_is_returned_but_not_kept() -> None:
    cache, load = AccountCache(), Loader("before the change")
    cache.set_live(True)
    load.during = [cache.invalidate]  # the notice arrives while the row is being read
    assert cache.get("client", "lab", load) == "before the change"
    load.value = "after"
    assert cache.get("client", "lab", load) == "after" and load.reads == 2


def test_losing_the_listener_drops_everything_and_stops_keeping() -> None:
    cache, load = AccountCache(), Loader()
    cache.set_live(True)
    cache.get("client", "lab", load)
    cache.set_live(False)
    load.value = "new"
    assert cache.get("client", "lab", load) == "new"
    assert cache.get("client", "lab", load) == "new" and load.reads == 3
    load.during = [lambda: cache.set_live(True)]  # went live mid-read: that read is not kept
    cache.get("client", "lab", load)
    cache.get("client", "lab", load)
    assert load.reads == 5 and cache.hits == 0
    cache.get("client", "lab", load)
    assert load.reads == 5 and cache.hits == 1


def test_unknown_names_are_not_kept_and_the_copy_is_bounded() -> None:
    cache, missing = AccountCache(max_entries=3), Loader(None)
    cache.set_live(True)
    assert cache.get("client", "nobody", missing) is None
    assert cache.get("client", "nobody", missing) is None and missing.reads == 2
    for n in range(10):
        cache.get("client", f"c{n}", Loader())
    assert len(cache._entries) <= 3


def test_no_read_returns_a_row_older_than_a_change_already_heard() -> None:
    """Threads race: a writer changes the "database" and then delivers the notice (as
    PostgreSQL does after the commit); readers check tokens meanwhile. Whatever interleaving
    the threads take, a check that starts after a notice was delivered never gets a row older
    than the change that notice announced."""
    import threading
    import time

    database = {"version": 0}
    heard = {"version": 0}  # the newest change whose notice has been delivered
    cache = AccountCache()
    cache.set_live(True)
    stale: list[tuple[int, int]] = []
    stop = threading.Event()

    def load() -> dict[str, int]:
        row = dict(database)
        time.sleep(0.0002)  # let a change land between the read and the store
        return row

    def writer() -> None:
        for version in range(1, 120):
            database["version"] = version
            time.sleep(0.0001 * (version % 3))  # the notice comes some time after the commit
            cache.invalidate()
            heard["version"] = version
            time.sleep(0.0003)
        stop.set()

    def reader() -> None:
        while not stop.is_set():
            floor = heard["version"]
            row = cache.get("client", "feed", load)
            assert row is not None
            if row["version"] < floor:
                stale.append((row["version"], floor))

    threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not stale, stale[:5]
    assert cache.hits > 0  # the copy was used in between changes
