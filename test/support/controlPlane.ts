// One real Kubernetes control plane per test file: etcd + kube-apiserver on loopback, the project's CRDs
// installed, and the project's own namespace, ServiceAccount and RBAC applied from deploy/, so the
// controller's kubeconfig carries exactly the permissions the project ships.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, loadAll } from 'js-yaml';
import { startApiServer, type ApiServer } from './apiserver.js';
import { generateCerts } from './certs.js';
import { trackDirectory, untrackDirectory } from './cleanup.js';
import { startControllerManager } from './controllerManager.js';
import { startEtcd, type Etcd } from './etcd.js';
import { writeKubeconfig, type KubeUser } from './kubeconfig.js';
import { installFinalizerPolicy } from './finalizerPolicy.js';
import { kubectlFor, mustSucceed, type Kubectl } from './kubectl.js';
import { PROJECT_ROOT, peerBinDir } from './peers.js';
import type { PeerProcess } from './process.js';
import { waitUntil } from './wait.js';

export interface ControlPlaneOptions {
  /** Manifests of the CRDs to install (default: the project's crds/). */
  crdDir?: string;
  /** Kustomize directory with the controller's namespace, ServiceAccount and RBAC (default: the project's deploy/). */
  deployDir?: string;
  /** Further kube-apiserver flags, e.g. ['--watch-cache=false']. */
  apiServerArgs?: string[];
  /** Also run kube-controller-manager's namespace and garbage-collector controllers. */
  controllerManager?: boolean;
  /** Also install deploy/finalizer-policy/ (the finalizer goes on in each resource's create). */
  finalizerPolicy?: boolean;
}

export interface ApplyOptions {
  kubeconfig?: string;
  namespace?: string;
  fieldManager?: string;
}

export interface StartupTimes {
  certsMs: number;
  etcdMs: number;
  apiServerMs: number;
  installMs: number;
  totalMs: number;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** http://127.0.0.1:<port> of etcd (plain HTTP on loopback; its JSON gateway answers /v3/...). */
  readonly etcdUrl: string;
  /** Kubeconfig of user `admin` in `system:masters` (bypasses RBAC). */
  readonly kubeconfigAdmin: string;
  /** Kubeconfig with a token of the ServiceAccount from deploy/: the controller's shipped permissions. */
  readonly kubeconfigController: string;
  readonly controllerServiceAccount: ServiceAccountRef;
  readonly binDir: string;
  /** Temp dir with certificates, kubeconfigs and the peers' logs; removed by stop(). */
  readonly dir: string;
  readonly startup: StartupTimes;
  kubectl: Kubectl;
  /** `kubectl apply --server-side` of a YAML text (admin unless another kubeconfig is given); returns stdout. */
  apply(yamlText: string, opts?: ApplyOptions): Promise<string>;
  /** A kubeconfig carrying a fresh token of any ServiceAccount (which must exist). */
  serviceAccountKubeconfig(account: ServiceAccountRef): Promise<string>;
  restartApiServer(): Promise<void>;
  /** Process ids of etcd and kube-apiserver as they run now (each leads its own process group). */
  processIds(): { etcd: number; apiServer: number };
  /** Restarts etcd (same data) and waits until the API server is ready again. */
  restartEtcd(): Promise<void>;
  stop(): Promise<void>;
}

/** Kinds taken from deploy/: what the controller needs to be authorised; no workloads (there is no kubelet). */
const DEPLOY_KINDS = [
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'Role',
  'ClusterRoleBinding',
  'RoleBinding',
];

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const lap = stopwatch();
  const binDir = await peerBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'drmaa2-control-plane-'));
  trackDirectory(dir);
  const running: { etcd?: Etcd; apiServer?: ApiServer; controllerManager?: PeerProcess } = {};
  const stop = async () => {
    await running.controllerManager?.stop();
    await running.apiServer?.stop();
    await running.etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
    untrackDirectory(dir);
  };
  try {
    lap();
    const certs = await generateCerts(dir);
    const certsMs = lap();
    const etcd = (running.etcd = await startEtcd(binDir, dir));
    const etcdMs = lap();
    const server = (running.apiServer = await startApiServer(
      binDir,
      dir,
      etcd.url,
      certs,
      opts.apiServerArgs,
    ));
    const apiServerMs = lap();
    const kubeconfigFor = (file: string, name: string, user: KubeUser) => {
      writeKubeconfig(join(dir, file), server.url, certs.ca.cert, name, user);
      return join(dir, file);
    };
    const kubeconfigAdmin = kubeconfigFor('admin.kubeconfig', 'admin', { clientCert: certs.admin });
    if (opts.controllerManager)
      running.controllerManager = await startControllerManager(binDir, dir, kubeconfigAdmin);
    await mkdir(join(dir, 'kubectl-cache'));
    const kubectl = kubectlFor(binDir, kubeconfigAdmin, join(dir, 'kubectl-cache'));
    await installCrds(kubectl, opts.crdDir ?? join(PROJECT_ROOT, 'crds'));
    const rbac = await installDeployRbac(kubectl, opts.deployDir ?? join(PROJECT_ROOT, 'deploy'));
    const token = await createToken(kubectl, rbac.account);
    const kubeconfigController = kubeconfigFor('controller.kubeconfig', 'controller', { token });
    await waitForBindings(kubectl, kubeconfigController, rbac.probes);
    if (opts.finalizerPolicy) await installFinalizerPolicy(kubectl);
    const installMs = lap();
    return {
      server: server.url,
      etcdUrl: etcd.url,
      kubeconfigAdmin,
      kubeconfigController,
      controllerServiceAccount: rbac.account,
      binDir,
      dir,
      startup: { certsMs, etcdMs, apiServerMs, installMs, totalMs: lap.total() },
      kubectl,
      apply: (yamlText, applyOpts = {}) => apply(kubectl, yamlText, applyOpts),
      serviceAccountKubeconfig: async (account) => {
        const saToken = await createToken(kubectl, account);
        return kubeconfigFor(`${account.namespace}.${account.name}.kubeconfig`, account.name, {
          token: saToken,
        });
      },
      restartApiServer: () => server.restart(),
      processIds: () => ({ etcd: etcd.process().pid, apiServer: server.process().pid }),
      restartEtcd: async () => {
        await etcd.restart();
        await server.waitReady();
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Each call returns the milliseconds since the previous one; total() those since the start. */
function stopwatch(): { (): number; total(): number } {
  const start = Date.now();
  let last = start;
  const lap = () => {
    const now = Date.now();
    const ms = now - last;
    last = now;
    return ms;
  };
  return Object.assign(lap, { total: () => Date.now() - start });
}

async function apply(kubectl: Kubectl, yamlText: string, opts: ApplyOptions): Promise<string> {
  const args = ['apply', '--server-side', '-f', '-'];
  if (opts.namespace) args.push('-n', opts.namespace);
  if (opts.fieldManager) args.push(`--field-manager=${opts.fieldManager}`);
  return mustSucceed(await kubectl(args, { input: yamlText, kubeconfig: opts.kubeconfig }), 'kubectl apply');
}

async function installCrds(kubectl: Kubectl, crdDir: string): Promise<void> {
  const names = mustSucceed(
    // A directory with a kustomization (the project's crds/) is applied as one; others file by file.
    await kubectl([
      'apply',
      '--server-side',
      existsSync(join(crdDir, 'kustomization.yaml')) ? '-k' : '-f',
      crdDir,
      '-o',
      'name',
    ]),
    'CRD install',
  );
  const crds = names.split('\n').filter((name) => name.startsWith('customresourcedefinition'));
  if (crds.length === 0) throw new Error(`no CustomResourceDefinition in ${crdDir}`);
  mustSucceed(
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds]),
    'waiting for the CRDs to be Established',
  );
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

interface Manifest {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind?: string; name?: string };
  subjects?: { kind?: string; name?: string; namespace?: string }[];
}

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

interface DeployRbac {
  account: ServiceAccountRef;
  /** One `kubectl auth can-i` question per binding of the account, answered yes once the binding is in force. */
  probes: string[][];
}

async function installDeployRbac(kubectl: Kubectl, deployDir: string): Promise<DeployRbac> {
  const rendered = mustSucceed(await kubectl(['kustomize', deployDir]), `kubectl kustomize ${deployDir}`);
  const docs = (loadAll(rendered) as Manifest[])
    .filter((doc) => doc && DEPLOY_KINDS.includes(doc.kind ?? ''))
    .sort((a, b) => DEPLOY_KINDS.indexOf(a.kind!) - DEPLOY_KINDS.indexOf(b.kind!));
  const accounts = docs.filter((doc) => doc.kind === 'ServiceAccount');
  if (accounts.length !== 1)
    throw new Error(`expected one ServiceAccount in ${deployDir}, found ${accounts.length}`);
  await apply(kubectl, docs.map((doc) => dump(doc)).join('---\n'), {});
  const meta = accounts[0]!.metadata!;
  const account = { namespace: meta.namespace ?? 'default', name: meta.name! };
  return { account, probes: bindingProbes(docs, account) };
}

function bindingProbes(docs: Manifest[], account: ServiceAccountRef): string[][] {
  const probes: string[][] = [];
  for (const binding of docs.filter((doc) => doc.kind?.endsWith('Binding'))) {
    const bindsAccount = binding.subjects?.some(
      (s) => s.kind === 'ServiceAccount' && s.name === account.name && s.namespace === account.namespace,
    );
    if (!bindsAccount) continue;
    const role = docs.find(
      (doc) => doc.kind === binding.roleRef?.kind && doc.metadata?.name === binding.roleRef?.name,
    );
    const rule = role?.rules?.find((r) => r.verbs?.[0] && r.resources?.some((res) => !res.includes('/')));
    if (!rule) continue;
    const resource = rule.resources!.find((res) => !res.includes('/'))!;
    const group = rule.apiGroups?.[0] ?? '';
    const probe = ['auth', 'can-i', rule.verbs![0]!, group ? `${resource}.${group}` : resource];
    if (binding.kind === 'RoleBinding') probe.push('-n', binding.metadata?.namespace ?? 'default');
    probes.push(probe);
  }
  return probes;
}

async function createToken(kubectl: Kubectl, account: ServiceAccountRef): Promise<string> {
  const out = mustSucceed(
    await kubectl(['create', 'token', account.name, '-n', account.namespace, '--duration=24h']),
    'TokenRequest for the controller ServiceAccount',
  );
  return out.trim();
}

/** The RBAC authorizer learns new bindings through its informers; a token used at once could still be denied. */
async function waitForBindings(kubectl: Kubectl, kubeconfig: string, probes: string[][]): Promise<void> {
  for (const probe of probes) {
    await waitUntil(
      `the controller to be allowed: kubectl ${probe.join(' ')}`,
      async () => (await kubectl(probe, { kubeconfig })).stdout.trim() === 'yes',
      { timeoutMs: 15_000 },
    );
  }
}
