// The clients of each caller identity: a BatchProfile that names a service account to impersonate gets its
// own Batch and Storage clients, and every call they make carries an access token minted for that account
// (IAM Credentials' generateAccessToken, asked with the controller's own credentials). A tenant's jobs are
// then created with the tenant's rights only: a controller bug that picked another tenant's project or VM
// service account would be refused by Google, not obeyed.
//
// The controller's own credentials are Application Default Credentials, found on first use (a controller
// whose profiles impersonate nobody never looks for them, nor loads the auth library's second copy: google-gax
// bundles its own). Clients are made once per distinct caller and
// kept: there are as many as profiles with callers, not as many as jobs.
import type { AuthClient, Impersonated } from 'google-auth-library';
import type { CreateJobRequest, Job, Task } from '../../api/batch.js';
import type { BatchJobs, JobPage, ListJobsQuery } from '../../ports/batchJobs.js';
import type { Buckets } from '../../ports/buckets.js';
import { callerKey, type Caller, type CallerClients } from '../../ports/callers.js';
import type { LogEntries, LogTail } from '../../ports/logEntries.js';
import { GoogleBatchJobs, type BatchJobsOptions } from '../batch/googleBatchJobs.js';
import type { CloudLogEntries, CloudLoggingOptions } from '../logging/cloudLogging.js';
import type { BucketsOptions } from '../storage/googleBuckets.js';

type BatchAuthClient = NonNullable<BatchJobsOptions['authClient']>;

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
/** Google's IAM Credentials API; another base URL serves a private endpoint or an emulator. */
export const IAM_CREDENTIALS_ENDPOINT = 'https://iamcredentials.googleapis.com';
/** Lifetime asked for each minted token; the library mints the next before it expires. */
const TOKEN_LIFETIME_SECONDS = 3600;

export interface CallersOptions {
  batch: Omit<BatchJobsOptions, 'authClient'>;
  storage: Omit<BucketsOptions, 'authClient'>;
  /** Cloud Logging (a failed task's output); absent: callers read no logs. */
  logging?: Omit<CloudLoggingOptions, 'authClient'>;
  iamCredentialsEndpoint?: string;
  /** The controller's own credentials; default Application Default Credentials. */
  source?: () => Promise<AuthClient>;
  /** The controller's own project: named, so that the auth library does not ask Resource Manager for one. */
  projectId?: string;
}

interface Made {
  batch: Promise<GoogleBatchJobs>;
  buckets: Promise<Buckets>;
  logs: Promise<CloudLogEntries> | undefined;
}

export class GoogleCallers {
  private readonly made = new Map<string, Made>();
  private source: Promise<AuthClient> | undefined;

  constructor(private readonly opts: CallersOptions) {}

  /** The clients of one caller: the same objects for the same caller. */
  clients(caller: Caller): CallerClients {
    const made = this.make(caller);
    return {
      batch: new DeferredBatchJobs(made.batch),
      buckets: {
        ensureBucket: async (name, project) => (await made.buckets).ensureBucket(name, project),
        bucketExists: async (name, project) => (await made.buckets).bucketExists(name, project),
      },
      ...(made.logs ? { logs: new DeferredLogEntries(made.logs) } : {}),
    };
  }

  /** Closes every caller's Batch channel. */
  async close(): Promise<void> {
    const all = [...this.made.values()];
    this.made.clear();
    await Promise.all(
      all.map(async (m) => {
        try {
          await (await m.batch).close();
          await (await m.logs)?.close();
        } catch {
          // A client that never came to be has no channel to close.
        }
      }),
    );
  }

  private make(caller: Caller): Made {
    const key = callerKey(caller);
    const existing = this.made.get(key);
    if (existing) return existing;
    const auth = this.impersonated(caller);
    const made: Made = {
      batch: auth.then(
        (authClient) =>
          // google-gax bundles its own copy of google-auth-library, whose AuthClient type is declared apart;
          // it uses the client through AuthClient's public methods, which both copies share.
          new GoogleBatchJobs({ ...this.opts.batch, authClient: authClient as unknown as BatchAuthClient }),
      ),
      buckets: auth.then(async (authClient) => {
        // Loaded on first use, as the controller's own storage client is: most profiles never stage out.
        const { GoogleBuckets } = await import('../storage/googleBuckets.js');
        return new GoogleBuckets({ ...this.opts.storage, authClient });
      }),
      logs: this.opts.logging
        ? auth.then(async (authClient) => {
            const { CloudLogEntries } = await import('../logging/cloudLogging.js');
            return new CloudLogEntries({ ...this.opts.logging, authClient });
          })
        : undefined,
    };
    // A failure to find the controller's own credentials is not remembered: the next pass tries again (and
    // meets the failure through the port it calls; until then, nobody is waiting for it).
    const forget = () => {
      if (this.made.get(key) === made) this.made.delete(key);
    };
    made.batch.catch(forget);
    made.buckets.catch(forget);
    made.logs?.catch(forget);
    this.made.set(key, made);
    return made;
  }

  private async impersonated(caller: Caller): Promise<Impersonated> {
    if (!this.source) {
      const source = (this.opts.source ?? (() => adc(this.opts.projectId)))();
      this.source = source;
      source.catch(() => {
        if (this.source === source) this.source = undefined;
      });
    }
    const { Impersonated } = await import('google-auth-library');
    return new Impersonated({
      sourceClient: await this.source,
      targetPrincipal: caller.serviceAccount,
      delegates: [...(caller.delegates ?? [])],
      targetScopes: [CLOUD_PLATFORM],
      lifetime: TOKEN_LIFETIME_SECONDS,
      endpoint: this.opts.iamCredentialsEndpoint ?? IAM_CREDENTIALS_ENDPOINT,
    });
  }
}

async function adc(projectId: string | undefined): Promise<AuthClient> {
  const { GoogleAuth } = await import('google-auth-library');
  return new GoogleAuth({ scopes: [CLOUD_PLATFORM], ...(projectId ? { projectId } : {}) }).getClient();
}

/** The BatchJobs port over a client that is still being made (its credentials are found asynchronously). */
class DeferredBatchJobs implements BatchJobs {
  constructor(private readonly client: Promise<BatchJobs>) {}

  async createJob(request: CreateJobRequest): Promise<Job> {
    return (await this.client).createJob(request);
  }
  async getJob(name: string): Promise<Job> {
    return (await this.client).getJob(name);
  }
  async listJobs(query: ListJobsQuery): Promise<JobPage> {
    return (await this.client).listJobs(query);
  }
  async cancelJob(name: string, requestId?: string): Promise<void> {
    return (await this.client).cancelJob(name, requestId);
  }
  async deleteJob(name: string, reason?: string, requestId?: string): Promise<void> {
    return (await this.client).deleteJob(name, reason, requestId);
  }
  async listTasks(jobName: string, group?: string): Promise<Task[]> {
    return (await this.client).listTasks(jobName, group);
  }
}

/** The LogEntries port over a client that is still being made. */
class DeferredLogEntries implements LogEntries {
  constructor(private readonly client: Promise<LogEntries>) {}

  async list(query: Parameters<LogEntries['list']>[0]) {
    return (await this.client).list(query);
  }

  tail(project: string, filter: string): LogTail {
    let inner: LogTail | undefined;
    let closed = false;
    const ready = this.client.then((client) => {
      inner = client.tail(project, filter);
      if (closed) inner.close();
      return inner;
    });
    return {
      close: () => {
        closed = true;
        inner?.close();
      },
      [Symbol.asyncIterator]: async function* () {
        yield* await ready;
      },
    };
  }
}
