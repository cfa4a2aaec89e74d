// Certificates for a throw-away control plane, made with the openssl CLI (as controller-runtime's envtest makes them). One CA signs
// the serving certificate and the client certificates; a separate key signs service-account tokens. openssl
// runs inside the directory with relative file names, so the command lines can be written as plain words.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC_KEY = 'ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
const DAYS = 7;

export interface CertAndKey {
  cert: string;
  key: string;
}

export interface ControlPlaneCerts {
  ca: CertAndKey;
  serving: CertAndKey;
  /** User `admin` in group `system:masters`: bypasses RBAC, as envtest's admin does. */
  admin: CertAndKey;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

export async function generateCerts(dir: string): Promise<ControlPlaneCerts> {
  await openssl(
    dir,
    `req -x509 -newkey ${EC_KEY} -keyout ca.key -out ca.crt -days ${DAYS} -subj /O=drmaa2-test/CN=drmaa2-test-ca` +
      ' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign',
  );
  const [serving, admin] = await Promise.all([
    signedByCa(dir, 'apiserver', '/CN=localhost', [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'extendedKeyUsage=serverAuth',
    ]),
    signedByCa(dir, 'admin', '/O=system:masters/CN=admin', ['extendedKeyUsage=clientAuth']),
    openssl(dir, 'genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key').then(() =>
      openssl(dir, 'pkey -in sa.key -pubout -out sa.pub'),
    ),
  ]);
  return {
    ca: { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') },
    serving,
    admin,
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPublicKey: join(dir, 'sa.pub'),
  };
}

async function signedByCa(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
): Promise<CertAndKey> {
  await writeFile(
    join(dir, `${name}.ext`),
    ['keyUsage=critical,digitalSignature,keyEncipherment', ...extensions].join('\n') + '\n',
  );
  await openssl(dir, `req -new -newkey ${EC_KEY} -keyout ${name}.key -out ${name}.csr -subj ${subject}`);
  await openssl(
    dir,
    `x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -set_serial 0x${randomBytes(16).toString('hex')}` +
      ` -days ${DAYS} -extfile ${name}.ext -out ${name}.crt`,
  );
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
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
