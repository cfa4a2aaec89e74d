// candidateMachines[0] -> the Batch allocation policy's one instance: a machine type becomes an instance
// policy, `template:<name>` an instance template; further entries are ignored. An instance template carries
// its own machine settings, so the template's spot, accelerator, CPU platform and reservation fields cannot
// apply to it: they are reported instead of silently dropped. What the VMs' provisioning means for the task
// spec is decided here too: how often a task preempted with its Spot VM runs again.
import type { InstancePolicyOrTemplate, LifecyclePolicy } from '../api/batch.js';
import type { JobTemplate } from '../api/drmaa2.js';
import type { Extensions } from './extensions.js';
import type { SpecError, Warning } from './specError.js';

const TEMPLATE_PREFIX = 'template:';

export function isInstanceTemplate(machine: string): boolean {
  return machine.startsWith(TEMPLATE_PREFIX);
}

/** A Spot job that sets no preemption_retries: a preemption is rare, yet without any retry a single one fails
 * the whole job; three keep a task repeatedly preempted from costing more than four runs. */
export const DEFAULT_SPOT_PREEMPTION_RETRIES = 3;

/** The exit code of a task whose VM was preempted (cloud.google.com/batch/docs/troubleshooting#reserved-exit-codes). */
export const PREEMPTED_EXIT_CODE = 50001;

/** Every other exit code a failed task can end with: its runnables' own (1-255), Batch's 50000 for a failure
 * of no known cause (TaskExecution.exit_code), and Batch's other reserved codes: 50002 VM reporting timeout,
 * 50003 VM rebooted, 50004 task unresponsive, 50005 maxRunDuration exceeded, 50006 VM recreated. */
export const NOT_PREEMPTED_EXIT_CODES: readonly number[] = [
  ...Array.from({ length: 255 }, (_, i) => i + 1),
  50000,
  50002,
  50003,
  50004,
  50005,
  50006,
];

export function instanceOf(
  machine: string,
  template: JobTemplate,
  ext: Extensions,
  path: string,
  errors: SpecError[],
  warnings: Warning[],
): InstancePolicyOrTemplate {
  if (isInstanceTemplate(machine)) return templateInstance(machine, template, ext, path, errors, warnings);
  return {
    policy: {
      machineType: machine,
      ...(template.machineArch ? { minCpuPlatform: template.machineArch } : {}),
      provisioningModel: ext.spot ? 'SPOT' : 'STANDARD',
      ...(template.reservationID ? { reservation: template.reservationID } : {}),
      ...(ext.accelerator
        ? { accelerators: [{ type: ext.accelerator.type, count: ext.accelerator.count }] }
        : {}),
    },
    installGpuDrivers: Boolean(ext.accelerator?.type.startsWith('nvidia')),
  };
}

function templateInstance(
  machine: string,
  template: JobTemplate,
  ext: Extensions,
  path: string,
  errors: SpecError[],
  warnings: Warning[],
): InstancePolicyOrTemplate {
  const name = machine.split(':')[1] ?? '';
  if (name === '')
    errors.push({
      path: `${path}.candidateMachines[0]`,
      message: 'expected template:<instance-template name>',
    });
  const ignored: [boolean, string][] = [
    [ext.spot, 'extension.extensionList.spot'],
    [ext.accelerator !== undefined, 'extension.extensionList.accelerators'],
    [Boolean(template.machineArch), 'machineArch'],
    [Boolean(template.reservationID), 'reservationID'],
  ];
  for (const [set, field] of ignored) {
    if (set)
      warnings.push({
        path: `${path}.${field}`,
        message: 'ignored: the instance template in candidateMachines[0] decides this',
      });
  }
  return { instanceTemplate: name };
}

/**
 * maxRetryCount and the lifecycle policy that retry a task preempted with its VM, and nothing else: a task
 * whose own command fails is not run again: it fails as it would on a standard VM, without costing more runs.
 *
 * The sources disagree on what Batch does with an exit code no policy lists: LifecyclePolicy.action says the
 * opposite of the policy's action (so RETRY_TASK on 50001 alone would fail every other code), while
 * TaskSpec.lifecycle_policies says the default policy, which retries any non-zero exit up to maxRetryCount
 * (so the same policy would also retry the task's own failures). The same field says only one policy is
 * supported, so a RETRY_TASK and FAIL_TASK pair may be refused. One FAIL_TASK policy listing every exit code
 * but 50001 is right under each reading: the listed codes fail at once, and 50001 is retried both as the
 * opposite action and by the default policy.
 *
 * Spot VMs get DEFAULT_SPOT_PREEMPTION_RETRIES unless preemption_retries says otherwise. An instance template
 * may make its VMs Spot or preemptible where the translation cannot see it, so there preemption_retries
 * applies as given (and nothing by default). Standard VMs are never preempted: there it has no effect and is
 * reported.
 */
export function preemptionRetries(
  machine: string,
  ext: Extensions,
  path: string,
  warnings: Warning[],
): { maxRetryCount?: number; lifecyclePolicies?: LifecyclePolicy[] } {
  const spot = ext.spot && !isInstanceTemplate(machine);
  if (!spot && !isInstanceTemplate(machine) && (ext.preemptionRetries ?? 0) > 0) {
    warnings.push({
      path: `${path}.extension.extensionList.preemption_retries`,
      message:
        'no effect: standard VMs are not preempted (set spot to true, or name a Spot instance template in candidateMachines[0])',
    });
    return {};
  }
  const retries = ext.preemptionRetries ?? (spot ? DEFAULT_SPOT_PREEMPTION_RETRIES : 0);
  if (retries === 0) return {};
  return {
    maxRetryCount: retries,
    lifecyclePolicies: [
      { action: 'FAIL_TASK', actionCondition: { exitCodes: [...NOT_PREEMPTED_EXIT_CODES] } },
    ],
  };
}
