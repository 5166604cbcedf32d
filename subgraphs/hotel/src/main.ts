import { runMain } from '../../../lib/src/main.js';
import { loadHotelConfig, start } from './server.js';

runMain('hotel', () => start(loadHotelConfig()));
