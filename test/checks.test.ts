/**
 * Unit tests for named validators in src/detect/checks.ts, against the rule each one implements.
 */
import { describe, expect, it } from 'vitest';
import { CHECKS, nextToMask, urlUserinfoBefore, userAgentVersionBefore } from '../src/detect/checks.js';
import type { CheckInput } from '../src/detect/checks.js';

const input = (before: string, value: string, after: string): CheckInput => ({
  before: Buffer.from(before),
  value: Buffer.from(value),
  after: Buffer.from(after),
});

describe('not-url-userinfo (RFC 3986 §3.2: authority = [ userinfo "@" ] host [ ":" port ] after "//")', () => {
  const check = CHECKS['not-url-userinfo']!;

  it('is registered', () => {
    expect(typeof check).toBe('function');
  });

  // The text before an address-shaped value; true = the value sits in a URL's userinfo.
  const userinfo: Array<[string, string]> = [
    ['mysql://user:', 'password of scheme://user:password@host'],
    ['redis://:', 'empty user, password only'],
    ['jdbc:mysql://app:', 'JDBC URL'],
    ['ssh://', 'user only (ssh://git@host)'],
    ['https://', 'user only (https://user@host)'],
    ['url=ftp://anonymous:', 'after other text on the line'],
    ['mongodb+srv://root:p%40ss:', 'userinfo may contain pct-encoded and ":"'],
  ];
  for (const [before, why] of userinfo) {
    it(`rejects userinfo: ${why}`, () => {
      expect(urlUserinfoBefore(before)).toBe(true);
      expect(check(input(before, 'x@host.example.com', '/db'))).toBe(false);
    });
  }

  const address: Array<[string, string]> = [
    ['mailto:', 'mailto has no authority (RFC 6068)'],
    ['contact ', 'plain text'],
    ['"Email":"', 'JSON value'],
    ['see https://example.com/contact and ', 'a URL earlier on the line, ended by "/" and a blank'],
    ['https://host/path?email=', 'query part of a URL: the authority ended at "/"'],
    ['https://host?email=', 'query part of a URL without a path: the authority ended at "?"'],
    ['https://host#', 'fragment'],
    ['https://a@b.example.com/x?e=', 'userinfo already closed by an earlier "@"'],
    ['', 'start of file'],
  ];
  for (const [before, why] of address) {
    it(`keeps an address: ${why}`, () => {
      expect(urlUserinfoBefore(before)).toBe(false);
      expect(check(input(before, 'zhang.san@example.com', ''))).toBe(true);
    });
  }
});

describe('not-masked (a value adjacent to "*" is a masked documentation example)', () => {
  const check = CHECKS['not-masked']!;

  it('is registered', () => {
    expect(typeof check).toBe('function');
  });

  it('rejects a value followed by a mask', () => {
    expect(nextToMask(Buffer.from('SecurityToken: '), Buffer.from('****'))).toBe(true);
    expect(check(input('SecurityToken: ', 'CAIShwJ1q6Ft5B2yfSjIr5bSEsj4g7BihPWGWHz', '****"'))).toBe(false);
  });

  it('rejects a value preceded by a mask', () => {
    expect(nextToMask(Buffer.from('token=****'), Buffer.from('&x=1'))).toBe(true);
    expect(check(input('token=****', 'AbCdEfGhIjKlMnOpQrStUvWx', '&x=1'))).toBe(false);
  });

  it('keeps a value with other neighbours, at the start or at the end of a file', () => {
    expect(check(input('"SecurityToken":"', 'CAISq6Ft5B2yfSjIr5bSEsj4g7BihPWGWHzAbCd', '","'))).toBe(true);
    expect(check(input('', 'CAISq6Ft5B2yfSjIr5bSEsj4g7BihPWGWHzAbCd', ''))).toBe(true);
    expect(nextToMask(Buffer.alloc(0), Buffer.alloc(0))).toBe(false);
  });
});

describe('not-ua-version (RFC 9110 §10.1.5 user-agent product/version, not a host address)', () => {
  const check = CHECKS['not-ua-version']!;

  it('is registered', () => {
    expect(typeof check).toBe('function');
  });

  const versions = [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/',
    'Safari/537.36 Edg/',
    'HeadlessChrome/',
    'Mozilla/5.0 (Linux; Android 13) Mobile Safari/537.36 MicroMessenger/',
    'YaBrowser/',
    'OPR/',
    'Version/',
  ];
  for (const before of versions) {
    it(`rejects a version after ${JSON.stringify(before.slice(-16))}`, () => {
      expect(userAgentVersionBefore(before)).toBe(true);
      expect(check(input(before, '119.0.0.0', ' Safari/537.36'))).toBe(false);
    });
  }

  const hosts = [
    'MININT-FNANLI5.fareast.corp.microsoft.com/',
    'msra-sa-41/',
    'localhost/',
    'hdfs://',
    'from /',
    'client ',
    '',
  ];
  for (const before of hosts) {
    it(`keeps an address after ${JSON.stringify(before)}`, () => {
      expect(userAgentVersionBefore(before)).toBe(false);
      expect(check(input(before, '10.86.169.121', ':62260'))).toBe(true);
    });
  }

  it('needs the product token to start at a token boundary', () => {
    expect(userAgentVersionBefore('node-Chrome/')).toBe(false);
    expect(userAgentVersionBefore('(Chrome/')).toBe(true);
  });
});
