// A BatchProfile's security levels, after Pod Security's three: what a template may do beyond running a
// container unprivileged in its own namespaces. One table serves both the check (policy.ts) and the README's
// "Security levels and allow-lists" table, and a test keeps the two equal, so the documented rules are the
// enforced ones.
import type { SecurityLevel } from '../api/batchProfile.js';

export const DEFAULT_SECURITY_LEVEL: SecurityLevel = 'restricted';

export type Capability =
  | 'container'
  | 'script'
  | 'prologEpilog'
  | 'multiNode'
  | 'hostEnvironment'
  | 'localhost'
  | 'hostDirectory'
  | 'dockerOptions';

export interface SecurityRule {
  capability: Capability;
  /** The lowest level that allows it. */
  minimum: SecurityLevel;
  /** The README's words for it. */
  doc: string;
}

export const SECURITY_RULES: readonly SecurityRule[] = [
  {
    capability: 'container',
    minimum: 'restricted',
    doc: 'container jobs, unprivileged, in their own namespaces',
  },
  {
    capability: 'script',
    minimum: 'baseline',
    doc: "`$script$` / `$scriptpath$` (run as root on the job's own VM)",
  },
  {
    capability: 'prologEpilog',
    minimum: 'baseline',
    doc: '`prolog` / `epilog` extensions (root scripts on the VM)',
  },
  {
    capability: 'multiNode',
    minimum: 'baseline',
    doc: "multi-node jobs (minSlots == maxSlots > 1), which get host network/IPC/PID, privileged containers and the VM's ssh keys automatically",
  },
  {
    capability: 'hostEnvironment',
    minimum: 'baseline',
    doc: "`jobEnvironment` or `secret_env` variables that steer programs on the VM (`LD_*`, `BASH_ENV`, `ENV`, `GCONV_PATH`, …): the task's environment also reaches the prolog runnable, which Batch runs as root on the VM even when the template sets no prolog, and the job's buckets are mounted on the VM, so `LD_PRELOAD=/data/x.so` would run the tenant's code there",
  },
  {
    capability: 'localhost',
    minimum: 'privileged',
    doc: '`localhost:` stage-in (a host path mounted into the container)',
  },
  {
    capability: 'hostDirectory',
    minimum: 'privileged',
    doc: "a container job's staging target or local `outputPath` in a system directory of the VM (`/`, `/etc`, `/usr`, `/var`, `/root`, …, after resolving `..`): Batch mounts the bucket or NFS share, or writes the log as root, at that path on the VM itself, over the VM's own files",
  },
  {
    capability: 'dockerOptions',
    minimum: 'privileged',
    doc: '`docker_options` (any container runtime options)',
  },
];

const RANK: Record<SecurityLevel, number> = { restricted: 0, baseline: 1, privileged: 2 };

export function levelAllows(level: SecurityLevel, minimum: SecurityLevel): boolean {
  return RANK[level] >= RANK[minimum];
}

export function minimumLevel(capability: Capability): SecurityLevel {
  return SECURITY_RULES.find((r) => r.capability === capability)!.minimum;
}

/** The README's table, row for row. */
export function securityLevelTable(): string {
  const levels: SecurityLevel[] = ['restricted', 'baseline', 'privileged'];
  const rows = SECURITY_RULES.map(
    (r) => `| ${r.doc} | ${levels.map((l) => (levelAllows(l, r.minimum) ? 'yes' : 'no')).join(' | ')} |`,
  );
  return [`| what the template does | ${levels.join(' | ')} |`, '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}

/** Variables that make a process load or run code, or write files, it never meant to: the dynamic loader's
 * (`LD_*`) and those of glibc's list of variables it drops for setuid programs that do so, and the shells'
 * start-up files, functions and trace options. Harmless ones (TMPDIR, TZ, resolver settings) stay allowed:
 * templates use them. */
const HOST_STEERING = new Set([
  'GCONV_PATH',
  'GETCONF_DIR',
  'GLIBC_TUNABLES',
  'LOCPATH',
  'MALLOC_TRACE',
  'NLSPATH',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'IFS',
]);

export function steersHostPrograms(name: string): boolean {
  return name.startsWith('LD_') || name.startsWith('BASH_FUNC_') || HOST_STEERING.has(name);
}

/** Top-level directories of the VM's own system (FHS, and Container-Optimized OS's stateful partition): a
 * bucket mounted over one of them, or a root-written file in one, changes what the VM itself runs. */
const SYSTEM_DIRECTORIES = [
  'bin',
  'boot',
  'dev',
  'etc',
  'home',
  'lib',
  'lib32',
  'lib64',
  'libx32',
  'opt',
  'proc',
  'root',
  'run',
  'sbin',
  'snap',
  'srv',
  'sys',
  'usr',
  'var',
  'mnt/stateful_partition',
];

/** An absolute path with `.`, `..` and repeated slashes resolved, as the kernel resolves a mount point. */
export function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** The system directory a path of the VM lies in (`/` for the root itself), or undefined. */
export function systemDirectoryOf(path: string): string | undefined {
  const normal = normalizePath(path);
  if (normal === '/') return '/';
  const dir = SYSTEM_DIRECTORIES.find((d) => normal === `/${d}` || normal.startsWith(`/${d}/`));
  return dir === undefined ? undefined : `/${dir}`;
}
