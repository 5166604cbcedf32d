export interface Money {
  amount: string;
  amountMinor: number;
  currency: string;
}

const fractionDigits = new Map<string, number>();

/** Minor-unit digits of an ISO 4217 currency (2 for EUR, 0 for JPY), as Intl knows them. */
function digitsOf(currency: string): number {
  let digits = fractionDigits.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    fractionDigits.set(currency, digits);
  }
  return digits;
}

export function money(amountMinor: number, currency: string): Money {
  const digits = digitsOf(currency);
  return { amount: (amountMinor / 10 ** digits).toFixed(digits), amountMinor, currency };
}

/**
 * Currencies ICU knows (current ISO 4217 codes). `new Intl.NumberFormat(…, { currency })` is no check: it
 * accepts any three letters, `XYZ` included.
 */
const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export const isCurrencyCode = (code: string): boolean => KNOWN_CURRENCIES.has(code);
