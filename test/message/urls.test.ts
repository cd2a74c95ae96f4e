import { describe, expect, it } from 'vitest';
import { decodeEntities, extractUrls, extractUrlsFromHtml, hostOf, unwrapUrl } from '../../src/message/urls.js';

const SAFELINKS_WETL =
  'https://apc01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwe.tl%2Ft-AbCdE&data=05%7C01%7Ctaro%40example.co.jp%7C0123456789abcdef%7C0%7C0%7C638000000000000000%7CUnknown&sdata=AbCdEf%2BgHiJ%3D&reserved=0';

describe('extractUrls (plain text)', () => {
  it('finds http(s) URLs with their paths', () => {
    expect(extractUrls('DL: https://97.gigafile.nu/1126-abcdef (7日間有効)')).toEqual(['https://97.gigafile.nu/1126-abcdef']);
    expect(extractUrls('http://example.com/a?b=1&c=2#frag')).toEqual(['http://example.com/a?b=1&c=2#frag']);
  });

  it('cuts a URL at Japanese punctuation and text around it', () => {
    expect(extractUrls('ダウンロードはこちら：https://firestorage.jp/download/abc。よろしく')).toEqual(['https://firestorage.jp/download/abc']);
    expect(extractUrls('「https://we.tl/t-1」『https://gofile.io/d/x』（https://file.io/y）、https://send-anywhere.com/z')).toEqual([
      'https://we.tl/t-1',
      'https://gofile.io/d/x',
      'https://file.io/y',
      'https://send-anywhere.com/z',
    ]);
    expect(extractUrls('URL＜https://we.tl/t-2＞です')).toEqual(['https://we.tl/t-2']);
    expect(extractUrls('https://we.tl/t-3\u3000全角スペースの後')).toEqual(['https://we.tl/t-3']);
    expect(extractUrls('https://we.tl/t-4からダウンロード')).toEqual(['https://we.tl/t-4']);
    expect(extractUrls('https://gigafile.nuからどうぞ')).toEqual(['https://gigafile.nu']);
  });

  it('keeps an IDN host and cuts the path at non-ASCII text', () => {
    expect(extractUrls('https://例え.jp/パス')).toEqual(['https://例え.jp/']);
    expect(hostOf('https://例え.jp/')).toBe('xn--r8jz45g.jp');
  });

  it('stops at whitespace, quotes and angle brackets', () => {
    expect(extractUrls('<https://we.tl/a> "https://we.tl/b" \'https://we.tl/c\' `https://we.tl/d`')).toEqual([
      'https://we.tl/a',
      'https://we.tl/b',
      'https://we.tl/c',
      'https://we.tl/d',
    ]);
  });

  it('trims sentence punctuation and unbalanced brackets, keeps balanced ones', () => {
    expect(extractUrls('See https://we.tl/t-abc.')).toEqual(['https://we.tl/t-abc']);
    expect(extractUrls('(see https://we.tl/t-abc), then')).toEqual(['https://we.tl/t-abc']);
    expect(extractUrls('https://en.wikipedia.org/wiki/Foo_(bar)!')).toEqual(['https://en.wikipedia.org/wiki/Foo_(bar)']);
    expect(extractUrls('[link](https://we.tl/t-md)')).toEqual(['https://we.tl/t-md']);
  });

  it('finds scheme-less host/path forms and www. hosts', () => {
    expect(extractUrls('こちら we.tl/t-AbCdE から')).toEqual(['we.tl/t-AbCdE']);
    expect(extractUrls('URL:97.gigafile.nu/1234-abcd.')).toEqual(['97.gigafile.nu/1234-abcd']);
    expect(extractUrls('リンク：we.tl/t-x')).toEqual(['we.tl/t-x']);
    expect(extractUrls('www.gigafile.nu を使ってください')).toEqual(['www.gigafile.nu']);
    expect(extractUrls('Go to www.example.com.')).toEqual(['www.example.com']);
    expect(extractUrls('h-less: ttps://we.tl/t-h')).toEqual(['ttps://we.tl/t-h']);
  });

  it('does not take e-mail addresses, bare names, file names or versions for links', () => {
    expect(extractUrls('someone@gigafile.nu')).toEqual([]);
    expect(extractUrls('mail someone@gigafile.nu/x please')).toEqual([]);
    expect(extractUrls('notgigafile.nu と gigafile.nu')).toEqual([]);
    expect(extractUrls('report.pdf and v1.2/notes and and/or and a.b/c')).toEqual([]);
    expect(extractUrls('path/to/we.tl/x')).toEqual([]);
    expect(extractUrls('https:// nothing here, http://')).toEqual([]);
  });

  it('ignores zero-width characters used to split a link', () => {
    expect(extractUrls('https://we\u200b.tl/t-zw')).toEqual(['https://we.tl/t-zw']);
  });

  it('returns each URL once, in order', () => {
    expect(extractUrls('https://b.example/ https://a.example/ https://b.example/')).toEqual(['https://b.example/', 'https://a.example/']);
  });
});

describe('extractUrlsFromHtml', () => {
  it('reads href and src in double, single and no quotes, decoding entities', () => {
    const html = `<a href="https://we.tl/t-1?a=1&amp;b=2">x</a><a href='https://gofile.io/d/&#x41;'>y</a><img src=https://file.io/z&#x2F;w alt=z>`;
    expect(extractUrlsFromHtml(html)).toEqual(['https://we.tl/t-1?a=1&b=2', 'https://gofile.io/d/A', 'https://file.io/z/w']);
  });

  it('reads a safelinks href with &amp;', () => {
    const html = `<p>資料は<a href="${SAFELINKS_WETL.replace(/&/g, '&amp;')}" originalsrc="https://we.tl/t-AbCdE">こちら</a></p>`;
    expect(extractUrlsFromHtml(html)).toEqual([SAFELINKS_WETL]);
  });

  it('finds URLs in the visible text, across inline tags and entities, not in scripts, styles or comments', () => {
    const html =
      '<div>DL: <b>https://97.gigafile.nu/</b>1126-abcdef</div><div>we.<wbr>tl/t-wbr</div>' +
      '<p>https:&#x2F;&#x2F;firestorage.jp&#x2F;download&#x2F;abc&nbsp;です</p>' +
      '<script>var u = "https://script.example/";</script><style>a{background:url(https://style.example/)}</style><!-- https://comment.example/ -->';
    expect(extractUrlsFromHtml(html)).toEqual(['https://97.gigafile.nu/1126-abcdef', 'we.tl/t-wbr', 'https://firestorage.jp/download/abc']);
  });

  it('does not run block elements together', () => {
    expect(extractUrlsFromHtml('<p>see</p><p>we.tl</p><p>/x</p>')).toEqual([]);
  });

  it('skips relative, mailto:, cid: and javascript: attributes', () => {
    expect(extractUrlsFromHtml('<a href="/local">a</a><a href="mailto:x@we.tl">b</a><img src="cid:img1"><a href="javascript:void(0)">c</a>')).toEqual([]);
  });

  it('reads protocol-relative URLs and strips tabs and newlines inside attributes', () => {
    expect(extractUrlsFromHtml('<img src="//we.tl/i.png"><a href=" https://we.\ntl/t-nl ">x</a>')).toEqual(['https://we.tl/i.png', 'https://we.tl/t-nl']);
  });

  it('reads the rest of an unterminated tag as text', () => {
    expect(extractUrlsFromHtml('<p>x</p><a href="https://we.tl/t-open>click')).toEqual(['https://we.tl/t-open']);
  });
});

describe('decodeEntities', () => {
  it('decodes named, decimal and hex references and leaves unknown ones', () => {
    expect(decodeEntities('a&amp;b&lt;&#47;&#x2F;&sol;&nbsp;&bogus;&amp')).toBe('a&b<///\u00a0&bogus;&');
    expect(decodeEntities('?x=1&data=2')).toBe('?x=1&data=2');
  });
});

describe('unwrapUrl', () => {
  it('unwraps Outlook Safe Links', () => {
    expect(unwrapUrl(SAFELINKS_WETL)).toEqual([SAFELINKS_WETL, 'https://we.tl/t-AbCdE']);
    expect(unwrapUrl(SAFELINKS_WETL).map(hostOf)).toEqual(['apc01.safelinks.protection.outlook.com', 'we.tl']);
  });

  it('unwraps Google redirects (q= and url=)', () => {
    expect(unwrapUrl('https://www.google.com/url?q=https://firestorage.jp/download/x&sa=D&source=editors').at(-1)).toBe('https://firestorage.jp/download/x');
    expect(unwrapUrl('https://www.google.co.jp/url?sa=t&url=https%3A%2F%2Fgofile.io%2Fd%2Fabc&usg=AOv').at(-1)).toBe('https://gofile.io/d/abc');
  });

  it('unwraps Proofpoint URL Defense v2 and v3', () => {
    expect(unwrapUrl('https://urldefense.proofpoint.com/v2/url?u=https-3A__we.tl_t-2DAbCdE&d=DwMFaQ&c=abc&r=def&m=ghi&s=jkl&e=').at(-1)).toBe(
      'https://we.tl/t-AbCdE',
    );
    expect(unwrapUrl('https://urldefense.com/v3/__https://we.tl/t-AbCdE__;!!ACWV5N9M2RV99hQ!abcDEF$').at(-1)).toBe('https://we.tl/t-AbCdE');
    // "*" stands for a character carried base64url-encoded after "__;" (here "+")
    expect(unwrapUrl('https://urldefense.com/v3/__https://gofile.io/d/a*b__;Kw!!ACWV5N9M2RV99hQ!x$').at(-1)).toBe('https://gofile.io/d/a+b');
  });

  it('unwraps Facebook, LinkedIn and Slack redirects', () => {
    expect(unwrapUrl('https://l.facebook.com/l.php?u=https%3A%2F%2Fwe.tl%2Ft-fb&h=AT0').at(-1)).toBe('https://we.tl/t-fb');
    expect(unwrapUrl('https://www.linkedin.com/redir/redirect?url=https%3A%2F%2Fwe.tl%2Ft-li&urlhash=x').at(-1)).toBe('https://we.tl/t-li');
    expect(unwrapUrl('https://slack-redir.net/link?url=https%3A%2F%2Fwe.tl%2Ft-sl').at(-1)).toBe('https://we.tl/t-sl');
  });

  it('reads the host a Mimecast link names', () => {
    expect(unwrapUrl('https://protect-au.mimecast.com/s/AbCdEfGh?domain=we.tl').map(hostOf)).toEqual(['protect-au.mimecast.com', 'we.tl']);
  });

  it('unwraps generic redirectors and nested wrappers', () => {
    expect(unwrapUrl('https://track.example.com/click?id=1&redirect=https%3A%2F%2Fwe.tl%2Ft-g').at(-1)).toBe('https://we.tl/t-g');
    const inner = `https://www.google.com/url?q=${encodeURIComponent('https://we.tl/t-nest')}`;
    const outer = `https://nam12.safelinks.protection.outlook.com/?url=${encodeURIComponent(inner)}&data=x&reserved=0`;
    expect(unwrapUrl(outer)).toEqual([outer, inner, 'https://we.tl/t-nest']);
  });

  it('stops after a few levels and at loops', () => {
    let url = 'https://we.tl/t-deep';
    for (let k = 0; k < 10; k++) url = `https://r.example/?url=${encodeURIComponent(url)}`;
    expect(unwrapUrl(url)).toHaveLength(6);
  });

  it('leaves ordinary URLs and non-URL parameters alone', () => {
    expect(unwrapUrl('https://www.google.com/search?q=gigafile')).toEqual(['https://www.google.com/search?q=gigafile']);
    expect(unwrapUrl('https://drive.google.com/file/d/abc/view?usp=sharing')).toHaveLength(1);
    expect(unwrapUrl('not a url at all')).toEqual(['not a url at all']);
  });
});

describe('hostOf', () => {
  it('gives the lower-case host of absolute, scheme-less and h-less URLs', () => {
    expect(hostOf('HTTPS://WE.TL/t-x')).toBe('we.tl');
    expect(hostOf('we.tl/t-x')).toBe('we.tl');
    expect(hostOf('www.gigafile.nu')).toBe('www.gigafile.nu');
    expect(hostOf('ttps://97.gigafile.nu/x')).toBe('97.gigafile.nu');
    expect(hostOf('https://user:pw@firestorage.jp./x')).toBe('firestorage.jp');
    expect(hostOf('https://example.co.jp/gigafile.nu')).toBe('example.co.jp');
  });

  it('gives nothing for addresses and broken URLs', () => {
    expect(hostOf('mailto:someone@gigafile.nu')).toBeUndefined();
    expect(hostOf('https://')).toBeUndefined();
  });
});

describe('pathological input', () => {
  const M = 1 << 20;
  const texts: Record<string, string> = {
    letters: 'a'.repeat(M),
    dots: '.'.repeat(M),
    schemes: 'http://'.repeat(M / 7),
    hless: 'ttp:'.repeat(M / 4),
    parens: `https://we.tl/${')'.repeat(M)}`,
    labels: `${'a.'.repeat(M / 2)}/`,
    bareUrls: 'x.jp/あ'.repeat(M / 5),
    idn: `https://${'あ'.repeat(M)}`,
  };
  const htmls: Record<string, string> = {
    angles: '<'.repeat(M),
    openTags: '<a'.repeat(M / 2),
    openQuotes: '<a href="'.repeat(M / 9),
    entities: '&amp'.repeat(M / 4),
    comments: '<!--'.repeat(M / 4),
    tags: '<b>x'.repeat(M / 4),
    attributes: `<a ${'b='.repeat(M / 2)}`,
    scripts: '<script>'.repeat(M / 8),
  };

  // Hostile input must not hang the gateway: a quadratic scan of 1 MB takes minutes, a linear one
  // well under a second, so the (generous) test timeout is what fails a regression.
  const HANG = 15000;
  it.each(Object.entries(texts))('scans 1 MB of hostile text (%s) without hanging', (_, text) => {
    expect(Array.isArray(extractUrls(text))).toBe(true);
  }, HANG);

  it.each(Object.entries(htmls))('scans 1 MB of hostile HTML (%s) without hanging', (_, html) => {
    expect(Array.isArray(extractUrlsFromHtml(html))).toBe(true);
  }, HANG);

  it('unwraps a 1 MB URL without hanging', () => {
    expect(unwrapUrl(`https://urldefense.com/v3/__https://we.tl/${'*'.repeat(M)}__;${'A'.repeat(M)}!x$`).length).toBeGreaterThan(0);
    expect(unwrapUrl(`https://www.google.com/url?q=${'https://www.google.com/url?q='.repeat(M / 30)}`).length).toBeGreaterThan(0);
  }, HANG);
});
