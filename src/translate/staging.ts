// stageInFiles / stageOutFiles -> Batch volumes (and container bind mounts), and the stage-out buckets the
// controller makes sure of before it submits. Keys are sorted, so the same template gives the same request;
// a bucket staged in and out at the same path is mounted once; two sources on one path are an error.
// outputPath -> the logs path: Batch writes it on the VM, so a gs:// outputPath becomes a file under a
// mounted bucket, and a local one outside every volume of the job is reported (its log goes with the VM).
import type { Volume } from '../api/batch.js';
import type { JobTemplate } from '../api/drmaa2.js';
import type { SpecError, Warning } from './specError.js';

export interface Staging {
  volumes: Volume[];
  containerVolumes: string[];
  buckets: string[];
  /** Where Batch writes the task logs on the VM (logsPolicy PATH); unset: Cloud Logging. */
  logsPath?: string;
  /** What each entry reaches, one per valid entry, for a BatchProfile's rules (src/translate/policy.ts). */
  uses: StagingUse[];
}

/** A BatchProfile allows buckets, NFS servers and host access per entry, so each entry says what it reaches
 * beyond the container, with its own error path. */
export interface StagingUse {
  /** The entry's path in the resource, e.g. `spec.jobTemplate.stageOutFiles["/out"]`. */
  at: string;
  source: 'gcs' | 'nfs' | 'localhost' | 'log';
  bucket?: string;
  server?: string;
  /** The job writes there: a stage-out bucket, the bucket of a gs:// outputPath, a local log file. */
  writes: boolean;
  /** Where on the VM itself (outside any container) the entry mounts something or writes the log. */
  vmPath?: string;
}

const BUCKET_PATH = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/.*)?$/;

/** Where a bucket is mounted when no staging target names a place: where Batch's own examples mount them. */
function bucketMount(bucket: string): string {
  return `/mnt/disks/${bucket}`;
}

class Mounts {
  readonly out: Staging = { volumes: [], containerVolumes: [], buckets: [], uses: [] };
  private readonly byTarget = new Map<string, string>();

  constructor(
    private readonly container: boolean,
    private readonly errors: SpecError[],
  ) {}

  /** False when the path already holds another source (reported) or this one (nothing to add). */
  claim(target: string, source: string, at: string): boolean {
    if (!target.startsWith('/')) {
      this.errors.push({ path: at, message: `the path ${JSON.stringify(target)} must be absolute` });
      return false;
    }
    const held = this.byTarget.get(target);
    if (held === undefined) {
      this.byTarget.set(target, source);
      return true;
    }
    if (held !== source)
      this.errors.push({ path: at, message: `${target} is already staged from ${JSON.stringify(held)}` });
    return false;
  }

  gcs(source: string, target: string, at: string, writes: boolean): void {
    const remotePath = source.slice('gs://'.length).replace(/\/+$/, '');
    if (!BUCKET_PATH.test(remotePath)) {
      this.errors.push({ path: at, message: `invalid Cloud Storage URI ${JSON.stringify(source)}` });
      return;
    }
    // Recorded before the claim: a bucket staged in and out at one path is mounted once, yet written to.
    this.out.uses.push({ at, source: 'gcs', bucket: remotePath.split('/')[0]!, writes, vmPath: target });
    if (!this.claim(target, `gs://${remotePath}`, at)) return;
    this.out.volumes.push({ gcs: { remotePath }, mountPath: target });
    if (this.container) this.out.containerVolumes.push(`${target}:${target}`);
  }

  nfs(source: string, target: string, at: string): void {
    const [, server, remote] = source.split(':');
    if (source.split(':').length !== 3 || !server || !remote?.startsWith('/')) {
      this.errors.push({
        path: at,
        message: `expected nfs:<server>:<absolute path>, got ${JSON.stringify(source)}`,
      });
      return;
    }
    if (!this.container) return this.nfsForScript(server, remote, source, target, at);
    const dir = remote.slice(0, remote.lastIndexOf('/') + 1);
    const file = remote.slice(dir.length);
    const hostPath = `/mnt${dir}`.replace(/\/+$/, '');
    this.out.uses.push({ at, source: 'nfs', server, writes: false, vmPath: hostPath });
    if (!this.claim(target, source, at)) return;
    if (!this.out.volumes.some((v) => v.nfs?.server === server && v.nfs.remotePath === dir))
      this.out.volumes.push({ nfs: { server, remotePath: dir }, mountPath: hostPath });
    this.out.containerVolumes.push(`${file ? `${hostPath}/${file}` : hostPath}:${target}`);
  }

  /** Script jobs run on the VM: the share is mounted where the template asks, and only directories can be. */
  private nfsForScript(server: string, remote: string, source: string, target: string, at: string): void {
    if (!remote.endsWith('/')) {
      this.errors.push({
        path: at,
        message: `script jobs can stage in NFS directories only (end the path with /), got ${JSON.stringify(source)}`,
      });
      return;
    }
    this.out.uses.push({ at, source: 'nfs', server, writes: false, vmPath: target });
    if (!this.claim(target, source, at)) return;
    this.out.volumes.push({ nfs: { server, remotePath: remote }, mountPath: target });
  }

  /** The logs path of a gs:// outputPath: under a volume of the job that already holds the file's directory,
   * else under the bucket mounted once more at its own mount point. The bucket is written to, so it is made
   * sure of like a stage-out bucket. */
  gcsLog(uri: string, at: string): string | undefined {
    const remote = uri.slice('gs://'.length);
    const slash = remote.indexOf('/');
    const bucket = slash < 0 ? remote : remote.slice(0, slash);
    const file = slash < 0 ? '' : remote.slice(slash + 1);
    if (!BUCKET_PATH.test(remote) || file === '' || file.endsWith('/')) {
      this.errors.push({
        path: at,
        message: `expected gs://<bucket>/<path of the log file>, got ${JSON.stringify(uri)}`,
      });
      return undefined;
    }
    const holder = this.out.volumes.find(
      (v) => v.gcs?.remotePath && v.mountPath && remote.startsWith(`${v.gcs.remotePath}/`),
    );
    if (holder) {
      this.bucket(bucket);
      const inside = remote.slice(holder.gcs!.remotePath!.length + 1);
      const logsPath = `${holder.mountPath!.replace(/\/+$/, '')}/${inside}`;
      this.out.uses.push({ at, source: 'gcs', bucket, writes: true, vmPath: logsPath });
      return logsPath;
    }
    const mountPath = bucketMount(bucket);
    this.out.uses.push({ at, source: 'gcs', bucket, writes: true, vmPath: mountPath });
    if (!this.claim(mountPath, `gs://${bucket}`, at)) return undefined;
    this.out.volumes.push({ gcs: { remotePath: bucket }, mountPath });
    this.bucket(bucket);
    return `${mountPath}/${file}`;
  }

  /** A local logs path is kept only when it lies under a volume the job mounts on the VM. */
  localLog(logsPath: string, at: string, warnings: Warning[]): string {
    this.out.uses.push({ at, source: 'log', writes: true, vmPath: logsPath });
    const mounted = this.out.volumes.some((v) => {
      const root = v.mountPath?.replace(/\/+$/, '');
      return root !== undefined && root !== '' && (logsPath === root || logsPath.startsWith(`${root}/`));
    });
    if (!mounted)
      warnings.push({
        path: at,
        message: `Batch writes the log to ${JSON.stringify(logsPath)} on the VM, and no volume of the job is mounted there: the log is lost with the VM (a gs://<bucket>/<file> outputPath keeps it)`,
      });
    return logsPath;
  }

  bucket(name: string): void {
    if (!this.out.buckets.includes(name)) this.out.buckets.push(name);
  }

  localhost(source: string, target: string, at: string): void {
    const hostPath = source.slice('localhost:'.length);
    if (!this.container) {
      this.errors.push({ path: at, message: 'localhost: sources are only valid for container jobs' });
      return;
    }
    if (!hostPath.startsWith('/')) {
      this.errors.push({
        path: at,
        message: `expected localhost:<absolute path>, got ${JSON.stringify(source)}`,
      });
      return;
    }
    this.out.uses.push({ at, source: 'localhost', writes: false });
    if (this.claim(target, source, at)) this.out.containerVolumes.push(`${hostPath}:${target}`);
  }
}

function sorted(map: Record<string, string> | undefined): [string, string][] {
  return Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function stageIn(mounts: Mounts, target: string, source: unknown, at: string, errors: SpecError[]): void {
  if (typeof source !== 'string') errors.push({ path: at, message: 'expected a string' });
  else if (source.startsWith('gs://')) mounts.gcs(source, target, at, false);
  else if (source.startsWith('nfs:')) mounts.nfs(source, target, at);
  else if (source.startsWith('localhost:')) mounts.localhost(source, target, at);
  else
    errors.push({
      path: at,
      message: `unsupported source ${JSON.stringify(source)}: use gs://<bucket>[/<path>], nfs:<server>:<path> or localhost:<path>`,
    });
}

export function staging(
  template: Pick<JobTemplate, 'stageInFiles' | 'stageOutFiles' | 'outputPath'>,
  container: boolean,
  path: string,
  errors: SpecError[],
  warnings: Warning[],
): Staging {
  const mounts = new Mounts(container, errors);
  for (const [target, source] of sorted(template.stageInFiles))
    stageIn(mounts, target, source, `${path}.stageInFiles[${JSON.stringify(target)}]`, errors);
  for (const [target, destination] of sorted(template.stageOutFiles)) {
    const at = `${path}.stageOutFiles[${JSON.stringify(target)}]`;
    if (typeof destination !== 'string' || !destination.startsWith('gs://')) {
      errors.push({
        path: at,
        message: `stage-out destinations must be gs:// URIs, got ${JSON.stringify(destination)}`,
      });
      continue;
    }
    const before = errors.length;
    mounts.gcs(destination, target, at, true);
    if (errors.length === before) mounts.bucket(destination.slice('gs://'.length).split('/')[0]!);
  }
  const output = template.outputPath;
  if (output) {
    const at = `${path}.outputPath`;
    const logsPath = output.startsWith('gs://')
      ? mounts.gcsLog(output, at)
      : mounts.localLog(output, at, warnings);
    if (logsPath !== undefined) mounts.out.logsPath = logsPath;
  }
  return mounts.out;
}
