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

/** Go's rendering of a duration given in seconds: "1h2m3.5s", "0s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds === 0) return '0s';
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.abs(seconds);
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  rest -= minutes * 60;
  const secs = Number(rest.toFixed(9)).toString();
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
