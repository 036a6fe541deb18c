import { describe, expect, it } from '@jest/globals';
import {
  bytesToQuantity,
  formatBytes,
  isQuantity,
  Quantity,
  QuantityError,
  quantityToBytes,
  quantityToNumber,
} from '../../../api/quantity.js';

describe('quantityToBytes', () => {
  it.each([
    ['512Ki', 524288n],
    ['10Gi', 10737418240n],
    ['1.5G', 1500000000n],
    ['0.5Ki', 512n],
    ['1048576', 1048576n],
    ['1e3', 1000n],
    ['1E3', 1000n],
    ['2E', 2000000000000000000n],
    ['64Ti', 70368744177664n],
    ['1.5', 2n],
    ['100m', 1n],
    ['+1k', 1000n],
  ])('parses %s', (text, bytes) => {
    expect(quantityToBytes(text)).toBe(bytes);
  });

  it.each(['', 'Gi', '10GB', '1.5.2Gi', '10 Gi', ' 10Gi', '1Ki2', '0x10', 'ten'])('rejects %j', (text) => {
    expect(isQuantity(text)).toBe(false);
    expect(() => quantityToBytes(text)).toThrow(QuantityError);
    expect(() => quantityToBytes(text)).toThrow(/is not a Kubernetes quantity/);
  });

  it('converts to a number only while it is exact', () => {
    expect(quantityToNumber('95Gi')).toBe(102005473280);
    expect(() => quantityToNumber('8Ei')).toThrow(/too large/);
  });
});

describe('Quantity arithmetic', () => {
  it('compares exactly across suffixes', () => {
    expect(Quantity.parse('1Gi').compare(Quantity.parse('1024Mi'))).toBe(0);
    expect(Quantity.parse('1G').compare(Quantity.parse('1Gi'))).toBe(-1);
    expect(Quantity.parse('0.1').compare(Quantity.parse('100m'))).toBe(0);
    expect(Quantity.parse('1Gi').toString()).toBe(Quantity.parse('1024Mi').toString());
  });

  it('adds, subtracts and knows integers and signs', () => {
    expect(Quantity.parse('1Gi').add(Quantity.parse('512Mi')).asInteger()).toBe(1610612736n);
    expect(Quantity.parse('1Mi').sub(Quantity.parse('2Mi')).sign()).toBe(-1);
    expect(Quantity.parse('1.5').isInteger()).toBe(false);
    expect(() => Quantity.parse('1.5').asInteger()).toThrow(QuantityError);
    expect(Quantity.parse('9Ei').isInteger()).toBe(false);
    expect(Quantity.parse('1.5').asApproximateFloat()).toBe(1.5);
  });
});

describe('formatting', () => {
  it('formats bytes with binary units', () => {
    expect(formatBytes(102005473280)).toBe('95.0 GiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536n * 1024n)).toBe('1.5 MiB');
    expect(formatBytes(-2048)).toBe('-2.0 KiB');
  });

  it('renders the shortest exact binary quantity', () => {
    expect(bytesToQuantity(524288)).toBe('512Ki');
    expect(bytesToQuantity(1610612736n)).toBe('1536Mi');
    expect(bytesToQuantity(1000)).toBe('1000');
    expect(bytesToQuantity(0)).toBe('0');
    expect(quantityToBytes(bytesToQuantity(123456789012n))).toBe(123456789012n);
  });
});
