// A GET with a client certificate. Node's fetch cannot present one, so node:https is used.
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import type { CertAndKey } from './certs.js';

export interface TlsIdentity {
  caCert: string;
  client: CertAndKey;
}

export interface TlsResponse {
  status: number;
  body: string;
}

export function loadTls(identity: TlsIdentity): { ca: Buffer; cert: Buffer; key: Buffer } {
  return {
    ca: readFileSync(identity.caCert),
    cert: readFileSync(identity.client.cert),
    key: readFileSync(identity.client.key),
  };
}

export function tlsGet(url: string, identity: TlsIdentity, timeoutMs = 5_000): Promise<TlsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ...loadTls(identity), timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
