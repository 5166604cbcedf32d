/**
 * DataLoader batch functions must answer in the order of the keys they were given, with a value (or null)
 * for every key. These two helpers do that for the two shapes every subgraph needs.
 */
export function oneByKey<K, T>(rows: T[], keys: readonly K[], keyOf: (row: T) => K): Array<T | null> {
  const map = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key) ?? null);
}

export function manyByKey<K, T>(rows: T[], keys: readonly K[], keyOf: (row: T) => K): T[][] {
  const map = new Map<K, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) map.get(keyOf(row))?.push(row);
  return keys.map((key) => map.get(key) ?? []);
}
