// Kubernetes Events (events.k8s.io/v1) about Drmaa2Jobs. client-node has no recorder: this one creates an
// Event per (resource, reason, action) and, when the same one repeats within ten minutes, bumps its series
// count instead of creating another. Fire-and-forget: a failure is logged, never thrown. Events are written
// by a small queue beside the reconciles (a few at a time), so under load the API server's capacity goes to
// finalizers and status first; like client-go's broadcaster, a full queue drops the newest event.
import {
  EventsV1Api,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Drmaa2Job } from '../../api/drmaa2job.js';
import type { EventSink, JobEvent } from '../../ports/eventSink.js';
import { EventSeries } from './eventSeries.js';

/** Event writes in flight at once. */
const EVENT_WRITERS = 2;
/** Events waiting to be written; more are dropped (and counted in the log). */
const MAX_PENDING = 10_000;
const MAX_NOTE = 1024;
export const REPORTING_CONTROLLER = 'drmaa2.io/batch-controller';

/** What an Event says about its object: all that a queued event keeps of it. */
type Regarding = Pick<Drmaa2Job, 'apiVersion' | 'kind'> & {
  metadata: Pick<Drmaa2Job['metadata'], 'name' | 'namespace' | 'uid' | 'resourceVersion'>;
};

function regardingOf(job: Drmaa2Job): Regarding {
  const { name, namespace, uid, resourceVersion } = job.metadata;
  return { apiVersion: job.apiVersion, kind: job.kind, metadata: { name, namespace, uid, resourceVersion } };
}

export class EventRecorder implements EventSink {
  private readonly api: EventsV1Api;
  private readonly series = new EventSeries();
  private readonly pending: { job: Regarding; event: JobEvent }[] = [];
  private writing = 0;
  private dropped = 0;

  constructor(
    kubeConfig: KubeConfig,
    private readonly instance: string,
    private readonly logger: Logger,
    /** Told of each event dropped because the queue was full (for metrics). */
    private readonly onDropped?: () => void,
  ) {
    this.api = kubeConfig.makeApiClient(EventsV1Api);
  }

  emit(job: Drmaa2Job, event: JobEvent): void {
    if (this.pending.length >= MAX_PENDING) {
      this.onDropped?.();
      if (this.dropped++ % 1000 === 0) {
        this.logger.warn({ dropped: this.dropped, reason: event.reason }, 'event queue full; events dropped');
      }
      return;
    }
    this.pending.push({ job: regardingOf(job), event });
    this.pump();
  }

  private pump(): void {
    while (this.writing < EVENT_WRITERS && this.pending.length > 0) {
      const { job, event } = this.pending.shift()!;
      this.writing++;
      void this.record(job, event)
        .catch((err: unknown) =>
          this.logger.warn(
            { err: (err as Error).message, reason: event.reason },
            'could not record an event',
          ),
        )
        .finally(() => {
          this.writing--;
          this.pump();
        });
    }
  }

  private async record(job: Regarding, event: JobEvent): Promise<void> {
    const key = `${job.metadata.uid}/${event.reason}/${event.action}`;
    const now = Date.now();
    const previous = this.series.continued(key, now);
    if (previous) {
      await this.api.patchNamespacedEvent(
        {
          name: previous.name,
          namespace: previous.namespace,
          body: {
            series: { count: previous.count, lastObservedTime: new V1MicroTime(now) },
            note: event.note.slice(0, MAX_NOTE),
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return;
    }
    const created = await this.api.createNamespacedEvent({
      namespace: job.metadata.namespace,
      body: {
        // Named as Kubernetes' own recorder names events: <object>.<unique hex> (a generateName may not end in '.').
        metadata: {
          name: `${job.metadata.name}.${randomBytes(8).toString('hex')}`,
          namespace: job.metadata.namespace,
        },
        eventTime: new V1MicroTime(now),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.instance.slice(0, 128),
        action: event.action,
        reason: event.reason,
        type: event.type,
        note: event.note.slice(0, MAX_NOTE),
        regarding: {
          apiVersion: job.apiVersion,
          kind: job.kind,
          name: job.metadata.name,
          namespace: job.metadata.namespace,
          uid: job.metadata.uid,
          ...(job.metadata.resourceVersion ? { resourceVersion: job.metadata.resourceVersion } : {}),
        },
      },
    });
    this.series.started(key, { name: created.metadata!.name!, namespace: job.metadata.namespace, at: now });
  }
}
