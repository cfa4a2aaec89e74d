// The Drmaa2Job informer, supervised (supervise.ts restarts a watch that failed; every cached key is then
// re-enqueued, since a restart replays nothing), and re-enqueueing everything periodically (full resync).
import {
  makeInformer,
  type CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, PLURAL, VERSION, keyOf, type Drmaa2Job } from '../../api/drmaa2job.js';
import type { JobWatch } from '../../ports/jobWatch.js';
import { elidedTemplate } from '../../translate/limits.js';
import { StringPool } from '../../translate/stringPool.js';
import { supervise, type Supervision } from './supervise.js';

export interface JobInformerOptions {
  kubeConfig: KubeConfig;
  api: CustomObjectsApi;
  namespace?: string;
  /** A label selector: only matching Drmaa2Jobs are listed, watched and cached. */
  labelSelector?: string;
  logger: Logger;
  resyncPeriodMs?: number;
  random?: () => number;
}

/** Custom objects arrive as plain JSON; they are Drmaa2Jobs by the informer's path. */
type Drmaa2JobObject = KubernetesObject;

/** Written by clients for their own bookkeeping, never read by the controller, and together often larger
 * than the rest of the object. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Drops from a cached object what the controller never reads (client-go's informers do the same with a
 * transform): the cache holds the very object the informer hands to its handlers, so this bounds the memory
 * each tracked resource costs. A large template's text goes too (marked templateElided): the one pass that
 * translates it reads the whole resource from the API server. With a pool, every recurring string value
 * (condition texts, reasons, times, machine types) is the pool's one copy. */
export function slim(obj: Drmaa2JobObject, pool?: StringPool): void {
  const metadata = obj.metadata;
  if (!metadata) return;
  // New objects rather than `delete`: V8 keeps an object that lost a property in its dictionary form,
  // several times the size of the same object built with the properties it keeps.
  const { managedFields: _managed, annotations, ...rest } = metadata;
  let kept = annotations;
  if (annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _applied, ...others } = annotations;
    kept = others;
  }
  obj.metadata = { ...rest, ...(kept && Object.keys(kept).length > 0 ? { annotations: kept } : {}) };
  const job = obj as Partial<Drmaa2Job>;
  const template = job.spec?.jobTemplate;
  const elided = template && typeof template === 'object' ? elidedTemplate(template) : undefined;
  if (elided) {
    job.spec!.jobTemplate = elided;
    job.templateElided = true;
  }
  pool?.internAll(obj);
}

/** Objects per page of the informer's list: the whole list of a cluster's Drmaa2Jobs, each up to the
 * schema's size, would not fit the controller's heap in one response. */
const LIST_PAGE = 100;

interface ListPage {
  metadata?: { resourceVersion?: string; continue?: string };
  items: Drmaa2JobObject[];
}

export class JobInformer implements JobWatch {
  private readonly informer: Informer<Drmaa2JobObject> & ObjectCache<Drmaa2JobObject>;
  private readonly handlers: ((key: string) => void)[] = [];
  private synced = false;
  private resyncTimer: ReturnType<typeof setInterval> | undefined;
  private supervision: Supervision | undefined;
  /** One copy of each recurring string across the cached resources. */
  private readonly pool = new StringPool(8192);

  constructor(private readonly opts: JobInformerOptions) {
    const { api, namespace, labelSelector } = opts;
    const selector = labelSelector ? { labelSelector } : {};
    const path = namespace
      ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`
      : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
    const page = (token: string | undefined) => {
      const paging = { ...selector, limit: LIST_PAGE, ...(token ? { _continue: token } : {}) };
      return (
        namespace
          ? api.listNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              namespace,
              plural: PLURAL,
              ...paging,
            })
          : api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, ...paging })
      ) as Promise<ListPage>;
    };
    // Every page of one list shares the first page's resourceVersion (a consistent snapshot), which the
    // watch then starts from; each page is slimmed before the next one is read.
    const list = async () => {
      const items: Drmaa2JobObject[] = [];
      let first: ListPage | undefined;
      let token: string | undefined;
      do {
        const got = await page(token);
        first ??= got;
        for (const item of got.items) {
          slim(item, this.pool);
          items.push(item);
        }
        token = got.metadata?.continue || undefined;
      } while (token);
      return { metadata: { resourceVersion: first.metadata?.resourceVersion }, items } as never;
    };
    this.informer = makeInformer<Drmaa2JobObject>(opts.kubeConfig, path, list, labelSelector);
    const emit = (obj: Drmaa2JobObject) => {
      slim(obj, this.pool);
      this.enqueue(keyOf(obj));
    };
    this.informer.on('add', emit);
    this.informer.on('update', emit);
    this.informer.on('delete', emit);
  }

  onKey(handler: (key: string) => void): void {
    this.handlers.push(handler);
  }

  private enqueue(key: string): void {
    for (const handler of this.handlers) handler(key);
  }

  async start(): Promise<void> {
    this.supervision ??= supervise(this.informer, {
      logger: this.opts.logger,
      what: 'drmaa2jobs',
      onRestarted: () => this.resync(),
      ...(this.opts.random ? { random: this.opts.random } : {}),
    });
    await this.informer.start();
    this.synced = true;
    this.resyncTimer ??= setInterval(() => this.resync(), this.opts.resyncPeriodMs ?? 600_000);
    this.resyncTimer.unref?.();
  }

  private resync(): void {
    for (const key of this.keys()) this.enqueue(key);
  }

  stop(): void {
    this.supervision?.stop();
    this.supervision = undefined;
    clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    void this.informer.stop();
  }

  hasSynced(): boolean {
    return this.synced;
  }

  keys(): string[] {
    return this.informer.list().map(keyOf);
  }

  get(namespace: string, name: string): Drmaa2Job | undefined {
    return this.informer.get(name, namespace) as Drmaa2Job | undefined;
  }
}
