import { runMain } from '../../lib/src/main.js';
import { loadGatewayConfig } from './config.js';
import { start } from './server.js';

runMain('gateway', () => start(loadGatewayConfig()));
