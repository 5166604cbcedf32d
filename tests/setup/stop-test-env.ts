import { testState } from './state.js';

export default async function globalTeardown(): Promise<void> {
  const { stack, embeddedPostgres } = testState();
  await stack?.stop();
  await embeddedPostgres?.stop();
}
