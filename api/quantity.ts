/**
 * Kubernetes quantities (`resource.Quantity`): "512Ki", "10Gi", "1.5G", "1e3", "100m".
 *
 * Values are kept exact as a reduced fraction of bigints, so "0.5Ki" is exactly 512 and "1.5G" exactly
 * 1500000000; comparison and arithmetic never round. This module backs the byte sizes in ThinPool specs
 * and the Kubernetes CEL quantity library used by the CRD validation rules.
 */

/** Binary suffixes: powers of 1024. */
const BINARY_SUFFIXES: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};

/** Decimal SI suffixes: powers of ten. */
const DECIMAL_EXPONENTS: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/** The serialization grammar of `resource.Quantity` (apimachinery `quantity.go`). */
const QUANTITY_PATTERN =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))((?:[KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

/** Largest magnitude a quantity may have; apimachinery caps quantities at 2^63-1 as well. */
const MAX_INT64 = (1n << 63n) - 1n;

/** Thrown when a string is not a Kubernetes quantity or an operation has no exact result. */
export class QuantityError extends Error {
  override readonly name = 'QuantityError';
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** An exact Kubernetes quantity: `numerator / denominator`, reduced, denominator > 0. */
export class Quantity {
  readonly numerator: bigint;
  readonly denominator: bigint;

  constructor(numerator: bigint, denominator = 1n) {
    if (denominator === 0n) throw new QuantityError('Quantity denominator must not be zero');
    const sign = denominator < 0n ? -1n : 1n;
    const divisor = gcd(numerator, denominator) || 1n;
    this.numerator = (sign * numerator) / divisor;
    this.denominator = (sign * denominator) / divisor;
  }

  /** Parses a quantity string; throws {@link QuantityError} with the offending text when it is not one. */
  static parse(text: string): Quantity {
    const match = QUANTITY_PATTERN.exec(text);
    if (!match)
      throw new QuantityError(`"${text}" is not a Kubernetes quantity (examples: 512Ki, 10Gi, 1.5G)`);
    const [, numberText, suffix = ''] = match;
    const negative = numberText.startsWith('-');
    const unsigned = numberText.replace(/^[+-]/, '');
    const [whole, fraction = ''] = unsigned.split('.');
    let numerator = BigInt((whole || '0') + fraction) * (negative ? -1n : 1n);
    let denominator = 10n ** BigInt(fraction.length);
    if (suffix in BINARY_SUFFIXES) {
      numerator *= BINARY_SUFFIXES[suffix];
    } else {
      const exponent = suffix in DECIMAL_EXPONENTS ? DECIMAL_EXPONENTS[suffix] : Number(suffix.slice(1));
      if (Math.abs(exponent) > 1000) throw new QuantityError(`"${text}" has an exponent out of range`);
      if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
      else denominator *= 10n ** BigInt(-exponent);
    }
    return new Quantity(numerator, denominator);
  }

  /** True when `text` parses as a quantity. */
  static isQuantity(text: string): boolean {
    try {
      Quantity.parse(text);
      return true;
    } catch {
      return false;
    }
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than `other`. */
  compare(other: Quantity): number {
    const left = this.numerator * other.denominator;
    const right = other.numerator * this.denominator;
    return left < right ? -1 : left > right ? 1 : 0;
  }

  add(other: Quantity): Quantity {
    return new Quantity(
      this.numerator * other.denominator + other.numerator * this.denominator,
      this.denominator * other.denominator,
    );
  }

  sub(other: Quantity): Quantity {
    return this.add(new Quantity(-other.numerator, other.denominator));
  }

  /** -1, 0 or 1. */
  sign(): number {
    return this.numerator < 0n ? -1 : this.numerator > 0n ? 1 : 0;
  }

  /** True when the value is a whole number that fits in an int64 (apimachinery `AsInt64` succeeds). */
  isInteger(): boolean {
    return this.denominator === 1n && this.numerator <= MAX_INT64 && this.numerator >= -MAX_INT64 - 1n;
  }

  /** The exact integer value; throws when the value has a fraction or does not fit in an int64. */
  asInteger(): bigint {
    if (!this.isInteger()) throw new QuantityError(`quantity ${this.toString()} is not an int64 integer`);
    return this.numerator;
  }

  /** The value rounded up, away from zero, to a whole number (apimachinery `Quantity.Value`). */
  ceil(): bigint {
    const quotient = this.numerator / this.denominator;
    const remainder = this.numerator % this.denominator;
    if (remainder === 0n) return quotient;
    return this.numerator > 0n ? quotient + 1n : quotient - 1n;
  }

  /** The value as a float, possibly rounded. */
  asApproximateFloat(): number {
    return Number(this.numerator) / Number(this.denominator);
  }

  /** A canonical, unambiguous rendering: "1536" or "1/2". Equal quantities render identically. */
  toString(): string {
    return this.denominator === 1n ? String(this.numerator) : `${this.numerator}/${this.denominator}`;
  }
}

/** True when `text` is a Kubernetes quantity. */
export function isQuantity(text: string): boolean {
  return Quantity.isQuantity(text);
}

/**
 * Bytes in a quantity, rounded up like Kubernetes does ("0.5Ki" is 512, "1.5G" is 1500000000).
 * Throws {@link QuantityError} on malformed text.
 */
export function quantityToBytes(text: string): bigint {
  return Quantity.parse(text).ceil();
}

/** {@link quantityToBytes} as a number; throws when the value exceeds `Number.MAX_SAFE_INTEGER`. */
export function quantityToNumber(text: string): number {
  const bytes = quantityToBytes(text);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER) || bytes < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new QuantityError(`quantity "${text}" is too large to be represented as a number of bytes`);
  }
  return Number(bytes);
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/**
 * Human-readable byte count with binary units: `formatBytes(102005473280)` is "95.0 GiB",
 * `formatBytes(512)` is "512 B".
 */
export function formatBytes(bytes: number | bigint, fractionDigits = 1): string {
  const negative = bytes < 0;
  let value = Math.abs(Number(bytes));
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : value.toFixed(fractionDigits);
  return `${negative ? '-' : ''}${text} ${BINARY_UNITS[unit]}`;
}

/**
 * The shortest exact quantity for a byte count with a binary suffix: 524288 is "512Ki", 1610612736 is
 * "1536Mi", 1000 is "1000".
 */
export function bytesToQuantity(bytes: number | bigint): string {
  let value = BigInt(bytes);
  const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let index = 0;
  while (value !== 0n && value % 1024n === 0n && index < suffixes.length - 1) {
    value /= 1024n;
    index++;
  }
  return `${value}${suffixes[index]}`;
}
