// kube-controller-manager with only the namespace and garbage-collector controllers: deleting a namespace
// deletes what is in it (finalizers included) as in a real cluster. There are no nodes or workloads here, so
// nothing else is needed.
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { startUntilReady, type PeerProcess } from './process.js';
import { waitUntil } from './wait.js';

export async function startControllerManager(
  binDir: string,
  dir: string,
  kubeconfig: string,
): Promise<PeerProcess> {
  const port = await freePort();
  return startUntilReady(
    {
      name: 'kube-controller-manager',
      command: join(binDir, 'kube-controller-manager'),
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--controllers=namespace,garbagecollector',
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${join(dir, 'kcm-certs')}`,
        '--concurrent-namespace-syncs=2',
        '--v=1',
      ],
      logFile: join(dir, 'kube-controller-manager.log'),
      workDir: dir,
    },
    (proc) =>
      waitUntil('kube-controller-manager to listen', () => listening(port), {
        timeoutMs: 60_000,
        process: proc,
      }),
  );
}

/** Its serving certificate is self-signed; accepting a connection is all readiness needs here. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
