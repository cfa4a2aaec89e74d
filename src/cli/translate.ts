// `drmaa2-batch translate`: prints the Batch CreateJobRequest(s) each document becomes, without calling
// any API. Warnings and errors go to stderr; valid documents are printed even when others are invalid, and
// the exit code is 1 when any document was invalid. With --profile FILE (a BatchProfile manifest) each
// document is judged by that profile as the controller judges it: where and as whom it runs, or the rules it
// breaks, each with its field.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { dump, load } from 'js-yaml';
import { PROFILE_KIND, type BatchProfile } from '../api/batchProfile.js';
import { checkProfile } from '../translate/policy.js';
import type { CreateJobRequest } from '../api/batch.js';
import { formatSpecError, translateSpec, type SpecError, type SubmitContext } from '../translate/index.js';
import { readDocuments, type InputDocument } from './inputDocuments.js';

interface TranslateOptions {
  file: string;
  output: string;
  project?: string;
  location?: string;
  session?: string;
  profile?: string;
}

interface Outcome {
  requests: CreateJobRequest[];
  failed: boolean;
}

const DEFAULT_PROJECT = 'my-project';
const DEFAULT_LOCATION = 'us-central1';
const DEFAULT_SESSION = 'default';

export function registerTranslate(program: Command): void {
  program
    .command('translate')
    .description(
      'print the Google Batch CreateJobRequest(s) that Drmaa2Job manifests or DRMAA2 job templates become ' +
        '(YAML stream: one document per request; JSON: an object for one request, else an array)',
    )
    .requiredOption('-f, --file <file>', 'manifest or job template file (YAML or JSON), - for stdin')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .option('--project <project>', 'Google Cloud project (env DRMAA2_PROJECT)')
    .option('--location <location>', 'Batch location (env DRMAA2_LOCATION)')
    .option('--session <session>', 'DRMAA2 session label (env DRMAA2_SESSION)')
    .option(
      '--profile <file>',
      'judge each document by this BatchProfile (YAML or JSON) as the controller does',
    )
    .action((opts: TranslateOptions) => {
      process.exitCode = runTranslate(opts);
    });
}

function runTranslate(opts: TranslateOptions): number {
  if (opts.output !== 'yaml' && opts.output !== 'json') {
    process.stderr.write(`error: --output must be yaml or json, got ${JSON.stringify(opts.output)}\n`);
    return 2;
  }
  const text = readInput(opts.file);
  if (text === undefined) return 1;
  const profile = opts.profile ? readProfile(opts.profile) : undefined;
  if (profile === null) return 2;
  const base: SubmitContext = {
    ...context(opts),
    ...(profile ? { profile: { name: profile.metadata.name, spec: profile.spec } } : {}),
  };
  const documents = readDocuments(text);
  const multi = documents.length > 1;
  const outcome: Outcome = { requests: [], failed: false };
  for (const doc of documents) translateDocument(doc, base, multi, outcome);
  process.stdout.write(render(outcome.requests, opts.output));
  return outcome.failed ? 1 : 0;
}

function readInput(file: string): string | undefined {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    process.stderr.write(`error: cannot read ${file}: ${(err as Error).message}\n`);
    return undefined;
  }
}

/** The profile of `file`, or null (said on stderr) when it is no valid BatchProfile. */
function readProfile(file: string): BatchProfile | null {
  const text = readInput(file);
  if (text === undefined) return null;
  let doc: BatchProfile;
  try {
    doc = load(text) as BatchProfile;
  } catch (err) {
    process.stderr.write(`error: ${file}: not YAML or JSON: ${(err as Error).message}\n`);
    return null;
  }
  if (doc?.kind !== PROFILE_KIND || !doc.metadata?.name || !doc.spec) {
    process.stderr.write(`error: ${file}: expected a BatchProfile with metadata.name and spec\n`);
    return null;
  }
  const errors = checkProfile(doc.spec, { name: doc.metadata.name, basePath: 'spec' });
  for (const e of errors) process.stderr.write(`error: ${file}: ${formatSpecError(e)}\n`);
  return errors.length > 0 ? null : doc;
}

function context(opts: TranslateOptions): SubmitContext {
  return {
    project: opts.project || process.env.DRMAA2_PROJECT || DEFAULT_PROJECT,
    location: opts.location || process.env.DRMAA2_LOCATION || DEFAULT_LOCATION,
    session: opts.session || process.env.DRMAA2_SESSION || DEFAULT_SESSION,
    now: new Date(),
    nonce: 0,
  };
}

function translateDocument(doc: InputDocument, base: SubmitContext, multi: boolean, outcome: Outcome): void {
  if (doc.type === 'skipped') {
    process.stderr.write(`warning: ${doc.label}: skipped: ${doc.reason}\n`);
    return;
  }
  if (doc.type === 'invalid') {
    process.stderr.write(`error: ${doc.label}: ${doc.message}\n`);
    outcome.failed = true;
    return;
  }
  const ctx: SubmitContext =
    doc.type === 'manifest' ? { ...base, owner: doc.owner, basePath: doc.basePath } : { ...base };
  const strip = doc.type === 'spec' ? doc.strip : '';
  const result = translateSpec(doc.spec, ctx);
  if (!result.ok) {
    for (const e of result.errors) {
      process.stderr.write(`error: ${doc.label}: ${formatSpecError(relative(e, strip))}\n`);
    }
    outcome.failed = true;
    return;
  }
  const prefix = multi ? `${doc.label}: ` : '';
  for (const w of result.submission.warnings) {
    process.stderr.write(`warning: ${prefix}${formatSpecError(relative(w, strip))}\n`);
  }
  outcome.requests.push(...result.submission.requests);
}

/** The path as the document spells it. */
function relative(e: SpecError, strip: string): SpecError {
  return strip && e.path.startsWith(strip) ? { ...e, path: e.path.slice(strip.length) } : e;
}

function render(requests: CreateJobRequest[], format: 'yaml' | 'json'): string {
  if (requests.length === 0) return '';
  if (format === 'json')
    return `${JSON.stringify(requests.length === 1 ? requests[0] : requests, null, 2)}\n`;
  return requests.map((r) => dump(r, { noRefs: true, lineWidth: -1 })).join('---\n');
}
