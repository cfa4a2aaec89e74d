// A Drmaa2Job read back as kubectl shows it, and the wait for its Finished condition, as the integration
// tests do them: through the real kubectl, failing with kubectl's error and the job's last status.
import assert from 'node:assert/strict';
import type { Drmaa2Job } from '../../src/api/drmaa2job.js';
import type { Kubectl } from './kubectl.js';

export async function readDrmaa2Job(kubectl: Kubectl, namespace: string, name: string): Promise<Drmaa2Job> {
  const r = await kubectl(['get', 'drmaa2job', name, '-n', namespace, '-o', 'json']);
  assert.equal(r.code, 0, `kubectl get drmaa2job ${namespace}/${name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Drmaa2Job;
}

/** `kubectl wait --for=condition=Finished`, then the job as it ended. */
export async function waitFinished(
  kubectl: Kubectl,
  namespace: string,
  name: string,
  timeout = '90s',
): Promise<Drmaa2Job> {
  const r = await kubectl([
    'wait',
    '--for=condition=Finished',
    `drmaa2job/${name}`,
    '-n',
    namespace,
    `--timeout=${timeout}`,
  ]);
  if (r.code !== 0) {
    const status = JSON.stringify((await readDrmaa2Job(kubectl, namespace, name)).status, null, 1);
    assert.fail(`${namespace}/${name} did not finish: ${r.stderr}\n${status}`);
  }
  return readDrmaa2Job(kubectl, namespace, name);
}
