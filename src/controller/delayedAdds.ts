// The work queue's delayed adds (requeueAfter, back-off): one timer for all of them, armed for the earliest,
// over a binary heap of due times. A timer per key cost a Node Timeout object, its closure and, with jittered
// delays, a timer list per distinct duration for every tracked resource; this costs a small heap entry. As
// in client-go's delaying queue, an earlier add of a key wins over a later one.
//
// Time is the queue's own: the later of its clock's now and the due time the timer last fired for, so that a
// clock that does not move with the timers (a test's) still lets each timer fire what it was armed for.
interface Entry {
  at: number;
  key: string;
}

export class DelayedAdds {
  /** Each waiting key's due time; a heap entry whose time differs is stale (the key was moved earlier). */
  private readonly due = new Map<string, number>();
  private heap: Entry[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private firedAt = -Infinity;

  constructor(
    private readonly clockNow: () => number,
    private readonly fire: (key: string) => void,
  ) {}

  now(): number {
    return Math.max(this.clockNow(), this.firedAt);
  }

  /** Adds `key` at `at` unless it is due no later already. */
  schedule(key: string, at: number): void {
    const pending = this.due.get(key);
    if (pending !== undefined && pending <= at) return;
    this.due.set(key, at);
    this.push({ at, key });
    // Moved-earlier keys leave stale entries behind; they are dropped as they surface, or all at once here.
    if (this.heap.length > 2 * this.due.size + 1024) this.compact();
    if (at < this.timerAt) this.arm();
  }

  size(): number {
    return this.due.size;
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.due.clear();
    this.heap = [];
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    const top = this.live();
    if (!top) return;
    this.timerAt = top.at;
    this.timer = setTimeout(() => this.run(), Math.max(0, top.at - this.now()));
    this.timer.unref?.();
  }

  private run(): void {
    this.timer = undefined;
    this.firedAt = Math.max(this.firedAt, this.timerAt);
    this.timerAt = Infinity;
    const now = this.now();
    for (let top = this.live(); top && top.at <= now; top = this.live()) {
      this.pop();
      this.due.delete(top.key);
      this.fire(top.key);
    }
    this.arm();
  }

  /** The earliest entry that is not stale, stale ones above it dropped. */
  private live(): Entry | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.due.get(top.key) === top.at) return top;
      this.pop();
    }
    return undefined;
  }

  private compact(): void {
    this.heap = [];
    for (const [key, at] of this.due) this.push({ at, key });
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
