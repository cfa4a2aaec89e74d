// The bench's job: a container job the emulator simulates (no process per task), so the controller and the
// API server are what is measured.
export function benchJob(namespace: string, name: string, shard = 0): object {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace, labels: { 'drmaa2-shard': String(shard) } },
    spec: {
      jobTemplate: { remoteCommand: 'true', jobCategory: 'busybox', candidateMachines: ['e2-standard-2'] },
    },
  };
}

export function jobName(i: number): string {
  return `bench-${String(i).padStart(6, '0')}`;
}
