// A first-in-first-out line whose take is O(1): Array.prototype.shift moves every element behind. Used by
// the work queue's lines and by the emulator's log store.
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      // Copying once the dead front outweighs the rest keeps each take O(1) amortised and frees the front.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The item `index` places behind the front. */
  at(index: number): T | undefined {
    return this.items[this.head + index];
  }

  /** Items from `start` (an index into the live part) on. */
  *from(start = 0): IterableIterator<T> {
    for (let i = this.head + start; i < this.items.length; i++) yield this.items[i]!;
  }

  /** Keeps only the items `keep` accepts, in order. */
  retain(keep: (item: T) => boolean): void {
    this.items = (this.items.slice(this.head) as T[]).filter(keep);
    this.head = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
