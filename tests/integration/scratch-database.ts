import { adminQuery, databaseUrl, dropDatabase, recreateDatabase } from '../../scripts/lib/database.js';
import { TEST_PORT_BASE } from '../setup/state.js';

/**
 * A throw-away database for one integration test file, on the same PostgreSQL server as the run (the one
 * the global setup found or started — embedded included). The name carries the test port base, so two
 * runs on one machine (INNKEEP_TEST_PORT_BASE) never drop each other's databases.
 */
export function scratchDatabase(name: string) {
  const adminUrl = process.env.INNKEEP_ADMIN_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
  const database = TEST_PORT_BASE === 14000 ? name : `${name}_${TEST_PORT_BASE}`;
  return {
    name: database,
    adminUrl,
    url: databaseUrl(adminUrl, database),
    admin: (text: string) => adminQuery(adminUrl, text),
    /** Drops any leftover of an earlier run and creates it empty. */
    async create(): Promise<void> {
      await recreateDatabase(adminUrl, database);
    },
    drop: () => dropDatabase(adminUrl, database),
  };
}
