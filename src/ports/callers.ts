// A Google identity the controller acts as for a BatchProfile, and the ports as that identity.
import type { BatchJobs } from './batchJobs.js';
import type { Buckets } from './buckets.js';
import type { LogEntries } from './logEntries.js';

/** A service account the controller impersonates; `delegates` is the chain of accounts between the
 * controller's own identity and it, each able to mint tokens for the next. */
export interface Caller {
  serviceAccount: string;
  delegates?: readonly string[];
}

/** The Batch, Storage and Logging ports whose every call carries the caller's own credentials. */
export interface CallerClients {
  batch: BatchJobs;
  buckets: Buckets;
  /** Absent where the controller reads no task logs. */
  logs?: LogEntries;
}

/** The clients of each caller, made once per distinct caller. */
export type ClientsFor = (caller: Caller) => CallerClients;

/** One key per distinct caller: its chain of accounts, in the order tokens are minted along it. */
export function callerKey(caller: Caller): string {
  return [...(caller.delegates ?? []), caller.serviceAccount].join(' > ');
}
