/** The barriers of one task group: a task waiting at a barrier continues once every task of the group has
 * reached it or has ended (a task that ended can never arrive, and Batch does not hang the others on it). */
export class Barriers {
  private readonly arrived = new Map<number, Set<number>>();
  private readonly ended = new Set<number>();
  private readonly waiters: { position: number; release: () => void }[] = [];

  constructor(private readonly taskCount: number) {}

  arrive(position: number, task: number): Promise<void> {
    let tasks = this.arrived.get(position);
    if (!tasks) this.arrived.set(position, (tasks = new Set()));
    tasks.add(task);
    const waiting = new Promise<void>((release) => this.waiters.push({ position, release }));
    this.releaseReady();
    return waiting;
  }

  end(task: number): void {
    this.ended.add(task);
    this.releaseReady();
  }

  private complete(position: number): boolean {
    const tasks = this.arrived.get(position) ?? new Set<number>();
    let count = tasks.size;
    for (const task of this.ended) if (!tasks.has(task)) count++;
    return count >= this.taskCount;
  }

  private releaseReady(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (!this.complete(waiter.position)) continue;
      this.waiters.splice(i, 1);
      waiter.release();
    }
  }
}
