// Leader election on a Lease, with client-go's semantics: a lease is judged expired by the local time its
// record was last seen to change (clocks of different machines are never compared), the leader renews
// every retry period and stops leading at once when it could not renew within the renew deadline, and a
// leader that stops releases the lease so a standby takes over without waiting for it to expire.
import type { Logger } from 'pino';
import type { Clock } from '../ports/clock.js';
import type { LeaseLock, LeaseRecord } from '../ports/leaseLock.js';

export interface LeaderElectorOptions {
  lock: LeaseLock;
  identity: string;
  clock: Clock;
  logger?: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading(signal: AbortSignal): void;
  onStoppedLeading(): void;
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: LeaseRecord | undefined;
  private observedAt = 0;
  private leading: AbortController | undefined;
  private lastRenew = 0;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
  }

  isLeader(): boolean {
    return this.leading !== undefined;
  }

  private now(): number {
    return this.opts.clock.now().getTime();
  }

  private iso(): string {
    return this.opts.clock.now().toISOString();
  }

  /** One attempt to acquire or renew; true when this instance holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const current = await this.opts.lock.get();
    const me = this.opts.identity;
    const fresh: LeaseRecord = {
      holderIdentity: me,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: this.iso(),
      renewTime: this.iso(),
      leaseTransitions: 0,
    };
    if (!current) {
      this.observe(await this.opts.lock.create(fresh), now);
      return true;
    }
    if (
      !this.observed ||
      this.observed.resourceVersion !== current.resourceVersion ||
      this.observed.renewTime !== current.renewTime
    ) {
      this.observe(current, now);
    }
    const holder = current.holderIdentity ?? '';
    const expired = now >= this.observedAt + (current.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== me && !expired) return false;
    const next: LeaseRecord =
      holder === me
        ? { ...current, renewTime: this.iso(), leaseDurationSeconds: fresh.leaseDurationSeconds }
        : {
            ...fresh,
            resourceVersion: current.resourceVersion,
            leaseTransitions: (current.leaseTransitions ?? 0) + 1,
          };
    if (current.resourceVersion) next.resourceVersion = current.resourceVersion;
    this.observe(await this.opts.lock.update(next), now);
    return true;
  }

  private observe(record: LeaseRecord, at: number): void {
    this.observed = record;
    this.observedAt = at;
  }

  run(callbacks: LeaderCallbacks): Promise<void> {
    this.running ??= this.loop(callbacks);
    return this.running;
  }

  private async loop(callbacks: LeaderCallbacks): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let held = false;
      try {
        held = await this.tryAcquireOrRenew();
      } catch (err) {
        this.opts.logger?.debug({ err: (err as Error).message }, 'lease attempt failed');
      }
      if (signal.aborted) break;
      const now = this.now();
      if (held) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = new AbortController();
          this.opts.logger?.info({ lease: this.opts.lock.describe() }, 'became leader');
          callbacks.onStartedLeading(this.leading.signal);
        }
      } else if (this.leading && now - this.lastRenew >= this.renewDeadlineMs) {
        this.loseLeadership(callbacks);
      } else if (
        this.leading &&
        this.observed?.holderIdentity !== this.opts.identity &&
        this.observed?.holderIdentity
      ) {
        this.loseLeadership(callbacks);
      }
      await this.opts.clock.sleep(this.retryPeriodMs, signal).catch(() => undefined);
    }
    if (this.leading) {
      await this.release();
      this.loseLeadership(callbacks);
    }
  }

  private loseLeadership(callbacks: LeaderCallbacks): void {
    this.opts.logger?.warn({ lease: this.opts.lock.describe() }, 'stopped leading');
    this.leading?.abort();
    this.leading = undefined;
    callbacks.onStoppedLeading();
  }

  private async release(): Promise<void> {
    if (!this.observed || this.observed.holderIdentity !== this.opts.identity) return;
    try {
      await this.opts.lock.update({
        ...this.observed,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: this.iso(),
      });
      this.opts.logger?.info('lease released');
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, 'could not release the lease');
    }
  }

  /** Stops the loop; a leader releases the lease first. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }
}
