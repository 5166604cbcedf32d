import { runMain } from '../../../lib/src/main.js';
import { loadBookingConfig, start } from './server.js';

runMain('booking', () => start(loadBookingConfig()));
