import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { createNextHop } from './delivery/create.js';
import { Gateway } from './gateway.js';
import type { Logger } from './log.js';
import type { PolicyEngine } from './policy/engine.js';
import { PolicyReloader } from './policy/reloader.js';
import { createPolicyEngine } from './policy/runtime.js';
import { SmtpListener } from './smtp/server.js';
import { WebServer } from './web/server.js';

export interface RunningService {
  smtp: AddressInfo;
  web: AddressInfo;
  engine: PolicyEngine;
  /** Loads the policy again (SIGHUP); false when the new version was refused. */
  reloadPolicy(reason: string): Promise<boolean>;
  /** Stops accepting, lets in-flight messages finish, closes the next hop. */
  stop(): Promise<void>;
}

/** Starts the whole gateway from a loaded config: SMTP in, policy, next hop, web. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const { engine, history } = await createPolicyEngine(config, logger);
  const reloader = new PolicyReloader(config.policy, logger, (p) => engine.use(p), engine.current);
  const nextHop = createNextHop(config);
  const gateway = new Gateway({ engine, history, nextHop, logger, hostname: config.smtp.hostname });
  const smtp = new SmtpListener(config, gateway, logger);
  const web = new WebServer(config.web.listen, () => ({ nextHop: nextHop.description, rules: engine.current.rules.length }));
  const closeAll = async () => {
    reloader.close();
    history.close();
    await nextHop.close();
  };
  let smtpAddress: AddressInfo;
  let webAddress: AddressInfo;
  try {
    smtpAddress = await smtp.listen();
    try {
      webAddress = await web.listen();
    } catch (err) {
      await smtp.close();
      throw err;
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  logger.info({ policy: config.policy, rules: engine.current.rules.map((r) => r.id) }, 'policy loaded');
  return {
    smtp: smtpAddress,
    web: webAddress,
    engine,
    reloadPolicy: (reason) => reloader.reload(reason),
    async stop() {
      await smtp.close();
      await web.close();
      await closeAll();
    },
  };
}
