// Go's time.Duration text form, which DRMAA2 templates and JobInfo use ("1h30m", "90s", "1.5s").

const UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Seconds of a Go duration string, or undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(trimmed);
  if (!match) return undefined;
  let total = 0;
  for (const part of trimmed.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * UNITS[part[2]!]!;
  }
  return match[1] === '-' ? -total : total;
}

/** A count of `unit`s with Go's trimmed decimals: 1500 / 1000 -> "1.5". */
function decimal(nanos: number, unit: number): string {
  return Number((nanos / unit).toFixed(9)).toString();
}

/** Go's rendering of a duration given in seconds: "1h2m3.5s", "1.5ms", "0s" (nanosecond precision). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '0s';
  const total = Math.round(Math.abs(seconds) * 1e9);
  if (total === 0) return '0s';
  const sign = seconds < 0 ? '-' : '';
  if (total < 1e3) return `${sign}${total}ns`;
  if (total < 1e6) return `${sign}${decimal(total, 1e3)}µs`;
  if (total < 1e9) return `${sign}${decimal(total, 1e6)}ms`;
  const hours = Math.floor(total / 3.6e12);
  const minutes = Math.floor((total - hours * 3.6e12) / 6e10);
  const secs = decimal(total - hours * 3.6e12 - minutes * 6e10, 1e9);
  if (hours > 0) return `${sign}${hours}h${minutes}m${secs}s`;
  if (minutes > 0) return `${sign}${minutes}m${secs}s`;
  return `${sign}${secs}s`;
}

/** Batch Duration text ("90.5s") -> seconds. */
export function protoSeconds(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(text);
  return match ? Number(match[1]) : undefined;
}
