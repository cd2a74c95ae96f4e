import { extractUrls, extractUrlsFromHtml, hostOf, unwrapUrl } from '../../message/urls.js';
import { type Check, type Hit, param } from '../check.js';

/**
 * 第6-3: a link in the body (text or HTML, behind Safe Links, URL Defense or a redirector) to an
 * anonymous file-transfer service named in a list (gigafile.nu, firestorage.jp, we.tl, …).
 * One hit per distinct link: the first URL in its wrapper chain whose host is listed and not
 * allowed, so an allow-listed wrapper still has its target checked.
 */
export const fileTransferLink: Check<{ list: string }> = {
  name: 'file-transfer-link',
  params: (raw, env) => ({ list: param.list(raw, 'list', 'file-transfer', env) }),
  run({ message }, ctx, { list }) {
    const names = ctx.list(list);
    const urls = new Set<string>();
    for (const text of message.textParts) for (const url of extractUrls(text)) urls.add(url);
    for (const html of message.htmlParts) for (const url of extractUrlsFromHtml(html)) urls.add(url);
    const hits: Hit[] = [];
    const reported = new Set<string>();
    for (const url of urls) {
      for (const link of unwrapUrl(url)) {
        const host = hostOf(link);
        if (host === undefined || ctx.allowed(host)) continue;
        const entry = names.matchHost(host);
        if (entry === undefined) continue;
        if (!reported.has(link)) {
          reported.add(link);
          hits.push({ value: link, detail: { ja: `匿名のファイル転送サービス ${entry} へのリンク`, en: `links to ${entry} (anonymous file transfer)` } });
        }
        break;
      }
    }
    return hits;
  },
};
