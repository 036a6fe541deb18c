/**
 * The subset of Kubernetes JSONPath that CRD `additionalPrinterColumns` use: `.a.b`, `['a.b']`, `[0]`,
 * `[*]`, and filters `[?(@.type=="Ready")]` with `==` or `!=` (the jsonPath of printer columns is the
 * template body without braces).
 */

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'filter'; path: string[]; operator: '==' | '!='; value: unknown };

/** Parses a printer-column JSONPath; throws on syntax it does not support. */
export function parseJsonPath(expression: string): Step[] {
  const text = expression.trim().replace(/^\{/, '').replace(/\}$/, '').replace(/^\$/, '');
  const steps: Step[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '.') {
      const match = /^\.([A-Za-z0-9_\-/]+|\*)/.exec(text.slice(i));
      if (!match) {
        i++;
        continue;
      }
      steps.push(match[1] === '*' ? { kind: 'wildcard' } : { kind: 'field', name: match[1] });
      i += match[0].length;
    } else if (ch === '[') {
      const close = findClosingBracket(text, i);
      const inner = text.slice(i + 1, close).trim();
      i = close + 1;
      if (inner === '*') steps.push({ kind: 'wildcard' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else if (inner.startsWith('?(')) steps.push(parseFilter(inner.slice(2, -1), expression));
      else throw new Error(`unsupported JSONPath segment [${inner}] in ${expression}`);
    } else {
      const match = /^[A-Za-z0-9_\-/]+/.exec(text.slice(i));
      if (!match) throw new Error(`unsupported JSONPath syntax at "${text.slice(i)}" in ${expression}`);
      steps.push({ kind: 'field', name: match[0] });
      i += match[0].length;
    }
  }
  return steps;
}

function findClosingBracket(text: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[') depth++;
    else if (ch === ']' && --depth === 0) return i;
  }
  throw new Error(`unclosed [ in JSONPath ${text}`);
}

function parseFilter(body: string, expression: string): Step {
  const match = /^@((?:\.[A-Za-z0-9_\-/]+)+)\s*(==|!=)\s*(.+)$/.exec(body.trim());
  if (!match) throw new Error(`unsupported JSONPath filter ?(${body}) in ${expression}`);
  const raw = match[3].trim();
  const value: unknown = /^["'].*["']$/.test(raw) ? raw.slice(1, -1) : JSON.parse(raw);
  return { kind: 'filter', path: match[1].slice(1).split('.'), operator: match[2] as '==' | '!=', value };
}

function child(node: unknown, name: string): unknown {
  return typeof node === 'object' && node !== null && !Array.isArray(node)
    ? (node as Record<string, unknown>)[name]
    : undefined;
}

/** Every value an expression selects in an object, in document order. */
export function evaluateJsonPath(expression: string, root: unknown): unknown[] {
  let nodes: unknown[] = [root];
  for (const step of parseJsonPath(expression)) {
    const next: unknown[] = [];
    for (const node of nodes) {
      if (step.kind === 'field') {
        const value = child(node, step.name);
        if (value !== undefined) next.push(value);
      } else if (step.kind === 'index') {
        if (Array.isArray(node)) {
          const value = node[step.index < 0 ? node.length + step.index : step.index];
          if (value !== undefined) next.push(value);
        }
      } else if (step.kind === 'wildcard') {
        if (Array.isArray(node)) next.push(...node);
        else if (typeof node === 'object' && node !== null) next.push(...Object.values(node));
      } else if (Array.isArray(node)) {
        for (const item of node) {
          const value = step.path.reduce<unknown>((n, key) => child(n, key), item);
          if (value !== undefined && (value === step.value) === (step.operator === '==')) next.push(item);
        }
      }
    }
    nodes = next;
  }
  return nodes;
}
