import type { AuditStore } from '../audit/audit-store.js';
import type { IncidentActions } from '../audit/incident-types.js';
import type { AuditWriter } from '../audit/writer.js';
import type { WebUser } from '../config/schema.js';
import type { HoldAdmin } from '../hold/types.js';
import type { Logger } from '../log.js';
import { ReviewAuth } from './auth.js';
import type { CsrfGuard } from './csrf.js';
import { loginRoutes } from './login.js';
import type { RuleMessage } from '../policy/rule-messages.js';
import { type MessageSection, messageRoutes } from './review-message.js';
import { incidentRoutes, incidentSection } from './review-incidents.js';
import { reportRoutes } from './review-report.js';
import { deadlinesFrom } from '../audit/report.js';
import { ReviewRouter } from './review-router.js';
import { searchRoutes } from './review-search.js';
import { dashboardRoutes } from './review-dashboard.js';

/** What the reviewer pages need (特記事項 第9・第10): users, the audit log, and the holds by id. */
export interface ReviewPagesOptions {
  /** web.users; none: /login says how to configure one. */
  users: readonly WebUser[];
  /** deriveKey(dataDirKey, 'web-session'). */
  sessionKey: Buffer;
  sessionMinutes: number;
  maxLoginFailures: number;
  lockoutMinutes: number;
  /** The audit log, read by the pages. */
  auditStore: Pick<AuditStore, 'list' | 'count'>;
  /** Where login events are written. */
  audit?: Pick<AuditWriter, 'record'>;
  /** Held messages by id: their state, and release / discard for admins; the dashboard's holds waiting. */
  holds?: HoldAdmin;
  /** The policy's text for a rule id, and the rule ids to offer in the search. */
  ruleText?: (id: string) => RuleMessage | undefined;
  ruleIds?: () => string[];
  /** Incidents (遵守事項 第2): their pages and the section on each message page; absent: none. */
  incidents?: IncidentActions;
  /** compliance.incidentMinutes (default 60): the incident clock and the monthly report's limit. */
  incidentMinutes?: number;
}

/** The reviewer pages, assembled: login, dashboard, search and CSV export, message pages; more routes and message sections can be added. */
export interface ReviewPages {
  router: ReviewRouter;
  auth: ReviewAuth;
  /** Adds a section to every message page (the incidents part's "open incident"). */
  addMessageSection(section: MessageSection): void;
}

export function createReviewPages(
  o: ReviewPagesOptions,
  shared: { csrf: CsrfGuard; secureCookies: boolean; maxBodyBytes: number; logger?: Logger; now: () => number },
): ReviewPages {
  const auth = new ReviewAuth({ users: o.users, sessionKey: o.sessionKey, sessionMinutes: o.sessionMinutes, csrf: shared.csrf, secureCookies: shared.secureCookies, now: shared.now });
  const router = new ReviewRouter(auth, { maxBodyBytes: shared.maxBodyBytes, ...(shared.logger ? { logger: shared.logger } : {}) });
  const sections: MessageSection[] = [];
  const incidentMinutes = o.incidentMinutes ?? 60;
  router.add(
    ...loginRoutes({ auth, users: o.users, maxLoginFailures: o.maxLoginFailures, lockoutMinutes: o.lockoutMinutes, ...(o.audit ? { audit: o.audit } : {}), now: shared.now }),
    ...dashboardRoutes({ audit: o.auditStore, ...(o.holds ? { holds: o.holds } : {}), ...(o.incidents ? { incidents: o.incidents } : {}), incidentMinutes, now: shared.now }),
    ...searchRoutes({ store: o.auditStore, ...(o.ruleIds ? { ruleIds: o.ruleIds } : {}), now: shared.now }),
    ...messageRoutes({ store: o.auditStore, ...(o.holds ? { holds: o.holds } : {}), ...(o.ruleText ? { ruleText: o.ruleText } : {}), sections }),
    ...reportRoutes({ store: o.auditStore, incidentMinutes, ...(o.incidents ? { deadlineOf: deadlinesFrom(o.incidents) } : {}), now: shared.now }),
  );
  if (o.incidents) {
    const pages = { incidents: o.incidents, incidentMinutes, now: shared.now };
    router.add(...incidentRoutes(pages));
    sections.push(incidentSection(pages));
  }
  return { router, auth, addMessageSection: (section) => void sections.push(section) };
}
