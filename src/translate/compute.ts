// Compute resources and run-time limit: the cpuMilli heuristic, minPhysMemory as MiB, and the
// resourceLimits keys runtime, bootdiskmib and cpumilli, each checked instead of silently ignored.
import type { ComputeResource } from '../api/batch.js';
import type { JobTemplate } from '../api/drmaa2.js';
import { parseGoDuration } from './duration.js';
import type { SpecError, Warning } from './specError.js';

/**
 * Default cpuMilli: one task fills one VM. Machine types are family-series-vCPUs[-suffix]
 * (`c3-standard-8-lssd`) or family-custom-vCPUs-memory (`n2-custom-4-8192`); the vCPU count is the third
 * piece, not the last one. Shared-core and unknown names get 2000.
 */
export function defaultCpuMilli(machine: string): number {
  const pieces = machine.split('-');
  const vcpus = pieces[0] === 'custom' ? pieces[1] : pieces[2];
  return vcpus !== undefined && /^[1-9]\d{0,5}$/.test(vcpus) ? Number(vcpus) * 1000 : 2000;
}

/** Batch Duration text of a number of seconds, without float noise ("1.5s", "900s"). */
function protoDuration(seconds: number): string {
  return `${Number(seconds.toFixed(9))}s`;
}

export function computeOf(
  template: JobTemplate,
  machine: string,
  path: string,
  errors: SpecError[],
  warnings: Warning[],
): { compute: ComputeResource; maxRunDuration?: string } {
  const compute: ComputeResource = {
    cpuMilli: defaultCpuMilli(machine),
    bootDiskMib: 51200,
    ...(template.minPhysMemory ? { memoryMib: template.minPhysMemory } : {}),
  };
  let maxRunDuration: string | undefined;
  for (const [key, value] of Object.entries(template.resourceLimits ?? {}).sort()) {
    const at = `${path}.resourceLimits.${key}`;
    if (key === 'runtime') {
      const seconds = parseGoDuration(value);
      if (seconds === undefined || seconds <= 0)
        errors.push({
          path: at,
          message: `expected a duration such as 30m or 1h30m, got ${JSON.stringify(value)}`,
        });
      else maxRunDuration = protoDuration(seconds);
    } else if (key === 'bootdiskmib' || key === 'cpumilli') {
      if (!/^[1-9]\d*$/.test(String(value)))
        errors.push({ path: at, message: `expected a positive integer, got ${JSON.stringify(value)}` });
      else if (key === 'bootdiskmib') compute.bootDiskMib = Number(value);
      else compute.cpuMilli = Number(value);
    } else
      warnings.push({
        path: at,
        message: 'unknown resource limit: ignored (known: runtime, bootdiskmib, cpumilli)',
      });
  }
  return { compute, ...(maxRunDuration ? { maxRunDuration } : {}) };
}
