import { runMain } from '../../../lib/src/main.js';
import { loadPmsConfig, start } from './server.js';

runMain('pms', () => start(loadPmsConfig()));
