// What the CRD tests read of a CustomResourceDefinition and of kubectl's tables.

export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
}

export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-validations'?: CelRule[];
}

/** Every CEL rule of the schema with the dotted path of the node carrying it (`[*]` for list items). */
export function celRules(schema: Schema, path: string[] = []): { path: string; rule: CelRule }[] {
  const here = (schema['x-kubernetes-validations'] ?? []).map((rule) => ({ path: path.join('.'), rule }));
  const below = Object.entries(schema.properties ?? {}).flatMap(([key, child]) =>
    celRules(child, [...path, key]),
  );
  const items = schema.items ? celRules(schema.items, [...path.slice(0, -1), `${path.at(-1)}[*]`]) : [];
  const values =
    typeof schema.additionalProperties === 'object'
      ? celRules(schema.additionalProperties, [...path, '*'])
      : [];
  return [...here, ...below, ...items, ...values];
}

/** The first data row of a kubectl table, by header; columns are cut at the header's positions. */
export function parseTable(output: string): Map<string, string> {
  const [header, line] = output.split('\n');
  const starts = [...header!.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], at: m.index }));
  return new Map(
    starts.map((col, i) => [col.name, line!.slice(col.at, starts[i + 1]?.at ?? line!.length).trim()]),
  );
}

/** Whitespace runs as one space: for comparing messages that kubectl may wrap. */
export function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
