// Jest loads global setup outside its module mapper, so the TypeScript sources (with NodeNext `.js`
// specifiers) are loaded through tsx, exactly as the services themselves run.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { default: start } = await tsImport('./start-test-env.ts', import.meta.url);
  await start();
}
