// The Batch client speaks protobuf's JSON-ish object form: int64 as strings, Durations and Timestamps as
// {seconds, nanos}, every unset field present with its default (null, '', false, []) and a virtual key per
// oneof naming the member that is set. The core works on the plain form of src/api/batch.ts. These two
// functions are the only place that knows the difference; they go by field name, which is unambiguous
// within the google.cloud.batch.v1 messages.

type Plain = Record<string, unknown>;

const INT64_FIELDS = new Set([
  'priority',
  'taskCount',
  'parallelism',
  'taskCountPerNode',
  'cpuMilli',
  'memoryMib',
  'bootDiskMib',
  'sizeGb',
  'count',
  'maxDistance',
  'taskPack',
]);
const DURATION_FIELDS = new Set(['maxRunDuration', 'timeout', 'runDuration']);
const TIMESTAMP_FIELDS = new Set(['createTime', 'updateTime', 'eventTime']);
/** Fields that are protobuf maps: their entries are data, so empty values are kept. */
const STRING_MAP_FIELDS = new Set(['labels', 'variables', 'secretVariables', 'environments']);
const INT64_MAP_FIELDS = new Set(['counts']);
/** The virtual keys protobufjs adds with `oneofs: true`; their value names the member that is set. */
const ONEOF_KEYS = new Set(['executable', 'source', 'command', 'policyTemplate', 'attached', 'dataSource']);

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------- wire -> core

/** Converts a Batch message (Job, Task, ...) received from the client into the core's plain form: int64 as
 * numbers, Durations as `"12.5s"`, Timestamps as RFC 3339, defaults (null, '', false, [], {}, enum zero
 * values `*_UNSPECIFIED`) and oneof markers dropped. Numeric zeros are kept: an exit code of 0 carries
 * meaning. */
export function fromWire<T>(message: unknown): T {
  return (cleanMessage(message) ?? {}) as T;
}

function cleanMessage(message: unknown): Plain | undefined {
  if (!isPlainObject(message)) return undefined;
  const out: Plain = {};
  for (const [key, value] of Object.entries(message)) {
    if (isOneofMarker(message, key, value)) continue;
    const converted = fromWireField(key, value);
    if (converted !== undefined) out[key] = converted;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function isOneofMarker(message: Plain, key: string, value: unknown): boolean {
  return ONEOF_KEYS.has(key) && typeof value === 'string' && value in message;
}

/** proto3 cannot tell an enum's zero value from an unset field; the core treats both as absent. */
const ENUM_ZERO = /^[A-Z][A-Z0-9_]*_UNSPECIFIED$/;

function isDefault(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    value === '' ||
    value === false ||
    (typeof value === 'string' && ENUM_ZERO.test(value))
  );
}

function fromWireField(key: string, value: unknown): unknown {
  if (isDefault(value)) return undefined;
  if (INT64_FIELDS.has(key)) return toNumber(value);
  if (DURATION_FIELDS.has(key)) return durationFromWire(value);
  if (TIMESTAMP_FIELDS.has(key)) return timestampFromWire(value);
  if (STRING_MAP_FIELDS.has(key)) return nonEmpty(isPlainObject(value) ? { ...value } : undefined);
  if (INT64_MAP_FIELDS.has(key)) return nonEmpty(mapValues(value, toNumber));
  if (key === 'taskGroups' && isPlainObject(value)) return nonEmpty(mapValues(value, cleanMessage));
  return fromWireValue(value);
}

function fromWireValue(value: unknown): unknown {
  if (Array.isArray(value)) {
    // map allocates the array at its length; filter grows one by pushing, to several times the room its
    // elements need, which the poller would hold for every job it keeps.
    const mapped = value.map(fromWireValue);
    const items = mapped.includes(undefined) ? mapped.filter((v) => v !== undefined) : mapped;
    return items.length > 0 ? items : undefined;
  }
  if (isPlainObject(value)) return cleanMessage(value);
  return isDefault(value) ? undefined : value;
}

function mapValues(value: unknown, convert: (v: unknown) => unknown): Plain | undefined {
  if (!isPlainObject(value)) return undefined;
  const out: Plain = {};
  for (const [k, v] of Object.entries(value)) {
    const converted = convert(v);
    if (converted !== undefined) out[k] = converted;
  }
  return out;
}

function nonEmpty(value: Plain | undefined): Plain | undefined {
  return value && Object.keys(value).length > 0 ? value : undefined;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '') return Number(value);
  if (isPlainObject(value) && typeof value.toString === 'function') return Number(String(value));
  return undefined;
}

function secondsAndNanos(value: unknown): { seconds: number; nanos: number } | undefined {
  if (!isPlainObject(value)) return undefined;
  return { seconds: toNumber(value.seconds) ?? 0, nanos: toNumber(value.nanos) ?? 0 };
}

/** `{seconds: "90", nanos: 500000000}` -> `"90.5s"` (the protobuf JSON form of a Duration). */
export function durationFromWire(value: unknown): string | undefined {
  const d = secondsAndNanos(value);
  if (!d) return undefined;
  if (d.nanos === 0) return `${d.seconds}s`;
  const fraction = String(Math.abs(d.nanos)).padStart(9, '0').replace(/0+$/, '');
  const sign = d.seconds < 0 || d.nanos < 0 ? '-' : '';
  return `${sign}${Math.abs(d.seconds)}.${fraction}s`;
}

function timestampFromWire(value: unknown): string | undefined {
  const t = secondsAndNanos(value);
  if (!t) return undefined;
  const millis = t.seconds * 1000 + Math.floor(t.nanos / 1e6);
  return new Date(millis).toISOString();
}

// ---------------------------------------------------------------- core -> wire

/** Converts a core message (the Job of a CreateJobRequest) into what the client serialises: Durations and
 * Timestamps as {seconds, nanos}. Numbers and enum names are accepted by the client as they are. */
export function toWire(message: unknown): unknown {
  if (Array.isArray(message)) return message.map(toWire);
  if (!isPlainObject(message)) return message;
  const out: Plain = {};
  for (const [key, value] of Object.entries(message)) {
    if (value === undefined) continue;
    out[key] = toWireField(key, value);
  }
  return out;
}

function toWireField(key: string, value: unknown): unknown {
  if (DURATION_FIELDS.has(key) && typeof value === 'string') return durationToWire(value);
  if (TIMESTAMP_FIELDS.has(key) && typeof value === 'string') return timestampToWire(value);
  if (STRING_MAP_FIELDS.has(key) || INT64_MAP_FIELDS.has(key)) return value;
  return toWire(value);
}

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** `"90.5s"` -> `{seconds: 90, nanos: 500000000}`; anything else is rejected, since the service would
 * reject it with a less helpful message. */
export function durationToWire(text: string): { seconds: number; nanos: number } {
  const match = DURATION.exec(text);
  if (!match) throw new TypeError(`not a protobuf Duration (e.g. "90s" or "1.5s"): ${JSON.stringify(text)}`);
  const sign = match[1] ? -1 : 1;
  const seconds = Number(match[2]);
  const nanos = Number((match[3] ?? '').padEnd(9, '0'));
  return { seconds: sign * seconds, nanos: sign * nanos };
}

function timestampToWire(text: string): { seconds: number; nanos: number } {
  const millis = Date.parse(text);
  if (Number.isNaN(millis)) throw new TypeError(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
  return { seconds: Math.floor(millis / 1000), nanos: (((millis % 1000) + 1000) % 1000) * 1e6 };
}
