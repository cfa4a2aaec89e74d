// Installs deploy/finalizer-policy/ (the MutatingAdmissionPolicy that puts the controller's finalizer on each
// Drmaa2Job as it is created) and waits until the API server applies it: policies take effect a moment after
// they are stored, and a server-side dry-run create shows when, without storing anything.
import { join } from 'node:path';
import { FINALIZER } from '../../src/api/drmaa2job.js';
import { mustSucceed, type Kubectl } from './kubectl.js';
import { PROJECT_ROOT } from './peers.js';
import { waitUntil } from './wait.js';

const PROBE = JSON.stringify({
  apiVersion: 'drmaa2.io/v1alpha1',
  kind: 'Drmaa2Job',
  metadata: { name: 'finalizer-policy-probe', namespace: 'default' },
  spec: { hold: true, jobTemplate: { remoteCommand: 'true', jobCategory: '$script$' } },
});

export async function installFinalizerPolicy(kubectl: Kubectl): Promise<void> {
  mustSucceed(
    await kubectl(['apply', '--server-side', '-k', join(PROJECT_ROOT, 'deploy', 'finalizer-policy')]),
    'finalizer policy install',
  );
  await waitUntil('the finalizer policy to take effect', () => finalizerAdded(kubectl), {
    timeoutMs: 30_000,
    intervalMs: 250,
  });
}

/** Whether a Drmaa2Job created now would carry the finalizer from its first write. */
async function finalizerAdded(kubectl: Kubectl): Promise<boolean> {
  const created = mustSucceed(
    await kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: PROBE }),
    'dry-run create',
  );
  const job = JSON.parse(created) as { metadata?: { finalizers?: string[] } };
  return job.metadata?.finalizers?.includes(FINALIZER) ?? false;
}
