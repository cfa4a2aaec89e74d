// Which Events were written lately, so that a repeat within the series window bumps the earlier Event's count
// instead of creating another. Bounded like client-go's event correlator (an LRU of 4,096 entries): the Map
// keeps its entries in order of last use, so expiry and eviction take them from the front, and each record
// costs O(1) however many resources the controller tracks. An entry forgotten early only means a new Event
// where a count would have gone up.
export const SERIES_WINDOW_MS = 10 * 60_000;
export const MAX_SERIES = 4096;

export interface Series {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

export class EventSeries {
  private readonly recent = new Map<string, Series>();

  constructor(
    private readonly windowMs = SERIES_WINDOW_MS,
    private readonly max = MAX_SERIES,
  ) {}

  /** The series the key continues at `now`, its count already raised; undefined when it starts a new one. */
  continued(key: string, now: number): Series | undefined {
    const previous = this.recent.get(key);
    if (!previous) return undefined;
    this.recent.delete(key);
    if (now - previous.at >= this.windowMs) return undefined;
    previous.count++;
    previous.at = now;
    this.recent.set(key, previous);
    return previous;
  }

  /** Remembers a new Event as the start of its series. */
  started(key: string, series: Omit<Series, 'count'>): void {
    this.recent.delete(key);
    this.recent.set(key, { ...series, count: 1 });
    for (const [oldest, value] of this.recent) {
      if (this.recent.size <= this.max && series.at - value.at < this.windowMs) break;
      this.recent.delete(oldest);
    }
  }

  size(): number {
    return this.recent.size;
  }
}
