// The gRPC face of the emulator: BatchService and google.longrunning.Operations on the real protos,
// each call counted, logged, passed through the fault injector, and answered with the status code the
// real service would give. No request, however malformed, brings the server down.
import * as grpc from '@grpc/grpc-js';
import type { Job } from '../api/batch.js';
import { fromWire, toWire } from '../adapters/batch/wireForm.js';
import { ApiError, invalid } from './apiError.js';
import { decodeToken, encodeToken, listingKey } from './pageToken.js';
import type { Engine, OperationRecord } from './engine.js';
import type { FaultInjector } from './faults.js';
import { compileFilter } from './filter.js';
import type { BatchGate } from './iam.js';
import type { BatchServices } from './protos.js';
import {
  validateJob,
  validateJobId,
  validateParent,
  validateRequestId,
  type LimitOptions,
} from './validate.js';

type Request = Record<string, unknown>;

export interface CallRecord {
  method: string;
  jobId?: string;
  at: number;
  code: string;
  /** Who made the call, when the emulator checks identity and the caller was authenticated. */
  principal?: string;
}

export class CallStats {
  readonly calls: Record<string, Record<string, number>> = {};
  readonly log: CallRecord[] = [];
  /** Told of each call as it is answered, before the answer is sent. */
  readonly listeners = new Set<(entry: CallRecord) => void>();

  record(entry: CallRecord): void {
    const byCode = (this.calls[entry.method] ??= {});
    byCode[entry.code] = (byCode[entry.code] ?? 0) + 1;
    if (this.log.length < 200_000) this.log.push(entry);
    for (const listener of this.listeners) {
      try {
        listener(entry);
      } catch {
        // A listener's failure must not change the answer.
      }
    }
  }
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** How listings page (docs/batch-fidelity.md): Batch's default page size, the largest page it serves, and
 * whether a later page's page_size is compared as sent (0 when unset) or after the default is applied. */
export interface PagingOptions {
  pageSizeDefault: number;
  pageSizeMax: number;
  pageSizeCheck: 'asSent' | 'resolved';
}

export const BATCH_PAGING: PagingOptions = {
  pageSizeDefault: 500,
  pageSizeMax: 1000,
  pageSizeCheck: 'asSent',
};

interface PageToken {
  /** Which listing (method, parent, filter, order) the token continues. */
  listing: string;
  size: number;
  offset: number;
}

const validToken = (t: Partial<PageToken>) =>
  Number.isInteger(t.size) && Number.isInteger(t.offset) && t.offset! >= 0 && t.size! >= 1;

/** One page of a listing. The token records the page size it was made with, as Batch's do; a later page
 * must ask for that size again (googleapis/python-batch#101), and a token only continues its own listing. */
export function page<T>(
  items: T[],
  request: Request,
  listing: string,
  paging: PagingOptions,
): { items: T[]; next: string } {
  const sent = Number(request.pageSize ?? 0);
  if (!Number.isInteger(sent) || sent < 0) throw invalid(`page_size must not be negative, got ${sent}`);
  const resolve = (n: number) => Math.min(n > 0 ? n : paging.pageSizeDefault, paging.pageSizeMax);
  let size = resolve(sent);
  let offset = 0;
  if (str(request.pageToken) !== '') {
    const token = decodeToken<PageToken>(str(request.pageToken), listing, validToken);
    const asked = paging.pageSizeCheck === 'resolved' ? resolve(sent) : Math.min(sent, paging.pageSizeMax);
    if (asked !== token.size) {
      throw invalid(
        `pagesize field is invalid. mismatching token page size error : request page size (${sent}) != token page size (${token.size})`,
      );
    }
    size = token.size;
    offset = token.offset;
  }
  const slice = items.slice(offset, offset + size);
  const next = offset + size < items.length ? encodeToken({ listing, size, offset: offset + size }) : '';
  return { items: slice, next };
}

function orderJobs(jobs: Job[], orderBy: string): Job[] {
  const [field = '', direction = ''] = orderBy.trim().split(/\s+/);
  if (field === '') return jobs;
  if (field !== 'name' && field !== 'create_time')
    throw invalid(`unsupported order_by ${JSON.stringify(orderBy)}`);
  const key = (j: Job) => (field === 'name' ? j.name! : j.createTime!);
  const sorted = [...jobs].sort((a, b) => key(a).localeCompare(key(b)));
  return direction.toLowerCase() === 'desc' ? sorted.reverse() : sorted;
}

function operationToWire(op: OperationRecord, done: boolean): Request {
  const type =
    op.verb === 'cancel'
      ? 'type.googleapis.com/google.cloud.batch.v1.CancelJobResponse'
      : 'type.googleapis.com/google.protobuf.Empty';
  return { name: op.name, done, ...(done ? { response: { typeUrl: type, value: Buffer.alloc(0) } } : {}) };
}

function jobIdOf(request: Request): string | undefined {
  const id = str(request.jobId) || str(request.name) || str(request.parent);
  const match = /\/jobs\/([^/]+)/.exec(id);
  return match?.[1] ?? (str(request.jobId) || undefined);
}

export function createServer(
  services: BatchServices,
  engine: Engine,
  faults: FaultInjector,
  stats: CallStats,
  settings: { paging?: PagingOptions; limits?: LimitOptions; gate?: BatchGate } = {},
): grpc.Server {
  const paging = settings.paging ?? BATCH_PAGING;
  const gate = settings.gate;
  const handle =
    (method: string, body: (request: Request, principal: string | undefined) => unknown) =>
    (call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const request = call.request ?? {};
      const at = Date.now();
      let principal: string | undefined;
      // Google's front end refuses a call without a valid credential before quota or the service sees it;
      // the service then checks the caller's permission on the resource before reading the request.
      const admitted = (): Promise<void> => {
        if (!gate) return faults.before(method, at);
        try {
          principal = gate.authenticate(call.metadata.get('authorization').map(String));
        } catch (err) {
          return Promise.reject(err as Error);
        }
        return faults.before(method, at).then(() => gate.authorize(principal!, method, request));
      };
      const who = () => (principal !== undefined ? { principal } : {});
      admitted()
        .then(() => body(request, principal))
        .then(
          (response) => {
            stats.record({ method, jobId: jobIdOf(request), at, code: 'OK', ...who() });
            callback(null, response);
          },
          (err: unknown) => {
            const apiError = err instanceof ApiError ? err : new ApiError(grpc.status.INTERNAL, String(err));
            stats.record({
              method,
              jobId: jobIdOf(request),
              at,
              code: grpc.status[apiError.code] ?? 'UNKNOWN',
              ...who(),
            });
            callback({
              code: apiError.code,
              details: apiError.message,
              metadata: new grpc.Metadata(),
            } as grpc.ServiceError);
          },
        );
    };

  const batch: grpc.UntypedServiceImplementation = {
    CreateJob: handle('CreateJob', (r, principal) => {
      const parent = str(r.parent);
      validateParent(parent);
      const jobId = str(r.jobId);
      if (jobId === '') throw invalid('job_id is required by this emulator (the service would generate one)');
      validateJobId(jobId);
      validateRequestId(str(r.requestId));
      if (!r.job) throw invalid('job is required');
      const job = fromWire<Job>(r.job);
      validateJob(job, settings.limits);
      if (gate) gate.authorizeJob(principal!, job);
      return toWire(engine.create(parent, jobId, job, str(r.requestId)));
    }),
    GetJob: handle('GetJob', (r) => toWire(engine.get(str(r.name)))),
    ListJobs: handle('ListJobs', (r) => {
      const parent = str(r.parent);
      validateParent(parent);
      const matches = compileFilter(str(r.filter));
      const jobs = orderJobs(
        engine.all().filter((j) => j.name!.startsWith(`${parent}/jobs/`) && matches(j)),
        str(r.orderBy),
      );
      const listing = listingKey('ListJobs', parent, str(r.filter), str(r.orderBy));
      const { items, next } = page(jobs, r, listing, paging);
      return { jobs: items.map(toWire), nextPageToken: next, unreachable: [] };
    }),
    CancelJob: handle('CancelJob', (r) => {
      validateRequestId(str(r.requestId));
      const op = engine.cancel(str(r.name));
      return operationToWire(op, engine.getOperation(op.name).done);
    }),
    DeleteJob: handle('DeleteJob', (r) => {
      validateRequestId(str(r.requestId));
      const op = engine.delete(str(r.name));
      return operationToWire(op, engine.getOperation(op.name).done);
    }),
    GetTask: handle('GetTask', (r) => toWire(engine.getTask(str(r.name)))),
    ListTasks: handle('ListTasks', (r) => {
      const parent = str(r.parent);
      const match = /^(.*)\/taskGroups\/([^/]+)$/.exec(parent);
      if (!match) throw invalid(`parent must be a task group name, got ${JSON.stringify(parent)}`);
      const tasks = engine.tasks(match[1]!);
      const listing = listingKey('ListTasks', parent, str(r.filter));
      const { items, next } = page(tasks, r, listing, paging);
      return { tasks: items.map(toWire), nextPageToken: next, unreachable: [] };
    }),
  };
  const unimplemented = (name: string) => () => {
    throw new ApiError(grpc.status.UNIMPLEMENTED, `${name} is not implemented by the emulator`);
  };
  const operations: grpc.UntypedServiceImplementation = {
    GetOperation: handle('GetOperation', (r) => {
      const { record, done } = engine.getOperation(str(r.name));
      return operationToWire(record, done);
    }),
    ListOperations: handle('ListOperations', unimplemented('ListOperations')),
    DeleteOperation: handle('DeleteOperation', unimplemented('DeleteOperation')),
    CancelOperation: handle('CancelOperation', unimplemented('CancelOperation')),
    WaitOperation: handle('WaitOperation', unimplemented('WaitOperation')),
  };
  const server = new grpc.Server();
  server.addService(services.batch, batch);
  server.addService(services.operations, operations);
  return server;
}
