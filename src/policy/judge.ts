import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Envelope } from '../message/envelope.js';
import { MessageModel } from '../message/model.js';
import { BufferSource, type ByteSource } from '../message/source.js';
import { PolicyEngine } from './engine.js';
import { DeliveryHistory } from './history.js';
import { loadPolicy } from './policy-file.js';
import { PolicyReloader, type ReloadOutcome } from './reloader.js';
import type { EncryptionSettings } from './encryption.js';
import type { Verdict } from './verdict.js';

export interface Judgement {
  verdict: Verdict;
  /** The message model the verdict was reached on: every later stage reads this one. */
  message: MessageModel;
  /** The policy's encryption settings, from the same policy version as the verdict. */
  encryption: EncryptionSettings;
}

/**
 * What the gateway asks about a message: the policy's verdict, and, once delivered, to learn
 * from it (first-time domains, sender counts). Runs in-process or on a policy thread.
 */
export interface Judge {
  /** The verdict on a message (in memory or spooled: the model reads it by offsets). */
  evaluate(source: ByteSource | Buffer, envelope: Envelope): Promise<Judgement>;
  /** Learns from a copy the next hop accepted; countSender once per message (sender-burst). */
  delivered(envelope: Envelope, options?: { countSender: boolean }): Promise<void>;
  /** Loads the policy again; false when the new version was refused and the old one stays. */
  reload(reason: string): Promise<boolean>;
  /** Ids of the rules in force. */
  rules(): string[];
  close(): Promise<void>;
}

/** The engine in this thread, with its delivery history and (optionally) the file watcher. */
export class LocalJudge implements Judge {
  private constructor(
    private readonly engine: PolicyEngine,
    private readonly history: DeliveryHistory,
    private readonly reloader: PolicyReloader | undefined,
  ) {}

  static async create(config: Config, logger: Logger | undefined, options: { watch: boolean; onReload?: (outcome: ReloadOutcome) => void }): Promise<LocalJudge> {
    const policy = await loadPolicy(config.policy);
    const history = new DeliveryHistory(config.dataDir, config.organization.internalDomains, () =>
      logger?.warn('sender-burst: too many distinct senders tracked; new senders are not counted until old ones expire'),
    );
    const engine = new PolicyEngine(policy, {
      internalDomains: config.organization.internalDomains,
      partnerDomains: config.organization.partnerDomains,
      knownDomain: history.knownDomain,
      recentExternalMessages: history.recentExternalMessages,
    });
    const reloader = options.watch && logger ? new PolicyReloader(config.policy, logger, (p) => engine.use(p), policy, options.onReload) : undefined;
    return new LocalJudge(engine, history, reloader);
  }

  async evaluate(source: ByteSource | Buffer, envelope: Envelope): Promise<Judgement> {
    // one policy version for the parse limits, the verdict and the encryption settings
    const policy = this.engine.current;
    const message = MessageModel.parse(source, policy.encryption);
    const verdict = this.engine.evaluate({ message, envelope }, policy);
    // a spooled message goes on as the policy thread hands it back: what was found, without the
    // bodies the checks decoded, which it should not keep while it is zipped and sent
    const later = message.source instanceof BufferSource ? message : MessageModel.fromShape(source, message.shape);
    return { verdict, message: later, encryption: policy.encryption };
  }

  delivered(envelope: Envelope, options = { countSender: true }): Promise<void> {
    return this.history.delivered(envelope, options.countSender);
  }

  reload(reason: string): Promise<boolean> {
    return this.reloader ? this.reloader.reload(reason) : Promise.resolve(false);
  }

  rules(): string[] {
    return this.engine.current.rules.map((r) => r.id);
  }

  async close(): Promise<void> {
    this.reloader?.close();
    this.history.close();
  }
}
