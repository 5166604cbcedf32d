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

export const isCurrencyCode = (code: string): boolean => {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  try {
    new Intl.NumberFormat('en', { style: 'currency', currency: code });
    return true;
  } catch {
    return false;
  }
};
