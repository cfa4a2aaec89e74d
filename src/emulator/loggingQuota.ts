// Cloud Logging's read quotas, per project: entries.list calls in the last minute, and live-tailing sessions
// open at once. Past either, the call fails with RESOURCE_EXHAUSTED in Logging's wording
// (docs/batch-fidelity.md, "Cloud Logging").
import { status } from '@grpc/grpc-js';
import { ApiError } from './apiError.js';
import { EMULATOR_PROJECT_NUMBER } from './iam.js';

export interface LoggingQuota {
  /** ListLogEntries calls per project in any minute; 60 by default. */
  listPerMinute?: number;
  /** TailLogEntries sessions open at once per project; 10 by default. */
  tailSessions?: number;
}

/** cloud.google.com/logging/quotas: entries.list 60 per minute per project; open live-tailing sessions 10
 * per project (see docs/batch-fidelity.md for how sure each figure is). */
export const LOGGING_QUOTA: Required<LoggingQuota> = { listPerMinute: 60, tailSessions: 10 };

const WINDOW_MS = 60_000;

export function checkLoggingQuota(quota: LoggingQuota): Required<LoggingQuota> {
  const resolved = { ...LOGGING_QUOTA, ...quota };
  for (const key of ['listPerMinute', 'tailSessions'] as const) {
    const value = resolved[key];
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`loggingQuota.${key} must be a non-negative integer`);
  }
  return resolved;
}

export class LoggingQuotas {
  private readonly quota: Required<LoggingQuota>;
  private readonly lists = new Map<string, number[]>();
  private readonly tails = new Map<string, number>();

  constructor(quota: LoggingQuota = {}) {
    this.quota = checkLoggingQuota(quota);
  }

  /** Counts one ListLogEntries call against each project it reads, or throws if one has none left. */
  list(projects: Iterable<string>, now: number): void {
    const windows = [...new Set(projects)].map((project) => {
      let window = this.lists.get(project);
      if (!window) this.lists.set(project, (window = []));
      while (window.length > 0 && window[0]! <= now - WINDOW_MS) window.shift();
      if (window.length >= this.quota.listPerMinute) throw readQuotaExceeded();
      return window;
    });
    for (const window of windows) window.push(now);
  }

  /** Opens a tail session on each project, or throws if one has all its sessions open; the returned function
   * closes it (once). */
  openTail(projects: Iterable<string>): () => void {
    const unique = [...new Set(projects)];
    for (const project of unique) {
      if ((this.tails.get(project) ?? 0) >= this.quota.tailSessions)
        throw tailQuotaExceeded(project, this.quota.tailSessions);
    }
    for (const project of unique) this.tails.set(project, (this.tails.get(project) ?? 0) + 1);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      for (const project of unique) {
        const left = (this.tails.get(project) ?? 1) - 1;
        if (left > 0) this.tails.set(project, left);
        else this.tails.delete(project);
      }
    };
  }
}

/** As Logging words it (snarfed/bridgy-fed#620, DefangLabs/defang#1268), with the emulator's project
 * number. */
function readQuotaExceeded(): ApiError {
  return new ApiError(
    status.RESOURCE_EXHAUSTED,
    `Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'logging.googleapis.com' for consumer 'project_number:${EMULATOR_PROJECT_NUMBER}'.`,
  );
}

/** Logging's own text for this one is not published; this says what the limit is. */
function tailQuotaExceeded(project: string, limit: number): ApiError {
  return new ApiError(
    status.RESOURCE_EXHAUSTED,
    `Quota exceeded: project ${project} already has ${limit} open live tailing sessions, the most allowed`,
  );
}
