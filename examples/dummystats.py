"""dummystats: an extractor-only plugin for the events of another plugin's source (``dummy``).

It produces no events: loaded next to the dummy plugin (examples/dummy.py, or the official Go
plugin), it adds fields computed from each dummy event's sample.

    falcoplug run -p 'examples/dummy.py|{"jitter":0}|{"maxEvents":5}' -p examples/dummystats.py \\
        -o '%dummy.value %dummystats.parity %dummystats.digits[2]'
"""

from __future__ import annotations

from falcoplug.sdk import Event, ExtractPlugin, cached_per_event, field


class DummyStats(ExtractPlugin):
    """Number facts about the samples of dummy events"""

    name = "dummystats"
    version = "0.1.0"
    contact = "github.com/falcoplug"
    extract_event_sources = ["dummy"]

    @cached_per_event
    def sample(self, event: Event) -> int:
        return int(event.payload)

    @field("dummystats.parity", display="Parity")
    def parity(self, event: Event) -> str:
        """"even" or "odd"."""
        return "odd" if self.sample(event) % 2 else "even"

    @field("dummystats.digits")
    def digits(self, event: Event, base: int = 10) -> int:
        """The number of digits of the sample, in a base from 2 to 36 (default 10)."""
        if not 2 <= base <= 36:
            raise ValueError(f"base {base} is not between 2 and 36")
        n, count = self.sample(event), 1
        while n >= base:
            n //= base
            count += 1
        return count

    @field("dummystats.prime")
    def prime(self, event: Event) -> bool:
        """Whether the sample is a prime number."""
        n = self.sample(event)
        if n < 2:
            return False
        return all(n % d for d in range(2, int(n**0.5) + 1))

    @field("dummystats.divisors")
    def divisors(self, event: Event) -> list[int]:
        """The divisors of the sample from 2 to 9."""
        n = self.sample(event)
        return [d for d in range(2, 10) if n % d == 0]
