// Kubeconfig files for the test identities: the admin (a client certificate in system:masters, as envtest's admin) and the controller
// (a service-account token, so it holds exactly the RBAC the project ships).
import { readFileSync, writeFileSync } from 'node:fs';
import { dump } from 'js-yaml';
import type { CertAndKey } from './certs.js';

export type KubeUser = { clientCert: CertAndKey } | { token: string };

export function writeKubeconfig(
  file: string,
  server: string,
  caCert: string,
  name: string,
  user: KubeUser,
): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': base64File(caCert) } }],
    users: [{ name, user: userEntry(user) }],
    contexts: [{ name, context: { cluster: 'test', user: name } }],
    'current-context': name,
  };
  writeFileSync(file, dump(config), { mode: 0o600 });
}

function userEntry(user: KubeUser): Record<string, string> {
  if ('token' in user) return { token: user.token };
  return {
    'client-certificate-data': base64File(user.clientCert.cert),
    'client-key-data': base64File(user.clientCert.key),
  };
}

function base64File(path: string): string {
  return readFileSync(path).toString('base64');
}
