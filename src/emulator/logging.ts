// google.logging.v2.LoggingServiceV2 on the emulator's gRPC server, so that the unmodified Logging client reads
// a Batch job's task output as it would from Google: ListLogEntries (resource names, filter, order, pages)
// and TailLogEntries (a bidi stream of what arrives after it starts, in buffered batches). Every other method
// is UNIMPLEMENTED. Calls are counted, pass the fault injector, the caller's identity when it is on, and
// Logging's read quotas.
import * as grpc from '@grpc/grpc-js';
import { ApiError, invalid } from './apiError.js';
import { decodeToken, encodeToken, listingKey } from './pageToken.js';
import type { FaultInjector } from './faults.js';
import type { BatchGate } from './iam.js';
import { compileLogFilter, type EntryPredicate } from './logFilter.js';
import type { LoggingQuotas } from './loggingQuota.js';
import { byTime, type LogStore, type StoredEntry } from './logStore.js';
import type { CallStats } from './server.js';

type Request = Record<string, unknown>;

/** ListLogEntriesRequest.page_size: "Default is 50. If the value is negative or exceeds 1000, the request is
 * rejected." */
export const LOGGING_PAGING = { pageSizeDefault: 50, pageSizeMax: 1000 };
/** ListLogEntriesRequest.resource_names: "A maximum of 100 resources may be specified". */
const MAX_RESOURCE_NAMES = 100;
/** TailLogEntriesRequest.buffer_window: "Valid values are between 0-60000 milliseconds. Defaults to 2000". */
const BUFFER_WINDOW_DEFAULT_MS = 2000;
const BUFFER_WINDOW_MAX_MS = 60_000;
/** One response stays well under gRPC's default 4 MiB message limit on the client side. */
const TAIL_BATCH_ENTRIES = 1000;
const TAIL_BATCH_CHARS = 1 << 20;

export interface LoggingSettings {
  store: LogStore;
  faults: FaultInjector;
  stats: CallStats;
  quotas: LoggingQuotas;
  gate?: BatchGate;
  now?: () => number;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

const PROJECT = /^projects\/([^/]+)(?:\/locations\/[^/]+\/buckets\/[^/]+\/views\/[^/]+)?$/;
const OTHER_PARENT =
  /^(?:organizations|folders|billingAccounts)\/[^/]+(?:\/locations\/[^/]+\/buckets\/[^/]+\/views\/[^/]+)?$/;

/** The projects whose entries the request reads. Organizations, folders and billing accounts are valid
 * parents, but no Batch job writes there, so they add no entries. */
function projectsOf(request: Request): Set<string> {
  const names = Array.isArray(request.resourceNames) ? request.resourceNames.map(str) : [];
  if (names.length === 0) throw invalid('resource_names: at least one resource name is required');
  if (names.length > MAX_RESOURCE_NAMES)
    throw invalid(
      `resource_names: at most ${MAX_RESOURCE_NAMES} resource names may be given, got ${names.length}`,
    );
  const projects = new Set<string>();
  for (const name of names) {
    const project = PROJECT.exec(name)?.[1];
    if (project) projects.add(project);
    else if (!OTHER_PARENT.test(name))
      throw invalid(`resource_names: invalid resource name ${JSON.stringify(name)}`);
  }
  return projects;
}

function wireTime(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (((ms % 1000) + 1000) % 1000) * 1_000_000 };
}

function toWire(e: StoredEntry): Request {
  return {
    logName: e.entry.logName,
    resource: { type: e.entry.resource.type, labels: { ...e.entry.resource.labels } },
    labels: { ...e.entry.labels },
    severity: e.entry.severity,
    textPayload: e.entry.textPayload,
    timestamp: wireTime(e.timeMs),
    receiveTimestamp: wireTime(e.receiveTimeMs),
    insertId: e.insertId,
  };
}

function orderOf(orderBy: string): 'asc' | 'desc' {
  const words = orderBy.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return 'asc';
  if (words[0] === 'timestamp' && words.length <= 2) {
    const direction = (words[1] ?? 'asc').toLowerCase();
    if (direction === 'asc' || direction === 'desc') return direction;
  }
  throw invalid(
    `order_by ${JSON.stringify(orderBy)} is not supported: only "timestamp asc" and "timestamp desc" are`,
  );
}

interface PageToken {
  /** The listing (resource names, filter, order) the token continues. */
  listing: string;
  /** The last entry of the page before: the next page starts after it, so entries that arrive meanwhile
   * neither repeat nor shift an entry out of a later page. */
  timeMs: number;
  insertId: string;
}

const validToken = (t: Partial<PageToken>) => typeof t.insertId === 'string' && Number.isFinite(t.timeMs);

function listingOf(projects: Set<string>, filter: string, order: string, names: unknown): string {
  const sorted = Array.isArray(names) ? [...new Set(names.map(str))].sort() : [];
  return listingKey(sorted, [...projects].sort(), filter, order);
}

function pageSizeOf(request: Request): number {
  const sent = Number(request.pageSize ?? 0);
  if (!Number.isInteger(sent) || sent < 0)
    throw invalid(`page_size must not be negative, got ${String(request.pageSize)}`);
  if (sent > LOGGING_PAGING.pageSizeMax)
    throw invalid(`page_size must be at most ${LOGGING_PAGING.pageSizeMax}, got ${sent}`);
  return sent === 0 ? LOGGING_PAGING.pageSizeDefault : sent;
}

function bufferWindowMs(request: Request): number {
  const window = request.bufferWindow as { seconds?: unknown; nanos?: unknown } | null | undefined;
  if (!window) return BUFFER_WINDOW_DEFAULT_MS;
  const ms = Number(window.seconds ?? 0) * 1000 + Number(window.nanos ?? 0) / 1e6;
  if (!Number.isFinite(ms) || ms < 0 || ms > BUFFER_WINDOW_MAX_MS)
    throw invalid(`buffer_window must be between 0 and ${BUFFER_WINDOW_MAX_MS} milliseconds`);
  return ms;
}

interface Admission {
  principal: string | undefined;
}

function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(grpc.status.INTERNAL, String(err));
}

function serviceError(err: ApiError): grpc.ServiceError {
  return { code: err.code, details: err.message, metadata: new grpc.Metadata() } as grpc.ServiceError;
}

export interface LoggingService {
  implementation: grpc.UntypedServiceImplementation;
  /** Ends every tail session (the server is stopping). */
  stop(): void;
}

export function loggingService(settings: LoggingSettings): LoggingService {
  const { store, faults, stats, quotas, gate } = settings;
  const now = settings.now ?? Date.now;
  const sessions = new Set<() => void>();

  const record = (method: string, at: number, code: string, admission: Admission) =>
    stats.record({
      method,
      at,
      code,
      ...(admission.principal !== undefined ? { principal: admission.principal } : {}),
    });

  /** As for Batch: the credential first (Google's front end refuses a call without one before anything
   * else), then latency and injected faults, then the request's parents, the read quota and the caller's
   * permission on them. */
  const admit = async (
    method: string,
    metadata: grpc.Metadata,
    at: number,
    admission: Admission,
    request: Request,
    charge: (projects: Set<string>) => void,
  ): Promise<Set<string>> => {
    if (gate) admission.principal = gate.authenticate(metadata.get('authorization').map(String));
    await faults.before(method, at);
    const projects = projectsOf(request);
    charge(projects);
    if (gate) gate.authorizeLogRead(admission.principal!, projects);
    return projects;
  };

  const listLogEntries = (
    call: grpc.ServerUnaryCall<Request, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) => {
    const request = call.request ?? {};
    const at = now();
    const admission: Admission = { principal: undefined };
    admit('ListLogEntries', call.metadata, at, admission, request, (projects) => quotas.list(projects, at))
      .then((projects) => {
        const size = pageSizeOf(request);
        const order = orderOf(str(request.orderBy));
        const filter = str(request.filter);
        const matches = compileLogFilter(filter);
        const listing = listingOf(projects, filter, order, request.resourceNames);
        let entries = store.visible(projects, now()).filter(matches);
        if (order === 'desc') entries.reverse();
        if (str(request.pageToken) !== '') {
          const token = decodeToken<PageToken>(str(request.pageToken), listing, validToken);
          const sign = order === 'asc' ? 1 : -1;
          entries = entries.filter((e) => sign * byTime(e, token) > 0);
        }
        const page = entries.slice(0, size);
        const last = page[page.length - 1];
        const next =
          entries.length > size && last
            ? encodeToken({ listing, timeMs: last.timeMs, insertId: last.insertId })
            : '';
        return { entries: page.map(toWire), nextPageToken: next };
      })
      .then(
        (response) => {
          record('ListLogEntries', at, 'OK', admission);
          callback(null, response);
        },
        (err: unknown) => {
          const apiError = asApiError(err);
          record('ListLogEntries', at, grpc.status[apiError.code] ?? 'UNKNOWN', admission);
          callback(serviceError(apiError));
        },
      );
  };

  const tailLogEntries = (call: grpc.ServerDuplexStream<Request, unknown>) => {
    let closed = false;
    let started = false;
    let release: (() => void) | undefined;
    let unsubscribe: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      unsubscribe?.();
      release?.();
      sessions.delete(end);
    };
    const end = () => {
      close();
      call.end();
    };
    const fail = (err: ApiError) => {
      close();
      call.emit('error', serviceError(err));
    };
    sessions.add(end);
    call.on('cancelled', close);
    call.on('error', close);
    call.on('data', (first: Request) => {
      // One request opens the session; the client sends no other (@google-cloud/logging writes exactly one).
      if (started || closed) return;
      started = true;
      const at = now();
      const admission: Admission = { principal: undefined };
      admit('TailLogEntries', call.metadata, at, admission, first ?? {}, (projects) => {
        release = quotas.openTail(projects);
        // A client gone while the session was being admitted must not keep its place.
        if (closed) release();
      })
        .then((projects) => {
          const matches = compileLogFilter(str(first?.filter));
          const windowMs = bufferWindowMs(first ?? {});
          if (closed) return;
          record('TailLogEntries', at, 'OK', admission);
          streamEntries(projects, matches, windowMs);
        })
        .catch((err: unknown) => {
          const apiError = asApiError(err);
          record('TailLogEntries', at, grpc.status[apiError.code] ?? 'UNKNOWN', admission);
          if (!closed) fail(apiError);
        });
    });

    const streamEntries = (projects: Set<string>, matches: EntryPredicate, windowMs: number) => {
      // Only what becomes visible from now on, as a live tail shows.
      let cursor = store.visibleUpTo(now());
      // While the client does not read, nothing more is written: what arrives meanwhile waits in the store
      // (which is bounded), not in the stream's buffer.
      let blocked = false;
      const schedule = () => {
        if (closed || timer || blocked) return;
        const visibleAt = store.nextVisibleAt(cursor);
        if (visibleAt === undefined) return;
        timer = setTimeout(flush, Math.max(0, visibleAt - now()) + windowMs);
      };
      const flush = () => {
        timer = undefined;
        if (closed || blocked) return;
        const { entries, cursor: upTo, pending } = store.after(cursor, now());
        const batch: StoredEntry[] = [];
        let chars = 0;
        let full = false;
        for (const e of entries) {
          cursor = e.seq;
          if (projects.has(e.project) && matches(e)) {
            batch.push(e);
            chars += e.entry.textPayload.length;
          }
          if (batch.length >= TAIL_BATCH_ENTRIES || chars >= TAIL_BATCH_CHARS) {
            full = true;
            break;
          }
        }
        if (!full) cursor = upTo;
        if (
          batch.length > 0 &&
          !call.write({ entries: batch.sort(byTime).map(toWire), suppressionInfo: [] })
        ) {
          blocked = true;
          call.once('drain', () => {
            blocked = false;
            schedule();
          });
        }
        if (full && !blocked) timer = setTimeout(flush, 0);
        else if (pending) schedule();
      };
      unsubscribe = store.subscribe(schedule);
    };
  };

  const unimplemented = (name: string) =>
    ((call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const at = now();
      const admission: Admission = { principal: undefined };
      Promise.resolve()
        .then(async () => {
          if (gate) admission.principal = gate.authenticate(call.metadata.get('authorization').map(String));
          await faults.before(name, at);
          throw new ApiError(grpc.status.UNIMPLEMENTED, `${name} is not implemented by the emulator`);
        })
        .catch((err: unknown) => {
          const apiError = asApiError(err);
          record(name, at, grpc.status[apiError.code] ?? 'UNKNOWN', admission);
          callback(serviceError(apiError));
        });
    }) as grpc.handleUnaryCall<Request, unknown>;

  return {
    implementation: {
      ListLogEntries: listLogEntries,
      TailLogEntries: tailLogEntries,
      DeleteLog: unimplemented('DeleteLog'),
      WriteLogEntries: unimplemented('WriteLogEntries'),
      ListMonitoredResourceDescriptors: unimplemented('ListMonitoredResourceDescriptors'),
      ListLogs: unimplemented('ListLogs'),
    },
    stop: () => {
      for (const end of [...sessions]) end();
    },
  };
}
