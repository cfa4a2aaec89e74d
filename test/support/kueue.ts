// A real Kueue manager against a test control plane: the CRDs, webhook configurations and manager binary of
// the version scripts/build-peers.sh builds, run as a local process. The API server reaches Kueue's webhooks
// (admission and CRD conversion) at https://127.0.0.1:<port>, so defaulting, validation and conversion of
// Kueue's objects are Kueue's own.
//
// Certificates: Kueue's manager only runs with its internal certificate management on, because with it off
// it insists on a metrics certificate at a fixed path under /etc. Its rotator keeps the serving certificate
// found in its Secret as long as that verifies for `<webhookServiceName>.<namespace>.svc`, the CA verifies for
// `kueue-ca` (with a PKCS#1 RSA key), and both stay valid for another 90 days; otherwise it replaces them
// with certificates the API server could not use for an IP address. The control plane's CA (P-256, 7 days)
// fails those checks, so Kueue gets a CA of its own here, and a serving certificate that also names
// 127.0.0.1. The rotator's copy in the cert dir is what a kubelet would mount from the Secret; here it is
// written directly.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dump, load, loadAll } from 'js-yaml';
import type { ControlPlane } from './controlPlane.js';
import { mustSucceed } from './kubectl.js';
import { peerKueueDir } from './peers.js';
import { freePorts } from './ports.js';
import { startUntilReady, type PeerProcess } from './process.js';
import { waitUntil } from './wait.js';

const run = promisify(execFile);
const START_TIMEOUT_MS = 120_000;
const CERT_DAYS = 365;
const KUEUE_GROUP = 'kueue.x-k8s.io';
/** Kueue derives its webhook configuration names and the certificate's DNS name from these. */
const WEBHOOK_SERVICE = 'kueue-webhook-service';
const WEBHOOK_SECRET = 'kueue-webhook-server-cert';

export interface KueueOptions {
  /** Kueue's own namespace, where its certificate Secret lives (default kueue-system). */
  namespace?: string;
  /** Job kinds run by other controllers that own Workloads, as `Kind.version.group`. */
  externalFrameworks?: string[];
  /** Kueue feature gates, on top of the ones set here. */
  featureGates?: Record<string, boolean>;
  /** Further manager flags, e.g. ['--zap-log-level=5']. */
  args?: string[];
}

export interface Kueue {
  readonly namespace: string;
  readonly logFile: string;
  readonly configFile: string;
  /** http://127.0.0.1:<port> serving /healthz and /readyz. */
  readonly healthUrl: string;
  /** https://127.0.0.1:<port> the API server sends admission and conversion reviews to. */
  readonly webhookUrl: string;
  /** The names of the CRDs installed. */
  readonly crds: string[];
  process(): PeerProcess;
  /** Stops the manager. Its webhooks stay registered, so Kueue's objects cannot be written while it is down,
   * as in a cluster. */
  stop(): Promise<void>;
}

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  spec?: { conversion?: Conversion };
}

interface Conversion {
  strategy?: string;
  webhook?: { clientConfig?: ClientConfig; conversionReviewVersions?: string[] };
}

interface ClientConfig {
  url?: string;
  caBundle?: string;
  service?: { path?: string };
}

interface WebhookConfiguration extends Manifest {
  webhooks?: { clientConfig?: ClientConfig; rules?: { apiGroups?: string[] }[] }[];
}

export async function startKueue(cp: ControlPlane, opts: KueueOptions = {}): Promise<Kueue> {
  const kueueDir = await peerKueueDir();
  const namespace = opts.namespace ?? 'kueue-system';
  const dir = join(cp.dir, 'kueue');
  const certDir = join(dir, 'serving-certs');
  await mkdir(certDir, { recursive: true });
  const [webhookPort, healthPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const webhookUrl = `https://127.0.0.1:${webhookPort}`;
  const healthUrl = `http://127.0.0.1:${healthPort}`;

  const certs = await kueueCerts(dir, `${WEBHOOK_SERVICE}.${namespace}.svc`);
  await writeFile(join(certDir, 'tls.crt'), readFileSync(certs.cert));
  await writeFile(join(certDir, 'tls.key'), readFileSync(certs.key), { mode: 0o600 });
  const caBundle = readFileSync(certs.caCert).toString('base64');

  await cp.apply(dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }));
  await cp.apply(
    dump({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: WEBHOOK_SECRET, namespace },
      type: 'Opaque',
      data: {
        'ca.crt': caBundle,
        'ca.key': readFileSync(certs.caKey).toString('base64'),
        'tls.crt': readFileSync(certs.cert).toString('base64'),
        'tls.key': readFileSync(certs.key).toString('base64'),
      },
    }),
  );
  const crds = await installCrds(cp, join(kueueDir, 'crds'), webhookUrl, caBundle);
  await registerWebhooks(cp, join(kueueDir, 'webhook', 'manifests.yaml'), webhookUrl, caBundle);

  const configFile = join(dir, 'config.yaml');
  await writeFile(
    configFile,
    dump({
      apiVersion: 'config.kueue.x-k8s.io/v1beta2',
      kind: 'Configuration',
      namespace,
      health: { healthProbeBindAddress: `127.0.0.1:${healthPort}` },
      metrics: { bindAddress: `127.0.0.1:${metricsPort}` },
      webhook: { host: '127.0.0.1', port: webhookPort, certDir },
      leaderElection: { leaderElect: false },
      internalCertManagement: {
        enable: true,
        webhookServiceName: WEBHOOK_SERVICE,
        webhookSecretName: WEBHOOK_SECRET,
      },
      manageJobsWithoutQueueName: false,
      integrations: {
        // Kueue refuses an empty list and turns an absent one into batch/job. JobSet's API is not installed
        // here, so Kueue only registers its webhook (not called: see registerWebhooks) and waits for the API.
        frameworks: ['jobset.x-k8s.io/jobset'],
        ...(opts.externalFrameworks?.length ? { externalFrameworks: opts.externalFrameworks } : {}),
      },
      featureGates: {
        // The on-demand visibility server is an aggregated API server on a fixed port of all interfaces;
        // nothing here registers its APIService.
        VisibilityOnDemand: false,
        ...opts.featureGates,
      },
    }),
  );

  const proc = await startUntilReady(
    {
      name: 'kueue',
      command: join(kueueDir, 'kueue'),
      args: [`--config=${configFile}`, ...(opts.args ?? [])],
      logFile: join(cp.dir, 'kueue.log'),
      workDir: cp.dir,
      env: { ...process.env, KUBECONFIG: cp.kubeconfigAdmin },
    },
    (p) =>
      waitUntil('Kueue to answer /readyz', () => ready(`${healthUrl}/readyz`), {
        timeoutMs: START_TIMEOUT_MS,
        process: p,
      }),
  );
  return {
    namespace,
    logFile: proc.logFile,
    configFile,
    healthUrl,
    webhookUrl,
    crds,
    process: () => proc,
    stop: () => proc.stop(),
  };
}

async function ready(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.body?.cancel();
  return response.ok;
}

/** The CRDs as Kueue's kustomization assembles them: its bases, and conversion through the webhook for the
 * CRDs its patches name. */
async function installCrds(
  cp: ControlPlane,
  crdDir: string,
  webhookUrl: string,
  caBundle: string,
): Promise<string[]> {
  const kustomization = load(readFileSync(join(crdDir, 'kustomization.yaml'), 'utf8')) as {
    resources?: string[];
    patches?: { path?: string }[];
  };
  const conversions = new Map<string, Conversion>();
  for (const patch of kustomization.patches ?? []) {
    const doc = load(readFileSync(join(crdDir, patch.path!), 'utf8')) as Manifest;
    const conversion = doc.spec?.conversion;
    if (doc.kind !== 'CustomResourceDefinition' || !conversion?.webhook) continue;
    const path = conversion.webhook.clientConfig?.service?.path ?? '/convert';
    conversions.set(doc.metadata!.name!, {
      ...conversion,
      webhook: { ...conversion.webhook, clientConfig: { url: `${webhookUrl}${path}`, caBundle } },
    });
  }
  const docs = (kustomization.resources ?? []).map(
    (file) => load(readFileSync(join(crdDir, file), 'utf8')) as Manifest,
  );
  const names: string[] = [];
  for (const doc of docs) {
    const name = doc.metadata!.name!;
    names.push(name);
    const conversion = conversions.get(name);
    if (conversion) doc.spec!.conversion = conversion;
  }
  if (names.length === 0) throw new Error(`no CustomResourceDefinition listed in ${crdDir}`);
  await cp.apply(docs.map((doc) => dump(doc)).join('---\n'));
  mustSucceed(
    await cp.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      ...names.map((name) => `customresourcedefinition/${name}`),
    ]),
    'waiting for the Kueue CRDs to be Established',
  );
  return names;
}

/**
 * Only the webhooks for Kueue's own API group. The others belong to the job integrations (Pods, Jobs,
 * Deployments, ...): Kueue answers them with no-ops while an integration is off, but registered here they
 * would put every such write on this shared API server through Kueue, and fail it whenever Kueue is down.
 */
async function registerWebhooks(
  cp: ControlPlane,
  manifests: string,
  webhookUrl: string,
  caBundle: string,
): Promise<void> {
  const configurations = (loadAll(readFileSync(manifests, 'utf8')) as WebhookConfiguration[])
    .filter(
      (doc) => doc?.kind === 'MutatingWebhookConfiguration' || doc?.kind === 'ValidatingWebhookConfiguration',
    )
    .map((doc) => ({
      ...doc,
      // The name kustomize gives it, which Kueue's certificate rotator looks for to inject its CA.
      metadata: { name: `kueue-${doc.metadata!.name!}` },
      webhooks: (doc.webhooks ?? [])
        .filter((hook) =>
          hook.rules?.every((rule) => rule.apiGroups?.every((group) => group === KUEUE_GROUP)),
        )
        .map((hook) => ({
          ...hook,
          clientConfig: { url: `${webhookUrl}${hook.clientConfig!.service!.path!}`, caBundle },
        })),
    }));
  if (configurations.length !== 2 || configurations.some((doc) => doc.webhooks.length === 0))
    throw new Error(`expected Kueue's mutating and validating webhooks in ${manifests}`);
  await cp.apply(configurations.map((doc) => dump(doc)).join('---\n'));
}

interface KueueCerts {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

/** See the top of this file for why these are not the control plane's certificates. */
async function kueueCerts(dir: string, serviceDns: string): Promise<KueueCerts> {
  await openssl(dir, 'genrsa -traditional -out kueue-ca.key 2048');
  await openssl(
    dir,
    `req -x509 -new -key kueue-ca.key -out kueue-ca.crt -days ${CERT_DAYS} -subj /O=kueue/CN=kueue-ca` +
      ' -addext subjectAltName=DNS:kueue-ca -addext basicConstraints=critical,CA:TRUE' +
      ' -addext keyUsage=critical,keyCertSign,digitalSignature',
  );
  await writeFile(
    join(dir, 'kueue-webhook.ext'),
    [
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=DNS:${serviceDns},IP:127.0.0.1`,
    ].join('\n') + '\n',
  );
  await openssl(
    dir,
    'req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout kueue-webhook.key' +
      ` -out kueue-webhook.csr -subj /CN=${serviceDns}`,
  );
  await openssl(
    dir,
    'x509 -req -in kueue-webhook.csr -CA kueue-ca.crt -CAkey kueue-ca.key' +
      ` -set_serial 0x${randomBytes(16).toString('hex')} -days ${CERT_DAYS} -extfile kueue-webhook.ext` +
      ' -out kueue-webhook.crt',
  );
  return {
    caCert: join(dir, 'kueue-ca.crt'),
    caKey: join(dir, 'kueue-ca.key'),
    cert: join(dir, 'kueue-webhook.crt'),
    key: join(dir, 'kueue-webhook.key'),
  };
}

async function openssl(cwd: string, commandLine: string): Promise<void> {
  const args = commandLine.split(/\s+/);
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}
