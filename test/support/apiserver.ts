// kube-apiserver with envtest's flag set (controller-runtime's envtest) plus RBAC and Node authorization, a loopback advertise
// address without endpoint reconciling, and service-account token signing for the controller's identity.
import { join } from 'node:path';
import type { ControlPlaneCerts } from './certs.js';
import { freePort } from './ports.js';
import { startUntilReady, type PeerProcess } from './process.js';
import { tlsGet, type TlsIdentity } from './tlsRequest.js';
import { waitUntil } from './wait.js';

const START_TIMEOUT_MS = 90_000;

export interface ApiServer {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly admin: TlsIdentity;
  process(): PeerProcess;
  /** Stops the API server and starts it again on the same port (clients see a dropped connection). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Waits until /readyz answers ok again, e.g. after etcd came back. */
  waitReady(timeoutMs?: number): Promise<void>;
}

export async function startApiServer(
  binDir: string,
  dir: string,
  etcdUrl: string,
  certs: ControlPlaneCerts,
  extraArgs: string[] = [],
): Promise<ApiServer> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const args = [...apiServerArgs(port, etcdUrl, certs, dir), ...extraArgs];
  const admin: TlsIdentity = { caCert: certs.ca.cert, client: certs.admin };
  const launch = (): Promise<PeerProcess> =>
    startUntilReady(
      {
        name: 'kube-apiserver',
        command: join(binDir, 'kube-apiserver'),
        args,
        logFile: join(dir, 'kube-apiserver.log'),
        workDir: dir,
      },
      (proc) => untilReady(url, admin, START_TIMEOUT_MS, proc),
    );
  let current = await launch();
  return {
    url,
    admin,
    process: () => current,
    restart: async () => {
      await current.stop();
      current = await launch();
    },
    stop: () => current.stop(),
    waitReady: (timeoutMs = START_TIMEOUT_MS) => untilReady(url, admin, timeoutMs, current),
  };
}

function apiServerArgs(port: number, etcdUrl: string, certs: ControlPlaneCerts, dir: string): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    `--cert-dir=${dir}`,
    `--tls-cert-file=${certs.serving.cert}`,
    `--tls-private-key-file=${certs.serving.key}`,
    `--client-ca-file=${certs.ca.cert}`,
    `--secure-port=${port}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    '--endpoint-reconciler-type=none',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--authorization-mode=RBAC,Node',
    '--disable-admission-plugins=ServiceAccount',
    `--service-account-issuer=https://127.0.0.1:${port}/`,
    `--service-account-key-file=${certs.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${certs.serviceAccountKey}`,
  ];
}

async function untilReady(
  url: string,
  admin: TlsIdentity,
  timeoutMs: number,
  proc: PeerProcess | undefined,
): Promise<void> {
  const opts = { timeoutMs, process: proc };
  // /readyz with the admin identity, not /healthz anonymously: no 403 window while RBAC bootstraps (the default roles are not there yet when /healthz answers).
  await waitUntil(
    'kube-apiserver /readyz',
    async () => (await tlsGet(`${url}/readyz`, admin)).status === 200,
    opts,
  );
  await waitUntil(
    'the default namespace',
    async () => (await tlsGet(`${url}/api/v1/namespaces/default`, admin)).status === 200,
    opts,
  );
}
