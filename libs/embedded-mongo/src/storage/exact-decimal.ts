/**
 * Exact decimal values (coefficient x 10^exponent, with BigInt coefficients), so that Decimal128
 * and doubles compare as MongoDB compares them: by exact value, never through a rounded Number.
 */
export interface ExactDecimal {
  coefficient: bigint;
  exponent: number;
}

/** The value of a decimal string ("-1.50", "1.5E+3"); undefined for NaN and the infinities. */
export function parseDecimal(text: string): ExactDecimal | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match || (match[2] === '' && !match[3])) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  const digits = BigInt(`${whole}${fraction}` || '0');
  return {
    coefficient: sign === '-' ? -digits : digits,
    exponent: Number(exponent) - fraction.length,
  };
}

/** The exact value of a finite double (0.1 is 0.1000000000000000055511151231257827...). */
export function exactDouble(value: number): ExactDecimal {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const power = biased === 0 ? -1074 : biased - 1075; // value = mantissa * 2^power
  const magnitude =
    power >= 0
      ? { coefficient: mantissa << BigInt(power), exponent: 0 }
      : { coefficient: mantissa * 5n ** BigInt(-power), exponent: power }; // m*2^p = m*5^-p*10^p
  return bits >> 63n ? { ...magnitude, coefficient: -magnitude.coefficient } : magnitude;
}

/** The same value without trailing zeros in the coefficient (1.50 -> 15E-1; zero -> 0E0). */
export function normalized({ coefficient, exponent }: ExactDecimal): ExactDecimal {
  if (coefficient === 0n) return { coefficient, exponent: 0 };
  while (coefficient % 10n === 0n) {
    coefficient /= 10n;
    exponent++;
  }
  return { coefficient, exponent };
}

export function sameDecimalValue(a: ExactDecimal, b: ExactDecimal): boolean {
  const x = normalized(a);
  const y = normalized(b);
  return x.coefficient === y.coefficient && x.exponent === y.exponent;
}
