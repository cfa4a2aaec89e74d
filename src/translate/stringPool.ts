// One copy of each recurring string. JSON.parse makes a new string for every value it reads, so ten thousand
// cached resources each hold their own "The job has not ended.", their own machine type, their own
// condition reasons and timestamps: a third of what a tracked resource costs. A pool hands back the copy it
// already holds. It is a fixed table with one string per slot (a new string replaces the slot's old one),
// so it never grows, a string seen once costs nothing lasting, and the recurring ones stay because they
// keep coming back. JavaScript has no interning of its own that a program can call, hence this.

/** Strings longer than this are left alone: long values (a template, a message that names its job) rarely
 * recur. */
const MAX_POOLED_LENGTH = 200;

export class StringPool {
  private readonly slots: (string | undefined)[];
  private readonly mask: number;

  /** `size`: slots, rounded up to a power of two. */
  constructor(size = 4096) {
    let n = 1;
    while (n < size) n *= 2;
    this.slots = new Array<string | undefined>(n).fill(undefined);
    this.mask = n - 1;
  }

  /** The pool's copy of `s`, which becomes the copy when the slot held another string. */
  intern(s: string): string {
    if (s.length > MAX_POOLED_LENGTH) return s;
    // FNV-1a over the UTF-16 code units.
    let hash = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) hash = Math.imul(hash ^ s.charCodeAt(i), 0x01000193);
    const slot = (hash >>> 0) & this.mask;
    const held = this.slots[slot];
    if (held === s) return held;
    this.slots[slot] = s;
    return s;
  }

  /** Replaces, in place, every string value (and array element) of a JSON-shaped value with the pool's copy;
   * returns the value. Keys are left alone: V8 already keeps one copy of each property name. */
  internAll<T>(value: T): T {
    this.walk(value, 0);
    return value;
  }

  private walk(value: unknown, depth: number): void {
    // Objects from JSON are bounded in depth by the API server; the bound here only guards against cycles.
    if (depth > 64 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'string') value[i] = this.intern(item);
        else this.walk(item, depth + 1);
      }
      return;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === 'string') record[key] = this.intern(item);
      else this.walk(item, depth + 1);
    }
  }
}
