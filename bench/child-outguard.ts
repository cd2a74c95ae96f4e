/**
 * Runs the real outguard service (src/, through tsx) in its own process, as `outguard start`
 * does, except that the JSON log lines go to a file instead of stdout. The level comes from the
 * config (relay.ts writes `log.level: info`), so every per-message line is formatted and written.
 *
 *   node --import tsx bench/child-outguard.ts <config.yaml> <log file>
 */
import { loadConfig } from '../src/config/load.js';
import { createLogger, logDestination } from '../src/log.js';
import { startService } from '../src/service.js';
import { serveParent } from './ipc.js';

const [configFile, logFile] = process.argv.slice(2);
if (!configFile || !logFile) throw new Error('usage: child-outguard.ts <config.yaml> <log file>');

const config = loadConfig({ file: configFile, env: {} });
// The production destination (buffered SonicBoom), pointed at a file.
const destination = logDestination(logFile);
const logger = createLogger(config.log.level, destination);
const service = await startService(config, logger);

serveParent(service.smtp.port, {
  stop: async () => {
    await service.stop();
    logger.flush();
    destination.flushSync();
    setImmediate(() => process.exit(0));
  },
});
