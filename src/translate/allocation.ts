// candidateMachines[0] -> the Batch allocation policy's one instance: a machine type becomes an instance
// policy, `template:<name>` an instance template; further entries are ignored. An instance template carries
// its own machine settings, so the template's spot, accelerator, CPU platform and reservation fields cannot
// apply to it: they are reported instead of silently dropped.
import type { InstancePolicyOrTemplate } from '../api/batch.js';
import type { JobTemplate } from '../api/drmaa2.js';
import type { Extensions } from './extensions.js';
import type { SpecError, Warning } from './specError.js';

const TEMPLATE_PREFIX = 'template:';

export function instanceOf(
  machine: string,
  template: JobTemplate,
  ext: Extensions,
  path: string,
  errors: SpecError[],
  warnings: Warning[],
): InstancePolicyOrTemplate {
  if (machine.startsWith(TEMPLATE_PREFIX))
    return templateInstance(machine, template, ext, path, errors, warnings);
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
