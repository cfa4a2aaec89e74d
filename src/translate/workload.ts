// A Drmaa2Job as a Kueue workload: the Workload that stands for its Batch job in Kueue's queues, so that
// Kueue's quotas, fair sharing and priorities decide when it is submitted. One pod set stands for the Batch
// job's task group: as many "pods" as tasks run at once (the group's parallelism), each asking for what one
// task asks of Batch (its vCPUs and memory, and its accelerators). Pure: built from the resource and the
// CreateJobRequest the translation made for it.
import { createHash } from 'node:crypto';
import type { CreateJobRequest } from '../api/batch.js';
import type { Drmaa2Job } from '../api/drmaa2job.js';

export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
export const KUEUE_PRIORITY_CLASS_LABEL = 'kueue.x-k8s.io/priority-class';
/** On every Workload this controller makes: the UID of the Drmaa2Job it stands for (its watch selects on it). */
export const WORKLOAD_JOB_UID_LABEL = 'drmaa2.io/job-uid';
export const WORKLOAD_API_VERSION = 'kueue.x-k8s.io/v1beta2';

/** The LocalQueue a resource asks for, or undefined when Kueue does not manage it. */
export function queueNameOf(resource: Pick<Drmaa2Job, 'metadata'>): string | undefined {
  const name = resource.metadata.labels?.[KUEUE_QUEUE_LABEL];
  return name === undefined || name === '' ? undefined : name;
}

/** `drmaa2job-<name>-<8 hex of the UID>`: one Workload per resource, never another resource's of the same
 * name (a resource deleted and made again is another UID), within a DNS-1123 subdomain's 253 characters. */
export function workloadName(resource: Pick<Drmaa2Job, 'metadata'>): string {
  const hash = createHash('sha256').update(resource.metadata.uid).digest('hex').slice(0, 8);
  return `drmaa2job-${resource.metadata.name.slice(0, 200)}-${hash}`;
}

/** Memory per vCPU of the predefined machine series, in MiB (Compute Engine's machine families). */
const MIB_PER_VCPU: Record<string, number> = { standard: 4096, highmem: 8192, highcpu: 1024 };

/** What one task asks for, as Kubernetes resource quantities: the cpuMilli Batch gets, the memory the
 * template or the machine type gives, the accelerators of its allocation policy. */
export function taskRequests(request: CreateJobRequest): Record<string, string> {
  const group = request.job.taskGroups?.[0];
  const compute = group?.taskSpec?.computeResource;
  const out: Record<string, string> = {};
  const cpuMilli = Number(compute?.cpuMilli ?? 0);
  if (cpuMilli > 0) out.cpu = `${cpuMilli}m`;
  let memoryMib = Number(compute?.memoryMib ?? 0);
  const machine = request.job.allocationPolicy?.instances?.[0]?.policy?.machineType ?? '';
  const [, series, vcpus] = machine.split('-');
  if (memoryMib <= 0 && series && MIB_PER_VCPU[series] && /^\d+$/.test(vcpus ?? ''))
    memoryMib = MIB_PER_VCPU[series]! * Number(vcpus);
  if (memoryMib > 0) out.memory = `${memoryMib}Mi`;
  for (const accelerator of request.job.allocationPolicy?.instances?.[0]?.policy?.accelerators ?? []) {
    const count = Number(accelerator.count ?? 0);
    if (count <= 0 || !accelerator.type) continue;
    // Kueue counts GPUs under the names device plugins use; Batch names the GPU model.
    const resource = accelerator.type.startsWith('nvidia') ? 'nvidia.com/gpu' : `${accelerator.type}`;
    out[resource] = String(Number(out[resource] ?? 0) + count);
  }
  return out;
}

export interface WorkloadObject {
  apiVersion: typeof WORKLOAD_API_VERSION;
  kind: 'Workload';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: true;
      blockOwnerDeletion: true;
    }[];
  };
  spec: {
    queueName: string;
    active: boolean;
    podSets: {
      name: string;
      count: number;
      template: {
        spec: {
          restartPolicy: 'Never';
          containers: { name: string; image: string; resources: { requests: Record<string, string> } }[];
        };
      };
    }[];
    priorityClassRef?: { group: 'kueue.x-k8s.io'; kind: 'WorkloadPriorityClass'; name: string };
    priority?: number;
  };
}

/** The WorkloadPriorityClass a resource names, if any. */
export function priorityClassOf(resource: Pick<Drmaa2Job, 'metadata'>): string | undefined {
  return resource.metadata.labels?.[KUEUE_PRIORITY_CLASS_LABEL] || undefined;
}

/** The Workload of a resource whose first request is `request`; `active: false` while it is held.
 * `priorityClassValue`: the value of the WorkloadPriorityClass the resource names, which Kueue wants beside
 * the reference (as its own job controllers write it). */
export function workloadFor(
  resource: Drmaa2Job,
  request: CreateJobRequest,
  opts: { active: boolean; priorityClassValue?: number },
): WorkloadObject {
  const queue = queueNameOf(resource) ?? '';
  const group = request.job.taskGroups?.[0];
  const taskCount = Number(group?.taskCount ?? 1);
  const parallelism = Number(group?.parallelism ?? taskCount);
  const priorityClass = priorityClassOf(resource);
  const priority = resource.spec.jobTemplate.priority;
  return {
    apiVersion: WORKLOAD_API_VERSION,
    kind: 'Workload',
    metadata: {
      name: workloadName(resource),
      namespace: resource.metadata.namespace,
      labels: { [KUEUE_QUEUE_LABEL]: queue, [WORKLOAD_JOB_UID_LABEL]: resource.metadata.uid },
      ownerReferences: [
        {
          apiVersion: resource.apiVersion,
          kind: resource.kind,
          name: resource.metadata.name,
          uid: resource.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      queueName: queue,
      active: opts.active,
      podSets: [
        {
          name: 'tasks',
          count: Math.max(1, Math.min(parallelism, taskCount)),
          template: {
            spec: {
              restartPolicy: 'Never',
              // A pod template needs a container; nothing runs it: the tasks run on Batch's VMs.
              containers: [
                { name: 'task', image: 'batch-task', resources: { requests: taskRequests(request) } },
              ],
            },
          },
        },
      ],
      ...(priorityClass
        ? {
            priorityClassRef: { group: 'kueue.x-k8s.io', kind: 'WorkloadPriorityClass', name: priorityClass },
            priority: opts.priorityClassValue ?? 0,
          }
        : priority !== undefined
          ? { priority }
          : {}),
    },
  };
}

/** A ResourceFlavor's node label that chooses the Batch provisioning model of the jobs it admits. */
export const FLAVOR_PROVISIONING_LABEL = 'drmaa2.io/provisioning-model';
/** GKE's Spot node label, which a flavor shared with GKE node pools may carry instead. */
const GKE_SPOT_LABEL = 'cloud.google.com/gke-spot';

/** What the admitting flavors choose: SPOT or STANDARD, or nothing. */
export function flavorProvisioningModel(nodeLabels: Record<string, string>): 'SPOT' | 'STANDARD' | undefined {
  const named = nodeLabels[FLAVOR_PROVISIONING_LABEL]?.toUpperCase();
  if (named === 'SPOT' || named === 'STANDARD') return named;
  if (nodeLabels[GKE_SPOT_LABEL] === 'true') return 'SPOT';
  return undefined;
}

/** The requests with the provisioning model the admitting flavor chose: Kueue admitted the job against that
 * flavor's quota, so the flavor decides over the template's `spot`. A job run from an instance template keeps
 * the template's own choice. */
export function withFlavorChoices(
  requests: readonly CreateJobRequest[],
  nodeLabels: Record<string, string>,
): CreateJobRequest[] {
  const model = flavorProvisioningModel(nodeLabels);
  if (!model) return [...requests];
  return requests.map((request) => {
    const instances = request.job.allocationPolicy?.instances;
    if (!instances?.some((i) => i.policy)) return request;
    return {
      ...request,
      job: {
        ...request.job,
        allocationPolicy: {
          ...request.job.allocationPolicy,
          instances: instances.map((i) =>
            i.policy ? { ...i, policy: { ...i.policy, provisioningModel: model } } : i,
          ),
        },
      },
    };
  });
}
