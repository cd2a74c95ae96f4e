import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditFilter } from '../../src/audit/audit-store.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { tempDir } from '../support/gateway.js';
import { sampleEvents } from './fixtures.js';

/** The reviewer pages' search: the filters run in SQL, newest first, paged, with a count. */
describe('audit search for the reviewer pages', () => {
  let store: SqliteAuditStore;
  const seqs = async (f: AuditFilter) => (await store.list(f)).map((e) => e.seq);

  beforeAll(async () => {
    store = SqliteAuditStore.open(tempDir('outguard-audit-search-'));
    await store.appendMany([
      ...sampleEvents(),
      // 6: online-service address at a subdomain; 7: a login (no message); 8: a sender with LIKE wildcards
      { time: '2026-11-02T01:00:00.000Z', type: 'rejected', messageId: 'm6', sender: 'Jiro@Example.co.jp', recipients: ['someone@m.evernote.com'], rules: ['online-service-recipient'], clauses: ['遵守事項 第7'], action: 'reject' },
      { time: '2026-11-02T02:00:00.000Z', type: 'login', actor: 'admin', action: 'success', detail: 'client 127.0.0.1' },
      { time: '2026-11-02T03:00:00.000Z', type: 'delivered', messageId: 'm8', sender: 'a_b%c@example.co.jp', recipients: ['X@MAILINATOR.COM.evil.example'], action: 'deliver' },
    ]);
  });
  afterAll(() => store.close());

  it('finds senders by substring or exactly, case-insensitively, with % and _ taken literally', async () => {
    expect(await seqs({ sender: 'HANAKO' })).toEqual([3, 4]);
    expect(await seqs({ sender: 'jiro@example.co.jp', senderExact: true })).toEqual([6]);
    expect(await seqs({ sender: 'jiro@example', senderExact: true })).toEqual([]);
    expect(await seqs({ sender: '_b%' })).toEqual([8]);
    expect(await seqs({ sender: '%' })).toEqual([8]);
  });

  it('finds a recipient domain and its subdomains, not a domain that only contains it', async () => {
    expect(await seqs({ recipientDomain: 'mailinator.com' })).toEqual([3]);
    expect(await seqs({ recipientDomain: '@Evernote.COM' })).toEqual([6]);
    expect(await seqs({ recipientDomain: 'partner.example' })).toEqual([1, 2]);
    expect(await seqs({ recipientDomain: 'mple' })).toEqual([]);
    expect(await seqs({ recipientDomain: 'example' })).toEqual([1, 2, 4, 8]);
  });

  it('finds clauses by part of their text', async () => {
    expect(await seqs({ clause: '第6-3' })).toEqual([3]);
    expect(await seqs({ clause: '第6' })).toEqual([2, 3, 4]);
    expect(await seqs({ clause: '第7' })).toEqual([6]);
  });

  it('leaves out the types it is told to', async () => {
    expect(await seqs({ excludeTypes: ['delivered', 'login'] })).toEqual([2, 3, 4, 5, 6]);
    expect(await seqs({ excludeTypes: ['rejected'], messagesOnly: true, order: 'desc', limit: 1 })).toEqual([8]);
    expect(await store.count({ excludeTypes: [] })).toBe(8);
  });

  it('pages newest first, and counts the matches without the paging', async () => {
    expect(await seqs({ order: 'desc', limit: 3 })).toEqual([8, 7, 6]);
    expect(await seqs({ order: 'desc', limit: 3, offset: 3 })).toEqual([5, 4, 3]);
    expect(await seqs({ order: 'desc', offset: 6 })).toEqual([2, 1]);
    expect(await seqs({ messagesOnly: true, order: 'desc', limit: 2 })).toEqual([8, 6]);
    expect(await store.count()).toBe(8);
    expect(await store.count({ messagesOnly: true })).toBe(7);
    expect(await store.count({ action: 'rejected', since: '2026-11-01T00:00:00Z', until: '2026-11-03T00:00:00Z', limit: 1, offset: 5 })).toBe(2);
    expect(await store.count({ rule: 'online-service-recipient', sender: 'jiro' })).toBe(1);
    await expect(store.list({ offset: -1 })).rejects.toThrow(/offset must be a whole number ≥ 0/);
  });
});
