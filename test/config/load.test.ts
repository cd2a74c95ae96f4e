import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { tempDir } from '../support/gateway.js';

function configFile(yaml: string): string {
  const file = path.join(tempDir(), 'outguard.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('runs on the embedded defaults from DESIGN.md', () => {
    const c = loadConfig({ env: {}, cwd: '/srv/og' });
    expect(c.smtp.listen).toEqual({ host: '127.0.0.1', port: 2525 });
    expect(c.web.listen).toEqual({ host: '127.0.0.1', port: 8025 });
    expect(c.web.publicUrl).toBe('http://127.0.0.1:8025');
    expect(c.dataDir).toBe('/srv/og/data');
    expect(c.nextHop).toEqual({ kind: 'file', dir: '/srv/og/data/outbox' });
    expect(c.policy).toBe(path.resolve('policies/default.yaml'));
    expect(c.smtp.relayNetworks).toEqual(['127.0.0.0/8', '::1/128']);
    expect(c.smtp.maxSize).toBe(52428800);
    expect(c.smtp.reverseLookup).toBe(false);
    expect(c.source).toBe('built-in defaults');
  });

  it('reads a YAML file, resolving its relative paths against the file', () => {
    const file = configFile(
      'smtp:\n  listen: 0.0.0.0:25\n  relayNetworks: [10.0.0.0/8, 192.168.1.5]\nnextHop: smtp://[::1]:10026\ndataDir: var\norganization:\n  internalDomains: [Example.CO.JP]\n',
    );
    const c = loadConfig({ file, env: {} });
    expect(c.smtp.listen).toEqual({ host: '0.0.0.0', port: 25 });
    expect(c.smtp.relayNetworks).toEqual(['10.0.0.0/8', '192.168.1.5/32']);
    expect(c.nextHop).toMatchObject({ kind: 'smtp', host: '::1', port: 10026, secure: false });
    expect(c.dataDir).toBe(path.join(path.dirname(file), 'var'));
    expect(c.organization.internalDomains).toEqual(['example.co.jp']);
  });

  it('lets each OUTGUARD_* variable override its key', () => {
    const file = configFile('smtp:\n  listen: 127.0.0.1:2626\n');
    const c = loadConfig({
      file,
      cwd: '/w',
      env: {
        OUTGUARD_SMTP_LISTEN: '[::1]:2727',
        OUTGUARD_WEB_LISTEN: '127.0.0.1:9000',
        OUTGUARD_DATA_DIR: 'd',
        OUTGUARD_NEXT_HOP: 'smtp://127.0.0.1:10025',
        OUTGUARD_POLICY: '/etc/og/policy.yaml',
        OUTGUARD_INTERNAL_DOMAINS: 'example.co.jp, sub.example.co.jp',
      },
    });
    expect(c.smtp.listen).toEqual({ host: '::1', port: 2727 });
    expect(c.web.listen.port).toBe(9000);
    expect(c.dataDir).toBe('/w/d');
    expect(c.nextHop).toMatchObject({ kind: 'smtp', port: 10025 });
    expect(c.policy).toBe('/etc/og/policy.yaml');
    expect(c.organization.internalDomains).toEqual(['example.co.jp', 'sub.example.co.jp']);
  });

  it('reads OUTGUARD_CONFIG when no file is given, and the outbox follows the data dir', () => {
    const file = configFile('dataDir: /var/lib/outguard\n');
    const c = loadConfig({ env: { OUTGUARD_CONFIG: file } });
    expect(c.source).toBe(file);
    expect(c.nextHop).toEqual({ kind: 'file', dir: '/var/lib/outguard/outbox' });
  });

  it.each([
    ['smtp:\n  maxSize: lots\n', 'smtp.maxSize', 'a size in bytes'],
    ['smtp:\n  listen: localhost\n', 'smtp.listen', 'host:port'],
    ['smtp:\n  relayNetworks: [10.0.0.0/33]\n', 'smtp.relayNetworks[0]', 'an IP address or network'],
    ['nextHop: http://mail:25\n', 'nextHop', 'smtp://host:port'],
    ['smtp:\n  maxsize: 10\n', 'smtp.maxsize', 'a known key'],
    ['log:\n  level: loud\n', 'log.level', 'one of fatal'],
    ['organization:\n  internalDomains: [not a domain]\n', 'organization.internalDomains[0]', 'a domain name'],
    ['smtp:\n  users:\n    - username: a\n      password: secret123\n', 'smtp.users[0].password', 'an scrypt hash'],
  ])('names the file, the key and what was expected: %j', (yaml, key, expected) => {
    const file = configFile(yaml);
    const err = errorOf(() => loadConfig({ file, env: {} }));
    expect(err.message).toContain(file);
    expect(err.message).toContain(`${key}: expected ${expected}`);
    expect(err.message).not.toContain('secret123');
  });

  it('names the environment variable when an override is bad', () => {
    const err = errorOf(() => loadConfig({ env: { OUTGUARD_SMTP_LISTEN: 'nonsense' } }));
    expect(err.message).toBe('environment variable OUTGUARD_SMTP_LISTEN: smtp.listen: expected host:port such as 127.0.0.1:2525 or [::1]:2525, got "nonsense"');
  });

  it('reports YAML syntax errors with the line', () => {
    const file = configFile('smtp:\n  listen: [unclosed\n');
    expect(errorOf(() => loadConfig({ file, env: {} })).message).toMatch(/line \d+, column \d+: expected valid YAML/);
  });

  it('reports a missing file', () => {
    expect(errorOf(() => loadConfig({ file: '/nonexistent/outguard.yaml', env: {} })).message).toBe(
      '/nonexistent/outguard.yaml: (file): expected a readable YAML file, got "ENOENT"',
    );
  });

  it('puts the policy on a thread only when there are more than two cores, unless told', () => {
    expect(loadConfig({ env: {} }).policyThread).toBe(os.availableParallelism() > 2);
    expect(loadConfig({ file: configFile('policyThread: true\n'), env: {} }).policyThread).toBe(true);
    expect(loadConfig({ file: configFile('policyThread: false\n'), env: {} }).policyThread).toBe(false);
    expect(errorOf(() => loadConfig({ file: configFile('policyThread: sometimes\n'), env: {} })).message).toMatch(/policyThread: expected true, false or auto, got "sometimes"$/);
  });

  it('checks the compliance and reviewer settings, naming the key', () => {
    const c = loadConfig({ env: {} });
    expect(c.retention.bodyDays).toBe(7);
    expect(c.compliance.incidentMinutes).toBe(60);
    expect(c.compliance.storage.onlyInJapan).toBe(true);
    expect(c.compliance.reportSenderMistakes).toBe(false);
    expect(loadConfig({ file: configFile('compliance:\n  reportSenderMistakes: true\n'), env: {} }).compliance.reportSenderMistakes).toBe(true);
    expect(errorOf(() => loadConfig({ file: configFile('compliance:\n  reportSenderMistakes: sometimes\n'), env: {} })).message).toMatch(/compliance\.reportSenderMistakes: expected true or false, got "sometimes"$/);
    expect(errorOf(() => loadConfig({ file: configFile('web:\n  users:\n    - {username: a, password: secret, role: admin}\n'), env: {} })).message).toMatch(
      /web\.users\[0\]\.password: expected an scrypt hash made by `outguard hash-password`/,
    );
    expect(errorOf(() => loadConfig({ file: configFile('compliance:\n  clientContact: [not-an-address]\n'), env: {} })).message).toMatch(/compliance\.clientContact\[0\]: expected an e-mail address/);
    expect(errorOf(() => loadConfig({ file: configFile('compliance:\n  storage: {locaton: x}\n'), env: {} })).message).toMatch(/compliance\.storage\.locaton: expected a known key/);
    expect(errorOf(() => loadConfig({ file: configFile('retention:\n  bodyDays: 0\n'), env: {} })).message).toMatch(/retention\.bodyDays: expected days/);
  });

  it('points the release links at the web listener unless web.publicUrl says otherwise', () => {
    expect(loadConfig({ env: { OUTGUARD_WEB_LISTEN: '127.0.0.1:8225' } }).web.publicUrl).toBe('http://127.0.0.1:8225');
    expect(loadConfig({ env: { OUTGUARD_WEB_LISTEN: '[::1]:8226' } }).web.publicUrl).toBe('http://[::1]:8226');
    // on every interface, the machine's name: 0.0.0.0 is no address a sender can open
    expect(loadConfig({ file: configFile('smtp:\n  hostname: gw.example.co.jp\nweb:\n  listen: 0.0.0.0:8025\n'), env: {} }).web.publicUrl).toBe('http://gw.example.co.jp:8025');
    expect(loadConfig({ env: { OUTGUARD_WEB_LISTEN: '127.0.0.1:8225', OUTGUARD_WEB_PUBLIC_URL: 'https://og.example.co.jp' } }).web.publicUrl).toBe('https://og.example.co.jp');
  });

  it('sends the notices to senders from notices.from: outguard@<smtp.hostname> with a name unless set', () => {
    expect(loadConfig({ file: configFile('smtp:\n  hostname: gw.example.co.jp\n'), env: {} }).notices.from).toEqual({ name: '送信確認 outguard', address: 'outguard@gw.example.co.jp' });
    expect(loadConfig({ file: configFile('notices:\n  from: "情報システム課 <it-desk@example.co.jp>"\n'), env: {} }).notices.from).toEqual({ name: '情報システム課', address: 'it-desk@example.co.jp' });
    expect(loadConfig({ file: configFile('notices:\n  from: it-desk@example.co.jp\n'), env: {} }).notices.from).toEqual({ name: '', address: 'it-desk@example.co.jp' });
    expect(errorOf(() => loadConfig({ file: configFile('notices:\n  from: "IT desk"\n'), env: {} })).message).toMatch(/notices\.from: expected an e-mail address, optionally with a name/);
  });
});
