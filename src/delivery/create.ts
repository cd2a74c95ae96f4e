import type { Config } from '../config/schema.js';
import { FileHop } from './file-hop.js';
import type { NextHop } from './next-hop.js';
import { SmtpHop } from './smtp-hop.js';

export function createNextHop(config: Config): NextHop {
  return config.nextHop.kind === 'file'
    ? new FileHop(config.nextHop.dir)
    : new SmtpHop(config.nextHop, config.delivery, config.smtp.hostname);
}
