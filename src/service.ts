import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { createNextHop } from './delivery/create.js';
import { Gateway } from './gateway.js';
import type { Logger } from './log.js';
import { PolicyEngine } from './policy/engine.js';
import { SmtpListener } from './smtp/server.js';
import { WebServer } from './web/server.js';

export interface RunningService {
  smtp: AddressInfo;
  web: AddressInfo;
  /** Stops accepting, lets in-flight messages finish, closes the next hop. */
  stop(): Promise<void>;
}

/** Starts the whole gateway from a loaded config: SMTP in, policy, next hop, web. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const nextHop = createNextHop(config);
  const gateway = new Gateway({ policy: new PolicyEngine(), nextHop, logger });
  const smtp = new SmtpListener(config, gateway, logger);
  const web = new WebServer(config.web.listen, () => ({ nextHop: nextHop.description }));
  const smtpAddress = await smtp.listen();
  let webAddress: AddressInfo;
  try {
    webAddress = await web.listen();
  } catch (err) {
    await smtp.close();
    throw err;
  }
  return {
    smtp: smtpAddress,
    web: webAddress,
    async stop() {
      await smtp.close();
      await web.close();
      await nextHop.close();
    },
  };
}
