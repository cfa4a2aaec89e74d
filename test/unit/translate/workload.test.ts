import { describe, expect, it } from 'vitest';
import type { Drmaa2Job } from '../../../src/api/drmaa2job.js';
import { translateSpec } from '../../../src/translate/index.js';
import {
  KUEUE_PRIORITY_CLASS_LABEL,
  KUEUE_QUEUE_LABEL,
  queueNameOf,
  taskRequests,
  workloadFor,
  workloadName,
} from '../../../src/translate/workload.js';

function resource(
  template: Record<string, unknown>,
  labels: Record<string, string> = { [KUEUE_QUEUE_LABEL]: 'team-queue' },
  extra: Partial<Drmaa2Job['spec']> = {},
): Drmaa2Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name: 'sim', namespace: 'team', uid: 'f00d-1', labels },
    spec: {
      jobTemplate: {
        remoteCommand: 'run',
        jobCategory: '$script$',
        candidateMachines: ['e2-standard-4'],
        ...template,
      },
      ...extra,
    },
  };
}

function requestOf(job: Drmaa2Job) {
  const result = translateSpec(job.spec, { project: 'p', location: 'l', session: 's' });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.submission.requests[0]!;
}

describe('a Drmaa2Job as a Kueue Workload', () => {
  it('only with the queue-name label', () => {
    expect(queueNameOf(resource({}))).toBe('team-queue');
    expect(queueNameOf(resource({}, {}))).toBeUndefined();
    expect(queueNameOf(resource({}, { [KUEUE_QUEUE_LABEL]: '' }))).toBeUndefined();
  });

  it("one pod set: one pod per task running at once, each asking for the task's vCPUs and the machine's memory", () => {
    const job = resource({ minSlots: 1, maxSlots: 1 }, undefined, {
      array: { begin: 1, end: 10, maxParallel: 3 },
    });
    const workload = workloadFor(job, requestOf(job), { active: true });
    expect(workload.spec.podSets).toHaveLength(1);
    expect(workload.spec.podSets[0]!.count).toBe(3);
    expect(workload.spec.podSets[0]!.template.spec.containers[0]!.resources.requests).toEqual({
      cpu: '4000m',
      memory: '16384Mi',
    });
    expect(workload.spec.queueName).toBe('team-queue');
    expect(workload.spec.active).toBe(true);
    expect(workload.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'drmaa2.io/v1alpha1',
        kind: 'Drmaa2Job',
        name: 'sim',
        uid: 'f00d-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it("the template's memory wins over the machine's; accelerators count as GPUs", () => {
    const job = resource({
      candidateMachines: ['n1-highmem-8'],
      minPhysMemory: 20000,
      extension: { extensionList: { accelerators: '2*nvidia-tesla-t4' } },
    });
    expect(taskRequests(requestOf(job))).toEqual({ cpu: '8000m', memory: '20000Mi', 'nvidia.com/gpu': '2' });
    expect(taskRequests(requestOf(resource({ candidateMachines: ['n2-highcpu-16'] })))).toEqual({
      cpu: '16000m',
      memory: '16384Mi',
    });
  });

  it('a multi-node job: all its tasks at once', () => {
    const job = resource({ minSlots: 4, maxSlots: 4 });
    expect(workloadFor(job, requestOf(job), { active: true }).spec.podSets[0]!.count).toBe(4);
  });

  it('priority: the WorkloadPriorityClass label, else the template priority', () => {
    const labelled = resource(
      { priority: 7 },
      { [KUEUE_QUEUE_LABEL]: 'q', [KUEUE_PRIORITY_CLASS_LABEL]: 'urgent' },
    );
    expect(
      workloadFor(labelled, requestOf(labelled), { active: true, priorityClassValue: 1000 }).spec,
    ).toMatchObject({
      priorityClassRef: { group: 'kueue.x-k8s.io', kind: 'WorkloadPriorityClass', name: 'urgent' },
      // Kueue wants the class's value beside the reference.
      priority: 1000,
    });
    const plain = resource({ priority: 7 });
    expect(workloadFor(plain, requestOf(plain), { active: false }).spec).toMatchObject({
      priority: 7,
      active: false,
    });
  });

  it("a name of the resource's own: the same for the same UID, another for another", () => {
    const a = resource({});
    const b = { ...a, metadata: { ...a.metadata, uid: 'f00d-2' } };
    expect(workloadName(a)).toMatch(/^drmaa2job-sim-[0-9a-f]{8}$/);
    expect(workloadName(a)).toBe(workloadName({ ...a }));
    expect(workloadName(b)).not.toBe(workloadName(a));
    const long = { ...a, metadata: { ...a.metadata, name: 'x'.repeat(253) } };
    expect(workloadName(long).length).toBeLessThanOrEqual(253);
  });
});

describe("the admitting flavor's choice", () => {
  it("drmaa2.io/provisioning-model (or GKE's Spot label) sets the provisioning model over the template", async () => {
    const { flavorProvisioningModel, withFlavorChoices, FLAVOR_PROVISIONING_LABEL } =
      await import('../../../src/translate/workload.js');
    expect(flavorProvisioningModel({ [FLAVOR_PROVISIONING_LABEL]: 'spot' })).toBe('SPOT');
    expect(flavorProvisioningModel({ 'cloud.google.com/gke-spot': 'true' })).toBe('SPOT');
    expect(flavorProvisioningModel({ [FLAVOR_PROVISIONING_LABEL]: 'STANDARD' })).toBe('STANDARD');
    expect(flavorProvisioningModel({ [FLAVOR_PROVISIONING_LABEL]: 'cheap', zone: 'x' })).toBeUndefined();
    const spotTemplate = resource({ extension: { extensionList: { spot: 'true' } } });
    const request = requestOf(spotTemplate);
    expect(request.job.allocationPolicy?.instances?.[0]?.policy?.provisioningModel).toBe('SPOT');
    const [standard] = withFlavorChoices([request], { [FLAVOR_PROVISIONING_LABEL]: 'STANDARD' });
    expect(standard!.job.allocationPolicy?.instances?.[0]?.policy?.provisioningModel).toBe('STANDARD');
    // Pure: the request given is not changed.
    expect(request.job.allocationPolicy?.instances?.[0]?.policy?.provisioningModel).toBe('SPOT');
    expect(withFlavorChoices([request], {})).toEqual([request]);
  });
});
