// Kueue's queueing objects as a platform team would write them for the tests and the demo: one ResourceFlavor,
// a ClusterQueue with a CPU quota in it, and a tenant namespace's LocalQueue pointing at that ClusterQueue.
// Also the Workload and ClusterQueue fields the tests read back, as Kueue writes them.

import { KUEUE_PRIORITY_CLASS_LABEL, KUEUE_QUEUE_LABEL } from '../../src/translate/workload.js';
import type { Kubectl } from './kubectl.js';

export const KUEUE_API = 'kueue.x-k8s.io/v1beta2';

export interface QueueOptions {
  /** The ClusterQueue's nominal CPU quota, e.g. '4'. Memory gets 64Gi, so that CPU alone decides. */
  cpu: string;
  /** The ResourceFlavor the quota is given in (it must exist); default-flavor by default. */
  flavor?: string;
  /** The ClusterQueue's spec.preemption, e.g. { withinClusterQueue: 'LowerPriority' }. */
  preemption?: Record<string, string>;
}

export function resourceFlavor(name: string, nodeLabels?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: KUEUE_API,
    kind: 'ResourceFlavor',
    metadata: { name },
    ...(nodeLabels ? { spec: { nodeLabels } } : {}),
  };
}

export function clusterQueue(name: string, opts: QueueOptions): Record<string, unknown> {
  return {
    apiVersion: KUEUE_API,
    kind: 'ClusterQueue',
    metadata: { name },
    spec: {
      namespaceSelector: {},
      ...(opts.preemption ? { preemption: opts.preemption } : {}),
      resourceGroups: [
        {
          coveredResources: ['cpu', 'memory'],
          flavors: [
            {
              name: opts.flavor ?? 'default-flavor',
              resources: [
                { name: 'cpu', nominalQuota: opts.cpu },
                { name: 'memory', nominalQuota: '64Gi' },
              ],
            },
          ],
        },
      ],
    },
  };
}

/** A ClusterQueue and the LocalQueue of `namespace` that points at it. */
export function queues(
  namespace: string,
  clusterQueueName: string,
  localQueue: string,
  opts: QueueOptions,
): Record<string, unknown>[] {
  return [
    clusterQueue(clusterQueueName, opts),
    {
      apiVersion: KUEUE_API,
      kind: 'LocalQueue',
      metadata: { name: localQueue, namespace },
      spec: { clusterQueue: clusterQueueName },
    },
  ];
}

export interface QueuedJobOptions {
  /** The LocalQueue the job names (kueue.x-k8s.io/queue-name); none: a job without the label. */
  queue?: string;
  /** The WorkloadPriorityClass it names (kueue.x-k8s.io/priority-class). */
  priorityClass?: string;
  /** Its one candidate machine; e2-standard-2 (2 vCPUs, 8 GiB) by default. */
  machine?: string;
  /** More spec fields (hold, ...). */
  spec?: Record<string, unknown>;
}

/** A `$script$` Drmaa2Job, queued in a LocalQueue when it names one. */
export function queuedJob(
  namespace: string,
  name: string,
  script: string,
  opts: QueuedJobOptions = {},
): Record<string, unknown> {
  const labels = {
    ...(opts.queue ? { [KUEUE_QUEUE_LABEL]: opts.queue } : {}),
    ...(opts.priorityClass ? { [KUEUE_PRIORITY_CLASS_LABEL]: opts.priorityClass } : {}),
  };
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
    spec: {
      jobTemplate: {
        remoteCommand: script,
        jobCategory: '$script$',
        candidateMachines: [opts.machine ?? 'e2-standard-2'],
      },
      ...opts.spec,
    },
  };
}

export interface WorkloadObject {
  metadata: { name: string; ownerReferences?: { uid: string; kind: string }[] };
  spec: {
    active?: boolean;
    podSets: { count: number; template: { spec: { containers: { resources: unknown }[] } } }[];
  };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export interface ClusterQueueObject {
  status?: {
    pendingWorkloads?: number;
    reservingWorkloads?: number;
    admittedWorkloads?: number;
    flavorsReservation?: { name: string; resources: { name: string; total?: string }[] }[];
    flavorsUsage?: { name: string; resources: { name: string; total?: string }[] }[];
  };
}

export const conditionIsTrue = (wl: WorkloadObject | undefined, type: string): boolean =>
  wl?.status?.conditions?.some((c) => c.type === type && c.status === 'True') === true;

/** A Workload as the v1beta2 API serves it; undefined when there is none of that name. */
export async function readWorkload(
  kubectl: Kubectl,
  namespace: string,
  name: string,
): Promise<WorkloadObject | undefined> {
  const r = await kubectl(['get', 'workloads.v1beta2.kueue.x-k8s.io', name, '-n', namespace, '-o', 'json']);
  if (r.code === 0) return JSON.parse(r.stdout) as WorkloadObject;
  if (/NotFound|not found/.test(r.stderr)) return undefined;
  throw new Error(`kubectl get workload ${namespace}/${name}: ${r.stderr}`);
}
