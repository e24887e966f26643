"""Resources bound to one event loop: an asyncio connection pool, an HTTP client session.

Such a resource works only in the loop it was made in. A worker process serves in one loop for
its whole life, but an app can meet several (the test client runs one per ``with`` block), so
each loop gets its own, made on first use there and closed there when that loop's app shuts
down (the app's lifespan calls ``close``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    def __init__(self, make: Callable[[], T], close: Callable[[T], Awaitable[None]]):
        self._make = make
        self._close = close
        self._made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        """The running loop's resource, made now if this loop has none yet."""
        loop = asyncio.get_running_loop()
        made = self._made.get(loop)
        if made is None:
            made = self._made[loop] = self._make()
        return made

    async def close(self) -> None:
        """Close the running loop's resource, if it has one; the next ``get`` makes another.

        It stays the loop's while it closes, so that nothing made meanwhile is left open.
        """
        loop = asyncio.get_running_loop()
        made = self._made.get(loop)
        if made is not None:
            try:
                await self._close(made)
            finally:
                self._made.pop(loop, None)

    def left_open(self) -> list[T]:
        """Resources of other loops, not closed (yet)."""
        return list(self._made.values())
