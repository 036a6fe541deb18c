/**
 * Server-side printing: `meta.k8s.io/v1 Table` answers for kubectl, with a CRD's
 * additionalPrinterColumns or a built-in kind's columns, cells formatted as kube-apiserver does
 * (dates as human durations).
 */
import { evaluateJsonPath } from './jsonpath.js';
import { AGE_COLUMN, type KubeObject, type PrinterColumn, type ResourceType } from './resources.js';

/** The NAME column every Table starts with. */
const NAME_COLUMN = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

/** Formats a duration like apimachinery's `duration.HumanDuration` ("5s", "3m20s", "4h", "12d"). */
export function humanDuration(milliseconds: number): string {
  // Go truncates toward zero: -1.5s is "0s", as kube tolerates small clock skew.
  const seconds = Math.trunc(milliseconds / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** Formats one cell value by column type, as the CRD table convertor does. */
export function formatCell(type: PrinterColumn['type'], value: unknown, now: number): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'date': {
      const time = Date.parse(String(value));
      return Number.isNaN(time) ? String(value) : humanDuration(now - time);
    }
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : Number.parseInt(String(value), 10);
    case 'number':
      return typeof value === 'number' ? value : Number(value);
    case 'boolean':
      return typeof value === 'boolean' ? value : String(value) === 'true';
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

/** The columns (after NAME) of a resource's Table. */
export function columnsOf(rt: ResourceType): PrinterColumn[] {
  return rt.printerColumns ?? [AGE_COLUMN];
}

function cellValue(column: PrinterColumn, obj: KubeObject): unknown {
  if (column.cell) return column.cell(obj);
  if (!column.jsonPath) return undefined;
  try {
    return evaluateJsonPath(column.jsonPath, obj)[0];
  } catch {
    return undefined;
  }
}

/** What each row carries besides its cells (`includeObject`). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Builds a `meta.k8s.io/v1 Table` for objects already converted to the requested version. */
export function buildTable(
  rt: ResourceType,
  objects: KubeObject[],
  listMeta: Record<string, unknown>,
  includeObject: IncludeObject,
  now = Date.now(),
): Record<string, unknown> {
  const columns = columnsOf(rt);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: [
      NAME_COLUMN,
      ...columns.map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description ?? '',
        priority: c.priority ?? 0,
      })),
    ],
    rows: objects.map((obj) => ({
      cells: [obj.metadata.name, ...columns.map((c) => formatCell(c.type, cellValue(c, obj), now))],
      object: rowObject(obj, includeObject),
    })),
  };
}

function rowObject(obj: KubeObject, includeObject: IncludeObject): unknown {
  if (includeObject === 'None') return undefined;
  if (includeObject === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}
