// The part of the Logging query language (cloud.google.com/logging/docs/view/logging-query-language) that
// clients send when they read a Batch job's task logs (Google's samples, nextflow, @google-cloud/logging's own
// 24-hour `timestamp >=` clause): comparisons on the entry's fields, its labels and its resource, with the
// language's precedence of NOT, OR and AND, parentheses, adjacent terms ANDed, value lists, global
// restrictions, `log_id()` and `--` comments. docs/batch-fidelity.md, "Cloud Logging", lists the rules; a
// construct outside this subset (regular expressions, the other functions) is refused as INVALID_ARGUMENT
// rather than matched wrongly.
import { invalid } from './apiError.js';

/** ListLogEntriesRequest.filter: "The maximum length of a filter is 20,000 characters." */
export const MAX_FILTER_LENGTH = 20_000;

/** google.logging.type.LogSeverity, in its numeric order. */
export const SEVERITY_LEVELS: Readonly<Record<string, number>> = {
  DEFAULT: 0,
  DEBUG: 100,
  INFO: 200,
  NOTICE: 300,
  WARNING: 400,
  ERROR: 500,
  CRITICAL: 600,
  ALERT: 700,
  EMERGENCY: 800,
};

/** What a filter looks at: the entry, and its two times as milliseconds (entries carry no finer time). */
export interface FilterView {
  logName: string;
  severity: string;
  insertId: string;
  textPayload?: string;
  labels: Readonly<Record<string, string>>;
  resource: { type: string; labels: Readonly<Record<string, string>> };
  timeMs: number;
  receiveTimeMs: number;
}

export type EntryPredicate = (entry: FilterView) => boolean;

type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | ':';

/** A time to the nanosecond, without the rounding a float of milliseconds would bring. */
interface Instant {
  ms: number;
  subMsNanos: number;
}

/** Nesting beyond this is refused: the parser recurses, and a hostile filter must not exhaust the stack. */
const MAX_DEPTH = 64;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2})))?$/;

function parseInstant(text: string): Instant | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', , sign, oh = '0', om = '0'] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60)
    return undefined;
  const offsetMinutes = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  const nanos = Number(frac.padEnd(9, '0'));
  const ms =
    Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s)) -
    offsetMinutes * 60_000 +
    Math.floor(nanos / 1e6);
  return Number.isFinite(ms) ? { ms, subMsNanos: nanos % 1e6 } : undefined;
}

function compareInstants(a: Instant, b: Instant): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.subMsNanos - b.subMsNanos;
}

function holds(order: number, op: Op): boolean {
  switch (op) {
    case '=':
    case ':':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

/** "string: Comparisons ignore letter case. Specifically, both operands are first normalized using NFKC_CF
 * Unicode normalization" — NFKC and lower case come close. */
function fold(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** `:` is "has": the value occurs in the field; `:*` asks only that the field is present. */
function textTest(op: Op, value: string): (actual: string | undefined) => boolean {
  if (op === ':' && value === '*') return (actual) => actual !== undefined;
  const wanted = fold(value);
  if (op === ':') return (actual) => actual !== undefined && fold(actual).includes(wanted);
  return (actual) => {
    if (actual === undefined) return false;
    const folded = fold(actual);
    return holds(folded < wanted ? -1 : folded > wanted ? 1 : 0, op);
  };
}

/** "If an attempted conversion fails, then the comparison fails": a value that is no severity matches
 * nothing, as does one that is no time. */
function severityLevel(value: string): number | undefined {
  const named = SEVERITY_LEVELS[value.toUpperCase()];
  if (named !== undefined) return named;
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

function timeTest(op: Op, value: string, pick: (e: FilterView) => number): EntryPredicate {
  if (op === ':' && value === '*') return () => true;
  const instant = parseInstant(value);
  if (!instant) return () => false;
  // `:` on a field that is not text is handled like equality.
  return (e) => holds(compareInstants({ ms: pick(e), subMsNanos: 0 }, instant), op);
}

/** Top-level LogEntry fields by their JSON and proto names (the query language takes either); a field
 * outside the type is an error, as in Logging ("the field is undefined, which is an error that is detected
 * before the query is used"). */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  logName: 'logName',
  log_name: 'logName',
  severity: 'severity',
  timestamp: 'timestamp',
  receiveTimestamp: 'receiveTimestamp',
  receive_timestamp: 'receiveTimestamp',
  insertId: 'insertId',
  insert_id: 'insertId',
  textPayload: 'textPayload',
  text_payload: 'textPayload',
  labels: 'labels',
  resource: 'resource',
  jsonPayload: 'payload',
  json_payload: 'payload',
  protoPayload: 'payload',
  proto_payload: 'payload',
  httpRequest: 'defaulted',
  http_request: 'defaulted',
  operation: 'defaulted',
  sourceLocation: 'defaulted',
  source_location: 'defaulted',
  split: 'defaulted',
  metadata: 'defaulted',
  trace: 'defaultedScalar',
  spanId: 'defaultedScalar',
  span_id: 'defaultedScalar',
  traceSampled: 'defaultedScalar',
  trace_sampled: 'defaultedScalar',
};

function labelOf(map: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

function undefinedField(path: string[], at: number) {
  return syntax(`${JSON.stringify(path.join('.'))} is not a field of a log entry`, at);
}

function comparison(path: string[], op: Op, value: string, at: number): EntryPredicate {
  const field = FIELD_ALIASES[path[0]!];
  const rest = path.slice(1);
  const scalar = () => {
    if (rest.length > 0) throw undefinedField(path, at);
  };
  switch (field) {
    case 'logName':
    case 'insertId':
    case 'textPayload': {
      scalar();
      const test = textTest(op, value);
      return (e) => test(e[field]);
    }
    case 'severity': {
      scalar();
      if (op === ':' && value === '*') return () => true;
      const level = severityLevel(value);
      if (level === undefined) return () => false;
      return (e) => holds((SEVERITY_LEVELS[e.severity] ?? 0) - level, op);
    }
    case 'timestamp':
    case 'receiveTimestamp':
      scalar();
      return timeTest(op, value, field === 'timestamp' ? (e) => e.timeMs : (e) => e.receiveTimeMs);
    case 'labels': {
      // A label the entry lacks is missing: every comparison on it fails.
      if (rest.length === 0) return () => false;
      const key = rest.join('.');
      const test = textTest(op, value);
      return (e) => test(labelOf(e.labels, key));
    }
    case 'resource': {
      if (rest[0] === 'type' && rest.length === 1) {
        const test = textTest(op, value);
        return (e) => test(e.resource.type);
      }
      if (rest[0] === 'labels') {
        if (rest.length === 1) return () => false;
        const key = rest.slice(1).join('.');
        const test = textTest(op, value);
        return (e) => test(labelOf(e.resource.labels, key));
      }
      throw undefinedField(path, at);
    }
    case 'payload':
      // These entries carry a text payload only: a JSON or proto payload field is missing.
      return () => false;
    case 'defaulted':
    case 'defaultedScalar': {
      if (field === 'defaultedScalar') scalar();
      // "Comparisons are performed as if the field were present and had its default value"; `:*` asks
      // whether it is explicitly present, which it never is here.
      if (op === ':' && value === '*') return () => false;
      const matches = textTest(op, value)('');
      return () => matches;
    }
    default:
      throw undefinedField(path, at);
  }
}

/** A global restriction: "Logging uses the has (:) operator to determine if any field in a log entry, or if
 * its payload, contains the global restriction". */
function anywhere(value: string): EntryPredicate {
  const has = textTest(':', value);
  return (e) =>
    has(e.textPayload) ||
    has(e.logName) ||
    has(e.insertId) ||
    has(e.severity) ||
    has(e.resource.type) ||
    Object.values(e.labels).some(has) ||
    Object.values(e.resource.labels).some(has);
}

/** `log_id("a/b")`: the log ID, unescaped, as the function takes it. */
function logIdIs(id: string): EntryPredicate {
  return (e) => {
    const at = e.logName.indexOf('/logs/');
    if (at < 0) return false;
    const logId = e.logName.slice(at + '/logs/'.length);
    try {
      return decodeURIComponent(logId) === id;
    } catch {
      return logId === id;
    }
  };
}

function syntax(problem: string, at: number) {
  return invalid(`Unparseable filter: ${problem} at column ${at + 1}`);
}

const OPERATORS = ['>=', '<=', '!=', '=~', '!~', '=', '>', '<', ':'] as const;
const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
const BARE_VALUE = /[^\s()"]+/y;
const FUNCTION = /[A-Za-z_][A-Za-z0-9_]*\(/y;

type Leaf = () => EntryPredicate;

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly src: string) {}

  parse(): EntryPredicate {
    if (this.atEnd()) {
      if (this.pos < this.src.length) throw syntax('unexpected ")"', this.pos);
      return () => true;
    }
    const predicate = this.conjunction(() => this.term());
    this.space();
    if (this.pos < this.src.length)
      throw syntax(`unexpected ${JSON.stringify(this.src[this.pos])}`, this.pos);
    return predicate;
  }

  /** Skips white space and `--` comments, which run to the end of their line. */
  private space(): void {
    for (;;) {
      while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
      if (!this.src.startsWith('--', this.pos)) return;
      const eol = this.src.indexOf('\n', this.pos);
      this.pos = eol < 0 ? this.src.length : eol + 1;
    }
  }

  /** "Boolean operators always need to be capitalized. Lowercase and, or, and not are parsed as search
   * terms." */
  private keyword(word: 'AND' | 'OR' | 'NOT'): boolean {
    if (!this.src.startsWith(word, this.pos)) return false;
    const next = this.src[this.pos + word.length];
    return next === undefined || /[\s("]/.test(next) || (word === 'NOT' && next === '-');
  }

  private atKeyword(): boolean {
    return this.keyword('AND') || this.keyword('OR') || this.keyword('NOT');
  }

  private atEnd(): boolean {
    this.space();
    return this.pos >= this.src.length || this.src[this.pos] === ')';
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_DEPTH) throw syntax(`nesting deeper than ${MAX_DEPTH}`, this.pos);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  // "The NOT operator has the highest precedence, followed by OR and AND in that order" (`a OR b AND c` is
  // `(a OR b) AND c`), and "you can omit the AND operator between comparisons". The same grammar combines
  // whole terms and, after a comparison operator, a parenthesised combination of values.
  private conjunction(leaf: Leaf): EntryPredicate {
    const terms = [this.disjunction(leaf)];
    while (!this.atEnd()) {
      if (this.keyword('AND')) {
        this.pos += 3;
        if (this.atEnd() || this.keyword('AND') || this.keyword('OR'))
          throw syntax('AND needs a term after it', this.pos);
      }
      terms.push(this.disjunction(leaf));
    }
    return terms.length === 1 ? terms[0]! : (e) => terms.every((t) => t(e));
  }

  private disjunction(leaf: Leaf): EntryPredicate {
    const terms = [this.unary(leaf)];
    for (;;) {
      this.space();
      if (!this.keyword('OR')) break;
      this.pos += 2;
      if (this.atEnd() || this.keyword('AND') || this.keyword('OR'))
        throw syntax('OR needs a term after it', this.pos);
      terms.push(this.unary(leaf));
    }
    return terms.length === 1 ? terms[0]! : (e) => terms.some((t) => t(e));
  }

  /** NOT, or `-` in its place. */
  private unary(leaf: Leaf): EntryPredicate {
    this.space();
    let negated = false;
    if (this.keyword('NOT')) {
      this.pos += 3;
      negated = true;
    } else if (this.src[this.pos] === '-' && /[A-Za-z_("]/.test(this.src[this.pos + 1] ?? '')) {
      this.pos += 1;
      negated = true;
    }
    if (!negated) return this.group(leaf);
    if (this.atEnd()) throw syntax('NOT needs a term after it', this.pos);
    const inner = this.nested(() => this.unary(leaf));
    return (e) => !inner(e);
  }

  private group(leaf: Leaf): EntryPredicate {
    this.space();
    const c = this.src[this.pos];
    if (c === undefined) throw syntax('a term is missing', this.pos);
    if (c === ')') throw syntax('unexpected ")"', this.pos);
    if (this.keyword('AND') || this.keyword('OR'))
      throw syntax(`${this.src.startsWith('OR', this.pos) ? 'OR' : 'AND'} needs a term before it`, this.pos);
    if (c !== '(') return leaf();
    this.pos++;
    if (this.atEnd()) throw syntax('empty parentheses', this.pos);
    const inner = this.nested(() => this.conjunction(leaf));
    this.space();
    if (this.src[this.pos] !== ')') throw syntax('")" expected', this.pos);
    this.pos++;
    return inner;
  }

  /** A comparison, a function, or a global restriction. */
  private term(): EntryPredicate {
    const start = this.pos;
    if (this.src[this.pos] === '"') return anywhere(this.quoted());
    FUNCTION.lastIndex = this.pos;
    const fn = FUNCTION.exec(this.src);
    if (fn) return this.call(fn[0].slice(0, -1));
    const path = this.fieldPath();
    if (path) {
      this.space();
      const op = OPERATORS.find((o) => this.src.startsWith(o, this.pos));
      if (op) {
        const opAt = this.pos;
        if (op === '=~' || op === '!~')
          throw syntax(`the regular expression operator ${op} is not supported by the emulator`, opAt);
        this.pos += op.length;
        this.space();
        const valueAt = this.pos;
        if (this.src[this.pos] === '(') {
          // `resource.type = ("a" OR "b")`: the field and operator apply to each value.
          return this.group(() => {
            const at = this.pos;
            return comparison(path, op, this.value(op), at);
          });
        }
        return comparison(path, op, this.value(op), valueAt);
      }
    }
    this.pos = start;
    return anywhere(this.bare('a value'));
  }

  private call(name: string): EntryPredicate {
    const at = this.pos;
    if (name !== 'log_id') throw syntax(`the function ${name} is not supported by the emulator`, at);
    this.pos += name.length + 1;
    this.space();
    if (this.src[this.pos] !== '"') throw syntax('log_id takes a quoted log ID', this.pos);
    const id = this.quoted();
    this.space();
    if (this.src[this.pos] !== ')') throw syntax('")" expected after the log ID', this.pos);
    this.pos++;
    return logIdIs(id);
  }

  /** `a.b.c`, where a part may be quoted (`labels."compute.googleapis.com/resource_id"`); undefined when
   * none starts here. */
  private fieldPath(): string[] | undefined {
    const parts: string[] = [];
    for (;;) {
      if (this.src[this.pos] === '"' && parts.length > 0) {
        parts.push(this.quoted());
      } else {
        IDENTIFIER.lastIndex = this.pos;
        const m = IDENTIFIER.exec(this.src);
        if (!m) return undefined;
        parts.push(m[0]);
        this.pos += m[0].length;
      }
      if (this.src[this.pos] !== '.') return parts;
      this.pos++;
    }
  }

  private value(op: string): string {
    this.space();
    const c = this.src[this.pos];
    if (c === '"') return this.quoted();
    if (c === undefined || c === '(' || c === ')' || this.atKeyword())
      throw syntax(`a value is missing after ${op}`, this.pos);
    return this.bare('a value');
  }

  private bare(what: string): string {
    BARE_VALUE.lastIndex = this.pos;
    const m = BARE_VALUE.exec(this.src);
    if (!m) throw syntax(`${what} is missing`, this.pos);
    this.pos += m[0].length;
    return m[0];
  }

  private quoted(): string {
    const start = this.pos;
    this.pos++;
    let out = '';
    while (this.pos < this.src.length) {
      const c = this.src[this.pos++]!;
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.src[this.pos++];
      if (e === undefined) break;
      out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
    }
    throw syntax('unterminated string', start);
  }
}

/** Compiles a filter into a predicate; an empty filter matches everything. Throws INVALID_ARGUMENT naming
 * the problem (and where) for a filter outside the supported subset or longer than Logging allows. */
export function compileLogFilter(filter: string): EntryPredicate {
  if (filter.length > MAX_FILTER_LENGTH)
    throw invalid(`filter is ${filter.length} characters long; the maximum is ${MAX_FILTER_LENGTH}`);
  return new Parser(filter).parse();
}
