import { runMain } from '../../../lib/src/main.js';
import { loadAuditConfig, start } from './server.js';

runMain('audit', () => start(loadAuditConfig()));
