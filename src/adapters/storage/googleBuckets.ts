// The Buckets port over @google-cloud/storage. Creating a bucket needs its project, and the client sends the
// project it was built with, so there is one client per project (normally exactly one).
//
// The client's own retries are off: the caller (controller or tracker) retries with its own back-off.
import { Storage, type Bucket } from '@google-cloud/storage';
import type { AuthClient } from 'google-auth-library';
import type { Buckets } from '../../ports/buckets.js';
import { BatchError } from '../../ports/errors.js';
import { bucketNameProblem } from './bucketName.js';
import { httpStatusOf, toStorageError } from './errors.js';

export interface BucketsOptions {
  /** e.g. `http://127.0.0.1:4443` (STORAGE_EMULATOR_HOST); the library also reads that variable itself. */
  emulatorHost?: string;
  /** The credentials every call carries (e.g. an impersonated service account); default Application
   * Default Credentials. */
  authClient?: AuthClient;
}

const NOT_FOUND = 404;
const CONFLICT = 409;

export class GoogleBuckets implements Buckets {
  private readonly clients = new Map<string, Storage>();
  private readonly emulatorHost: string | undefined;
  private readonly authClient: AuthClient | undefined;

  constructor(opts: BucketsOptions = {}) {
    this.emulatorHost = opts.emulatorHost;
    this.authClient = opts.authClient;
  }

  async ensureBucket(name: string, project: string): Promise<'exists' | 'created'> {
    const problem = bucketNameProblem(name);
    if (problem)
      throw new BatchError('InvalidArgument', `invalid bucket name ${JSON.stringify(name)}: ${problem}`);
    const bucket = this.client(project).bucket(name);
    if (await exists(bucket)) return 'exists';
    try {
      await bucket.create();
      return 'created';
    } catch (err) {
      // Someone else created it between our check and our create: it exists, which is all we need.
      if (httpStatusOf(err) === CONFLICT) return 'exists';
      throw toStorageError(err, `could not create bucket ${name} in project ${project}`);
    }
  }

  async bucketExists(name: string, project: string): Promise<boolean> {
    const problem = bucketNameProblem(name);
    if (problem)
      throw new BatchError('InvalidArgument', `invalid bucket name ${JSON.stringify(name)}: ${problem}`);
    return exists(this.client(project).bucket(name));
  }

  private client(project: string): Storage {
    const existing = this.clients.get(project);
    if (existing) return existing;
    const client = new Storage({
      projectId: project,
      retryOptions: { autoRetry: false },
      ...(this.emulatorHost ? { apiEndpoint: this.emulatorHost } : {}),
      ...(this.authClient ? { authClient: this.authClient } : {}),
    });
    this.clients.set(project, client);
    return client;
  }
}

/** Only a definite "not found" means absent; any other failure (403, 5xx, network) is thrown. */
async function exists(bucket: Bucket): Promise<boolean> {
  try {
    const [found] = await bucket.exists();
    return found;
  } catch (err) {
    if (httpStatusOf(err) === NOT_FOUND) return false;
    throw toStorageError(err, `could not look up bucket ${bucket.name}`);
  }
}
