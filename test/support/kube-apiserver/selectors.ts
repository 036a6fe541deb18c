/**
 * Label and field selectors with the grammar of `k8s.io/apimachinery` (`labels.Parse`,
 * `fields.ParseSelector`): pure parsing and matching.
 */
import { badRequest } from './status.js';

/** One parsed label requirement. */
export interface LabelRequirement {
  key: string;
  operator: 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
  values: string[];
}

/** A parsed label selector: every requirement must hold (an empty selector matches everything). */
export type LabelSelector = LabelRequirement[];

const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function parseError(selector: string, why: string): Error {
  return badRequest(`unable to parse requirement: ${why} (in selector "${selector}")`);
}

function checkKey(selector: string, key: string): void {
  const name = key.includes('/') ? key.slice(key.indexOf('/') + 1) : key;
  if (!QUALIFIED_NAME.test(key) || name.length > 63 || key.length > 253 + 1 + 63) {
    throw parseError(
      selector,
      `invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.'`,
    );
  }
}

function checkValue(selector: string, value: string): void {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    throw parseError(
      selector,
      `invalid label value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`,
    );
  }
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/** Parses a label selector string (`app=x,tier in (a,b),!legacy`). Throws a 400 ApiError on bad input. */
export function parseLabelSelector(selector: string | undefined | null): LabelSelector {
  if (!selector || selector.trim() === '') return [];
  const requirements: LabelSelector = [];
  for (const rawPart of splitTopLevel(selector)) {
    const part = rawPart.trim();
    if (part === '') throw parseError(selector, "found '', expected: !, identifier, or 'end of string'");
    let match: RegExpMatchArray | null;
    if ((match = part.match(/^!\s*([^\s=!<>(),]+)$/))) {
      checkKey(selector, match[1]);
      requirements.push({ key: match[1], operator: '!', values: [] });
    } else if ((match = part.match(/^([^\s=!<>(),]+)\s+(in|notin)\s*\(([^()]*)\)$/))) {
      checkKey(selector, match[1]);
      const values = match[3].split(',').map((v) => v.trim());
      if (match[3].trim() === '')
        throw parseError(selector, "for 'in', 'notin' operators, values set can't be empty");
      values.forEach((v) => checkValue(selector, v));
      requirements.push({ key: match[1], operator: match[2] as 'in' | 'notin', values });
    } else if ((match = part.match(/^([^\s=!<>(),]+)\s*(==|=|!=|>|<)\s*([^\s=!<>(),]*)$/))) {
      checkKey(selector, match[1]);
      const op = match[2];
      const value = match[3];
      if (op === '>' || op === '<') {
        if (!/^-?\d+$/.test(value))
          throw parseError(selector, `for 'Gt', 'Lt' operators, the value must be an integer`);
        requirements.push({ key: match[1], operator: op === '>' ? 'gt' : 'lt', values: [value] });
      } else {
        checkValue(selector, value);
        requirements.push({ key: match[1], operator: op === '!=' ? '!=' : '=', values: [value] });
      }
    } else if ((match = part.match(/^([^\s=!<>(),]+)$/))) {
      checkKey(selector, match[1]);
      requirements.push({ key: match[1], operator: 'exists', values: [] });
    } else {
      throw parseError(
        selector,
        `found '${part}', expected: identifier, '=', '==', '!=', 'in', 'notin', '>' or '<'`,
      );
    }
  }
  return requirements;
}

/** Whether a label set satisfies a parsed selector. */
export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const set = labels ?? {};
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(set, r.key);
    const value = set[r.key];
    switch (r.operator) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
      case 'in':
        return has && r.values.includes(value);
      case '!=':
      case 'notin':
        return !has || !r.values.includes(value);
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value)) return false;
        const n = Number(value);
        const bound = Number(r.values[0]);
        return r.operator === 'gt' ? n > bound : n < bound;
      }
    }
  });
}

/**
 * A `metav1.LabelSelector` object (`matchLabels` + `matchExpressions`, as in PDBs and DaemonSets) as a
 * parsed selector. An absent selector matches nothing, an empty one everything (PDB semantics).
 */
export function labelSelectorFromObject(selector: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): LabelSelector {
  const requirements: LabelSelector = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({
    key,
    operator: '=',
    values: [value],
  }));
  for (const expr of selector.matchExpressions ?? []) {
    const operator = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' }[expr.operator];
    if (!operator) throw badRequest(`"${expr.operator}" is not a valid label selector operator`);
    requirements.push({
      key: expr.key,
      operator: operator as LabelRequirement['operator'],
      values: expr.values ?? [],
    });
  }
  return requirements;
}

/** One parsed field requirement. */
export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

/** A parsed field selector. */
export type FieldSelector = FieldRequirement[];

/** Splits on a separator not escaped with a backslash. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      current += text[i] + text[i + 1];
      i++;
    } else if (text[i] === separator) {
      parts.push(current);
      current = '';
    } else {
      current += text[i];
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/** Parses a field selector (`spec.nodeName=n1,metadata.name!=x`). Throws a 400 ApiError on bad input. */
export function parseFieldSelector(selector: string | undefined | null): FieldSelector {
  if (!selector || selector.trim() === '') return [];
  return splitUnescaped(selector, ',').map((part) => {
    const match = part.match(/^([^=!\s]+)\s*(==|=|!=)(.*)$/);
    if (!match) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    return { field: match[1], operator: match[2] === '!=' ? '!=' : '=', value: unescapeFieldValue(match[3]) };
  });
}

/**
 * Checks that every field in the selector is one the resource supports, with kube-apiserver's message
 * for the first unknown one.
 */
export function checkFieldSelector(selector: FieldSelector, supported: readonly string[]): void {
  for (const r of selector) {
    if (!supported.includes(r.field)) throw badRequest(`field label not supported: ${r.field}`);
  }
}

/** Whether an object's selectable fields satisfy a parsed field selector. */
export function matchesFields(selector: FieldSelector, fields: Record<string, string>): boolean {
  return selector.every((r) => ((fields[r.field] ?? '') === r.value) === (r.operator === '='));
}

/** The value of `metadata.name=X` in a selector when it pins one name (watches of one object). */
export function pinnedName(selector: FieldSelector): string | undefined {
  return selector.find((r) => r.field === 'metadata.name' && r.operator === '=')?.value;
}
