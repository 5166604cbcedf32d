import pg from 'pg';

/** Direct SQL for asserting what the database holds (tests only; services never share tables). */
export async function sql<R extends pg.QueryResultRow = Record<string, any>>(text: string, params: unknown[] = []): Promise<R[]> {
  const url = process.env.INNKEEP_DATABASE_URL;
  if (!url) throw new Error('INNKEEP_DATABASE_URL is not set: run the tests through jest (global setup starts the stack)');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}
