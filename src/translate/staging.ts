// stageInFiles / stageOutFiles -> Batch volumes (and container bind mounts), and the stage-out buckets the
// controller makes sure of before it submits. Keys are sorted, so the same template gives the same request.
import type { Volume } from '../api/batch.js';
import type { SpecError } from './specError.js';

export interface Staging {
  volumes: Volume[];
  containerVolumes: string[];
  buckets: string[];
}

function sorted(map: Record<string, string> | undefined): [string, string][] {
  return Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
}

export function staging(
  stageIn: Record<string, string> | undefined,
  stageOut: Record<string, string> | undefined,
  container: boolean,
  path: string,
  errors: SpecError[],
): Staging {
  const out: Staging = { volumes: [], containerVolumes: [], buckets: [] };
  const mounted = new Set<string>();
  const mountGcs = (source: string, target: string, at: string) => {
    const remotePath = source.slice('gs://'.length).replace(/\/+$/, '');
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/.*)?$/.test(remotePath)) {
      errors.push({ path: at, message: `invalid Cloud Storage URI ${JSON.stringify(source)}` });
      return;
    }
    if (!target.startsWith('/')) {
      errors.push({ path: at, message: `the mount path ${JSON.stringify(target)} must be absolute` });
      return;
    }
    const key = `${remotePath}=>${target}`;
    if (mounted.has(key)) return;
    mounted.add(key);
    out.volumes.push({ gcs: { remotePath }, mountPath: target });
    if (container) out.containerVolumes.push(`${target}:${target}`);
  };
  for (const [target, source] of sorted(stageIn)) {
    const at = `${path}.stageInFiles[${JSON.stringify(target)}]`;
    if (typeof source !== 'string') {
      errors.push({ path: at, message: 'expected a string' });
    } else if (source.startsWith('gs://')) {
      mountGcs(source, target, at);
    } else if (source.startsWith('nfs:')) {
      const parts = source.split(':');
      if (parts.length !== 3 || !parts[1] || !parts[2]?.startsWith('/')) {
        errors.push({
          path: at,
          message: `expected nfs:<server>:<absolute path>, got ${JSON.stringify(source)}`,
        });
        continue;
      }
      const remote = parts[2];
      const dir = remote.endsWith('/') ? remote : remote.slice(0, remote.lastIndexOf('/') + 1);
      const file = remote.slice(dir.length);
      const mountPath = `/mnt${dir}`.replace(/\/+$/, '');
      if (!out.volumes.some((v) => v.nfs?.server === parts[1] && v.nfs?.remotePath === dir)) {
        out.volumes.push({ nfs: { server: parts[1], remotePath: dir }, mountPath });
      }
      if (container) out.containerVolumes.push(`${mountPath}/${file}`.replace(/\/$/, '') + `:${target}`);
    } else if (source.startsWith('localhost:')) {
      if (!container)
        errors.push({ path: at, message: 'localhost: sources are only valid for container jobs' });
      else out.containerVolumes.push(`${source.slice('localhost:'.length)}:${target}`);
    } else {
      errors.push({
        path: at,
        message: `unsupported source ${JSON.stringify(source)}: use gs://, nfs:<server>:<path> or localhost:<path>`,
      });
    }
  }
  for (const [target, destination] of sorted(stageOut)) {
    const at = `${path}.stageOutFiles[${JSON.stringify(target)}]`;
    if (typeof destination !== 'string' || !destination.startsWith('gs://')) {
      errors.push({
        path: at,
        message: `stage-out destinations must be gs:// URIs, got ${JSON.stringify(destination)}`,
      });
      continue;
    }
    mountGcs(destination, target, at);
    const bucket = destination.slice('gs://'.length).split('/')[0]!;
    if (bucket && !out.buckets.includes(bucket)) out.buckets.push(bucket);
  }
  return out;
}
