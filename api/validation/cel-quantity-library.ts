/**
 * The Kubernetes CEL quantity library (k8s.io/apiserver `pkg/cel/library/quantity.go`, kube-apiserver
 * 1.29+) for `@bufbuild/cel`: `isQuantity(s)`, `quantity(s)`, and on a quantity `isInteger()`,
 * `asInteger()`, `asApproximateFloat()`, `sign()`, `add(q|int)`, `sub(q|int)`, `isGreaterThan(q)`,
 * `isLessThan(q)`, `compareTo(q)`.
 *
 * `@bufbuild/cel` has no opaque user types, so a quantity is a one-entry map holding its exact canonical
 * value (`{"@quantity": "1536"}`); equal quantities are therefore `==` in CEL as in Kubernetes.
 */
import { celFunc, celMap, celMethod, CelScalar, isCelMap, type CelFunc, type CelValue } from '@bufbuild/cel';
import { Quantity } from '../quantity.js';

const TAG = '@quantity';

function toCel(quantity: Quantity): CelValue {
  return celMap(new Map([[TAG, quantity.toString()]]));
}

function fromCel(value: CelValue, role: string): Quantity {
  const canonical = isCelMap(value) && value.size === 1 ? value.get(TAG) : undefined;
  if (typeof canonical !== 'string') throw new Error(`no such overload: ${role} is not a quantity`);
  const [numerator, denominator = '1'] = canonical.split('/');
  return new Quantity(BigInt(numerator), BigInt(denominator));
}

function operand(value: CelValue): Quantity {
  if (typeof value === 'bigint') return new Quantity(value);
  return fromCel(value, 'argument');
}

const { STRING, BOOL, INT, DOUBLE, DYN } = CelScalar;

/** The quantity functions, to pass as `funcs` to `celEnv`. */
export const quantityLibrary: CelFunc[] = [
  celFunc('isQuantity', [STRING], BOOL, (text) => Quantity.isQuantity(text)),
  celFunc('quantity', [STRING], DYN, (text) => toCel(Quantity.parse(text))),
  celMethod('isInteger', DYN, [], BOOL, function () {
    return fromCel(this, 'receiver').isInteger();
  }),
  celMethod('asInteger', DYN, [], INT, function () {
    return fromCel(this, 'receiver').asInteger();
  }),
  celMethod('asApproximateFloat', DYN, [], DOUBLE, function () {
    return fromCel(this, 'receiver').asApproximateFloat();
  }),
  celMethod('sign', DYN, [], INT, function () {
    return BigInt(fromCel(this, 'receiver').sign());
  }),
  celMethod('add', DYN, [DYN], DYN, function (other) {
    return toCel(fromCel(this, 'receiver').add(operand(other)));
  }),
  celMethod('sub', DYN, [DYN], DYN, function (other) {
    return toCel(fromCel(this, 'receiver').sub(operand(other)));
  }),
  celMethod('isGreaterThan', DYN, [DYN], BOOL, function (other) {
    return fromCel(this, 'receiver').compare(fromCel(other, 'argument')) > 0;
  }),
  celMethod('isLessThan', DYN, [DYN], BOOL, function (other) {
    return fromCel(this, 'receiver').compare(fromCel(other, 'argument')) < 0;
  }),
  celMethod('compareTo', DYN, [DYN], INT, function (other) {
    return BigInt(fromCel(this, 'receiver').compare(fromCel(other, 'argument')));
  }),
];
