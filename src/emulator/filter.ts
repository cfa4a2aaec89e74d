// The subset of AIP-160 filters that Batch's ListJobs accepts and clients use: comparisons of
// `labels.<key>`, `status.state`, `name` and `uid` with `=` or `!=`, combined with AND, OR, NOT and
// parentheses. Written by hand because the grammar is tiny and no maintained package implements AIP-160.
import type { Job } from '../api/batch.js';
import { invalid } from './apiError.js';

export type JobPredicate = (job: Job) => boolean;

type Token = { kind: 'word' | 'string' | 'op' | 'lparen' | 'rparen'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\()|(\))|(!=|=|:)|"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_.\-/]+))/y;
  let index = 0;
  while (index < text.length) {
    if (/^\s*$/.test(text.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (!match) throw invalid(`invalid filter at position ${index}: ${JSON.stringify(text)}`);
    index = pattern.lastIndex;
    if (match[1]) tokens.push({ kind: 'lparen', text: '(' });
    else if (match[2]) tokens.push({ kind: 'rparen', text: ')' });
    else if (match[3]) tokens.push({ kind: 'op', text: match[3] });
    else if (match[4] !== undefined) tokens.push({ kind: 'string', text: match[4].replace(/\\(.)/g, '$1') });
    else tokens.push({ kind: 'word', text: match[5]! });
  }
  return tokens;
}

function fieldValue(job: Job, field: string): string | undefined {
  if (field.startsWith('labels.')) return job.labels?.[field.slice('labels.'.length)];
  if (field === 'status.state') return job.status?.state ?? 'STATE_UNSPECIFIED';
  if (field === 'name') return job.name;
  if (field === 'uid') return job.uid;
  throw invalid(`unsupported filter field ${JSON.stringify(field)}`);
}

class Parser {
  private position = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): JobPredicate {
    const predicate = this.or();
    if (this.position < this.tokens.length)
      throw invalid(`unexpected ${this.tokens[this.position]!.text} in filter`);
    return predicate;
  }

  private peekWord(word: string): boolean {
    const token = this.tokens[this.position];
    return token?.kind === 'word' && token.text.toUpperCase() === word;
  }

  private or(): JobPredicate {
    let left = this.and();
    while (this.peekWord('OR')) {
      this.position++;
      const right = this.and();
      const l = left;
      left = (job) => l(job) || right(job);
    }
    return left;
  }

  private and(): JobPredicate {
    let left = this.unary();
    for (;;) {
      if (this.peekWord('AND')) this.position++;
      else if (!this.startsTerm()) return left;
      const right = this.unary();
      const l = left;
      left = (job) => l(job) && right(job);
    }
  }

  private startsTerm(): boolean {
    const token = this.tokens[this.position];
    return (
      token !== undefined && (token.kind === 'lparen' || (token.kind === 'word' && !this.peekWord('OR')))
    );
  }

  private unary(): JobPredicate {
    if (this.peekWord('NOT')) {
      this.position++;
      const inner = this.unary();
      return (job) => !inner(job);
    }
    const token = this.tokens[this.position];
    if (token?.kind === 'lparen') {
      this.position++;
      const inner = this.or();
      if (this.tokens[this.position]?.kind !== 'rparen') throw invalid('missing ) in filter');
      this.position++;
      return inner;
    }
    return this.comparison();
  }

  private comparison(): JobPredicate {
    const field = this.tokens[this.position];
    const op = this.tokens[this.position + 1];
    const value = this.tokens[this.position + 2];
    if (
      field?.kind !== 'word' ||
      op?.kind !== 'op' ||
      !value ||
      (value.kind !== 'string' && value.kind !== 'word')
    ) {
      throw invalid('filter terms must look like field="value"');
    }
    this.position += 3;
    const expected = value.text;
    if (op.text === '!=') return (job) => fieldValue(job, field.text) !== expected;
    return (job) => fieldValue(job, field.text) === expected;
  }
}

/** Compiles a filter; an empty filter matches every job. Throws INVALID_ARGUMENT for what it cannot parse. */
export function compileFilter(text: string): JobPredicate {
  if (text.trim() === '') return () => true;
  const predicate = new Parser(tokenize(text)).parse();
  // Surface unsupported fields at once rather than on the first matching job.
  predicate({ labels: {}, status: {} });
  return predicate;
}
