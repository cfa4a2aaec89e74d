/** A rejected field: its JSON path from the resource (e.g. `spec.jobTemplate.minSlots`) and why. */
export interface SpecError {
  path: string;
  message: string;
}

/** A field Batch cannot honour: reported, never silently dropped. */
export interface Warning {
  path: string;
  message: string;
}

export function formatSpecError(e: SpecError): string {
  return `${e.path}: ${e.message}`;
}
