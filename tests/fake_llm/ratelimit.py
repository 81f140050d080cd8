"""ratelimit.py: the sliding 60-second windows behind fake_llm.py's --rpm and --tpm, and Go's
duration text that OpenAI's x-ratelimit-reset-* headers use.

A request counts against a window when it arrives and is accepted (a rejected request costs
nothing, as at OpenAI). The window keeps arrival times and running totals in two lists, so
"used", "would this fit" and "when will it fit" are O(log n) even at thousands of requests a
second; expired entries are dropped in bulk.
"""
import bisect


class Window:
    """Amounts (1 per request, or tokens) added at times, limited to `limit` per `span` s."""

    def __init__(self, limit, span=60.0):
        self.limit = limit
        self.span = span
        self.times = []     # arrival times, non-decreasing
        self.cums = []      # running total after each entry
        self.head = 0       # first entry still inside the window
        self.base = 0       # running total before `head`
        self.total = 0

    def _expire(self, now):
        cut = now - self.span
        if self.head < len(self.times) and self.times[self.head] <= cut:
            self.head = bisect.bisect_right(self.times, cut, self.head)
            self.base = self.cums[self.head - 1]
            if self.head > 4096 and self.head * 2 > len(self.times):
                del self.times[:self.head]
                del self.cums[:self.head]
                self.head = 0

    def used(self, now):
        self._expire(now)
        return self.total - self.base

    def wait(self, now, amount):
        """Seconds until `amount` more fits (0 when it fits now; None when it never can)."""
        self._expire(now)
        if self.total - self.base + amount <= self.limit:
            return 0.0
        if amount > self.limit:
            return None
        # smallest j with total - cums[j] + amount <= limit: entries up to j must expire
        j = bisect.bisect_left(self.cums, self.total + amount - self.limit, self.head)
        return max(0.0, self.times[j] + self.span - now)

    def add(self, now, amount):
        self.times.append(now)
        self.total += amount
        self.cums.append(self.total)

    def reset_s(self, now):
        """OpenAI's x-ratelimit-reset-*: the time to refill what is used at the steady rate
        (limit per span), e.g. 1 request used of 10000/min -> 6ms (as the recordings show)."""
        return self.used(now) * self.span / self.limit


def go_duration(seconds):
    """Go's time.Duration text, rounded to the millisecond above 1 ms:
    0 -> "0s", 0.006 -> "6ms", 2.335 -> "2.335s", 360 -> "6m0s", 3725.5 -> "1h2m5.5s"."""
    us = int(round(seconds * 1e6))
    if us <= 0:
        return "0s"
    if us < 1000:
        return f"{us}µs"
    ms = int(round(us / 1000.0))
    if ms < 1000:
        return f"{ms}ms"
    h, rest = divmod(ms, 3600000)
    m, rest = divmod(rest, 60000)
    s = f"{rest // 1000}.{rest % 1000:03d}".rstrip("0").rstrip(".")
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"
