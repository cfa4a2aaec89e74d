// Workload Identity Federation credentials as a pod outside Google Cloud has them: a file of type
// external_account (the form `gcloud iam workload-identity-pools create-cred-config` writes) whose subject
// token is read from a file, exchanged at the token endpoint, then for a service account's token.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ExternalAccountOptions {
  dir: string;
  /** The emulator's identity endpoint (`https://127.0.0.1:PORT`). */
  identityUrl: string;
  /** `//iam.googleapis.com/<pool>/providers/<provider>` */
  audience: string;
  /** The subject token (a JWT), written to a file the credentials point at. */
  subjectToken: string;
  /** The service account the federated identity becomes. */
  serviceAccount: string;
}

/** Writes the subject token and the credentials file into `dir`; returns the credentials file's path
 * (the value for GOOGLE_APPLICATION_CREDENTIALS). */
export function writeExternalAccount(opts: ExternalAccountOptions): string {
  const tokenFile = join(opts.dir, 'subject-token');
  writeFileSync(tokenFile, opts.subjectToken);
  const credentials = join(opts.dir, 'external-account.json');
  writeFileSync(
    credentials,
    JSON.stringify({
      type: 'external_account',
      audience: opts.audience,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${opts.identityUrl}/v1/token`,
      service_account_impersonation_url: `${opts.identityUrl}/v1/projects/-/serviceAccounts/${opts.serviceAccount}:generateAccessToken`,
      credential_source: { file: tokenFile },
    }),
  );
  return credentials;
}
