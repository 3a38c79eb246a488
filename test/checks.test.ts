/**
 * Unit tests for named validators in src/detect/checks.ts, against the rule each one implements.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CHECKS,
  cnLandlineValid,
  cnMobileValid,
  cnNameValid,
  e164Valid,
  gb11643Valid,
  hasCountryCode,
  hkidValid,
  ibanValid,
  ipv6Plausible,
  looksLikeDate,
  luhnValid,
  macValid,
  nextToMask,
  twIdValid,
  urlUserinfoBefore,
  usccValid,
  userAgentVersionBefore,
} from '../src/detect/checks.js';
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
    ['GET /cb?refresh_token=1//0gYfR2kLmNpQrStUv<', '"<" cannot occur in a URL authority (RFC 3986 §2), so the look-back ends there'],
    ['x="//cdn"', 'a quote ends the look-back'],
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

/** Runs a registered check on a value with optional context. */
const run = (name: string, value: string, before = ' ', after = ' '): boolean => CHECKS[name]!(input(before, value, after));
const digits = (v: string) => [...v].map(Number);

describe('luhn (ISO/IEC 7812 mod 10; python-stdnum luhn.py)', () => {
  it.each(['4111111111111111', '5555555555554444', '378282246310005', '6200000000000005', '6222021234567890128'])('accepts %s', (v) => {
    expect(luhnValid(digits(v))).toBe(true);
    expect(run('luhn', v)).toBe(true);
  });
  it.each(['4111111111111112', '6222021234567890124', '6200000000000006'])('rejects %s (check digit)', (v) => {
    expect(luhnValid(digits(v))).toBe(false);
    expect(run('luhn', v)).toBe(false);
  });
  it('rejects one repeated digit, lengths outside 12-19 and digits inside a longer run', () => {
    expect(run('luhn', '0000000000000000')).toBe(false);
    expect(run('luhn', '42424242424')).toBe(false);
    expect(run('luhn', '4111111111111111', '9', ' ')).toBe(false);
    expect(run('luhn', '4111111111111111', ' ', '0')).toBe(false);
  });
});

describe('gb11643 (PRC resident ID, ISO 7064 MOD 11-2; python-stdnum cn.ric doctests)', () => {
  it.each(['360426199101010071', '44011320141005001X', '44011320141005001x', '110101199003074258'])('accepts %s', (v) => {
    expect(gb11643Valid(v)).toBe(true);
  });
  it.each([
    ['36042619910102009X', 'check character'],
    ['110101199003074259', 'check character'],
    ['440306200102291236', 'invalid date 2001-02-29'],
    ['110101199002307654', 'invalid date Feb 30'],
    ['360426199113010079', 'month 13'],
    ['990101199003074251', 'unknown province 99'],
  ])('rejects %s (%s)', (v) => {
    expect(gb11643Valid(v)).toBe(false);
  });
});

describe('cn-mobile (MIIT ranges; any-rule / libphonenumber examples)', () => {
  it.each(['13800138000', '+86 199-1234-5678', '008618311006933', '+8617888829981', '19119255642'])('accepts %s', (v) => {
    expect(cnMobileValid(v)).toBe(true);
  });
  it.each(['12812345678', '11012345678', '1380013800'])('rejects %s', (v) => {
    expect(cnMobileValid(v)).toBe(false);
  });
});

describe('hkid (Hong Kong ID mod 11; PatrLind/hkidchecker, iLexN/HKID-Check-Digit)', () => {
  it.each(['A123456(3)', 'CA182361(1)', 'K034169(A)', 'A1234563'])('check character of %s is right', (v) => {
    expect(hkidValid(v)).toBe(true);
  });
  it.each([
    ['K034169(1)', "any-rule's own example: the check character is A"],
    ['A123456(4)', 'wrong check digit'],
    ['A12345(3)', 'five digits'],
  ])('rejects %s (%s)', (v) => {
    expect(hkidValid(v)).toBe(false);
  });
  it('needs a label before a value written without parentheses', () => {
    expect(run('hkid', 'A123456(3)')).toBe(true);
    expect(run('hkid', 'A1234563', 'part ')).toBe(false);
    expect(run('hkid', 'A1234563', 'HKID no. ')).toBe(true);
    expect(run('hkid', 'A1234563', '香港身份證：')).toBe(true);
  });
});

describe('tw-id (Taiwan national ID; letter codes A=10 … O=35, weights 1,9,8,7,6,5,4,3,2,1,1)', () => {
  it.each(['A123456789', 'U193683453', 'F131104093', 'A223456781'])('accepts %s', (v) => {
    expect(twIdValid(v)).toBe(true);
    expect(run('tw-id', v)).toBe(true);
  });
  it.each([
    ['A123456780', 'check digit'],
    ['A323456789', 'second digit must be 1/2 (8/9 for resident certificates)'],
    ['a123456789', 'lower-case letter'],
  ])('rejects %s (%s)', (v) => {
    expect(twIdValid(v)).toBe(false);
  });
});

describe('uscc (GB 32100-2015 mod 31; python-stdnum cn.uscc, any-rule)', () => {
  it.each(['91110000600037341L', '91230184MA1BUFLT44', '92371000MA3MXH0E3W', '9144030071526726XG'])('accepts %s', (v) => {
    expect(usccValid(v)).toBe(true);
    expect(run('uscc', v)).toBe(true);
  });
  it.each([
    ['91110000600037341N', 'check character'],
    ['9111000060003IOZSV', 'letters I, O, Z, S, V are not in the alphabet'],
    ['9111000060003734', 'length'],
  ])('rejects %s (%s)', (v) => {
    expect(usccValid(v)).toBe(false);
  });
  it('rejects an unknown registration authority or division code', () => {
    // Valid mod-31 check characters, but authority 0 / province 99.
    expect(usccValid('01110000600037341X')).toBe(true);
    expect(run('uscc', '01110000600037341X')).toBe(false);
    expect(usccValid('91990000600037341B')).toBe(true);
    expect(run('uscc', '91990000600037341B')).toBe(false);
  });
  it('needs a label before an all-digit code (shaped like an order number)', () => {
    expect(usccValid('913100007178834422')).toBe(true);
    expect(run('uscc', '913100007178834422', 'orderNo=')).toBe(false);
    expect(run('uscc', '913100007178834422', '统一社会信用代码：')).toBe(true);
    expect(run('uscc', '913100007178834422', 'seller tax id ')).toBe(true);
  });
});

describe('iban (ISO 13616 / ISO 7064 MOD 97-10; python-stdnum iban doctests)', () => {
  it.each(['DE89 3704 0044 0532 0130 00', 'BE31435411161155', 'GR16 0110 1050 0000 1054 7023 795', 'GB82WEST12345698765432', 'NL91ABNA0417164300', 'FR1420041010050500013M02606'])(
    'accepts %s',
    (v) => {
      expect(ibanValid(v)).toBe(true);
      expect(run('iban', v)).toBe(true);
    },
  );
  it.each([
    ['GB82WEST12345698765433', 'mod 97'],
    ['DE00370400440532013000', 'check digits 00'],
    ['DE8937040044053201300', 'length 21, Germany has 22'],
    ['US64SVBKUS6S3300958879', 'no IBAN registry entry for US'],
  ])('rejects %s (%s)', (v) => {
    expect(ibanValid(v)).toBe(false);
  });
});

describe('ipv6 (RFC 4291 text forms via net.isIPv6, plus log heuristics)', () => {
  it.each(['2001:db8::1', 'fe80::1ff:fe23:4567:890a', '::1', '::ffff:192.0.2.1', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', 'FE80:0000:0000:0000:C6B3:01FF:FECD:467F'])(
    'accepts %s',
    (v) => {
      expect(ipv6Plausible(v)).toBe(true);
      expect(run('ipv6', v)).toBe(true);
    },
  );
  it.each([
    ['12:30:45', 'a time'],
    ['a:b', 'not an address'],
    ['00:16:3e:0a:1b:2c', 'a MAC address'],
    ['a::b', 'a C++/Rust path: too few hex digits'],
    ['DB::', 'a C++ scope'],
    ['50:06:01:60:3b:a0:1b:2c', 'eight 2-digit groups: a WWN / byte dump'],
    ['2001:db8:::1', 'invalid'],
  ])('rejects %s (%s)', (v) => {
    expect(ipv6Plausible(v)).toBe(false);
  });
  it('rejects a value that continues with letters, digits or :hex', () => {
    expect(run('ipv6', '2001:db8::1', ' ', ':ab')).toBe(false);
    expect(run('ipv6', '2001:db8::1', ' ', 'x')).toBe(false);
    expect(run('ipv6', '2001:db8::1', ' ', ']:8080')).toBe(true);
    expect(run('ipv6', '2001:db8::1', ' ', ': link up')).toBe(true);
  });
});

describe('mac (EUI-48 as printed; python-stdnum mac)', () => {
  it.each(['00:16:3e:0a:1b:2c', 'D0-50-99-84-A2-A0', '0016.3e0a.1b2c', '5c:50:15:4c:18:13'])('accepts %s', (v) => {
    expect(macValid(v)).toBe(true);
    expect(run('mac', v)).toBe(true);
  });
  it.each([
    ['00:16:3e:12:34', 'five octets'],
    ['00:16-3e:12:34:56', 'mixed separators'],
    ['00:00:00:00:00:00', 'all zeros'],
    ['ff:ff:ff:ff:ff:ff', 'broadcast'],
    ['17-11-25-10-47-02', 'all decimal: a date'],
    ['1234.5678.9012', 'dotted number without hex letters'],
  ])('rejects %s (%s)', (v) => {
    expect(macValid(v)).toBe(false);
  });
  it('rejects six octets that are part of a longer colon or dash sequence', () => {
    expect(run('mac', '43:51:43:a1:b5:fc', ' ', ':8b:b7')).toBe(false);
    expect(run('mac', '00:16:3e:0a:1b:2c', ' ', ',00:16:3e:0a:1b:2d')).toBe(true);
  });
});

describe('cn-landline (trunk 0 + area code + subscriber number; any-rule, libphonenumber CN)', () => {
  it.each(['0936-4211235', '0571-88881234', '(0755)87654321-123', '021-6888-1234', '010-65529988', '+86 10 6552 9988', '+86-571-88881234', '0086-571-85022088'])('accepts %s', (v) => {
    expect(cnLandlineValid(v)).toBe(true);
  });
  it.each([
    ['010-1234567', 'Beijing numbers have 8 digits'],
    ['0100-2025010', 'no 01x area code besides 010'],
    ['0571-01234567', 'subscriber numbers never start with 0 or 1 (trunk / special services)'],
    ['010-12345678', 'subscriber number starting with 1'],
    ['+86 138 0013 8000', 'a mobile number'],
    ['571-88881234', 'no trunk 0'],
  ])('rejects %s (%s)', (v) => {
    expect(cnLandlineValid(v)).toBe(false);
  });
  it('rejects a number inside a longer digit run', () => {
    expect(run('cn-landline', '0571-88881234', '9', ' ')).toBe(false);
    expect(run('cn-landline', '0571-88881234', ' ', '5')).toBe(false);
  });
});

describe('e164 (ITU-T E.164: + country code, at most 15 digits)', () => {
  it.each(['+14155552671', '+1 (415) 555-2671', '+44 20 7946 0958', '+8613800138000', '+81-3-1234-5678', '+852 5123 4567', '+380 44 123 4567'])('accepts %s', (v) => {
    expect(e164Valid(v)).toBe(true);
  });
  it.each([
    ['+0123456789', 'no country code starts with 0'],
    ['+86', 'too short'],
    ['+1234567890123456', '16 digits'],
    ['+2024-01-15', 'a signed ISO date'],
    ['+99912345678', '999 is not assigned'],
    ['14155552671', 'no +'],
  ])('rejects %s (%s)', (v) => {
    expect(e164Valid(v)).toBe(false);
  });
  it('knows 1-, 2- and 3-digit country codes', () => {
    expect(hasCountryCode('1415')).toBe(true);
    expect(hasCountryCode('7495')).toBe(true);
    expect(hasCountryCode('8610')).toBe(true);
    expect(hasCountryCode('85212')).toBe(true);
    expect(hasCountryCode('8011')).toBe(false);
    expect(hasCountryCode('2811')).toBe(false);
  });
});

describe('cn-name (surname list, fillers)', () => {
  it.each(['张伟', '李秀英', '欧阳娜娜', '諸葛亮', '阿依古丽·买买提', '王先生'])('accepts %s', (v) => {
    expect(cnNameValid(v)).toBe(true);
  });
  it.each(['测试用户', '暂无', '未知', '端口连接', '杭州某某公司', '客户'])('rejects %s', (v) => {
    expect(cnNameValid(v)).toBe(false);
  });
});

describe('geo-pair and geo-coordinate', () => {
  it('accepts a labelled pair in either order and an unlabelled pair with 5+ decimals', () => {
    expect(run('geo-pair', '30.274085,120.155070', 'location=')).toBe(true);
    expect(run('geo-pair', '120.1550, 30.2740', '经纬度：')).toBe(true);
    expect(run('geo-pair', '-33.86882,151.20930', ' ')).toBe(true);
  });
  it('rejects out-of-range, near-zero and short unlabelled pairs', () => {
    expect(run('geo-pair', '230.274085,120.155070', 'lat/lng ')).toBe(false);
    expect(run('geo-pair', '120.155070,130.274085', 'gps ')).toBe(false);
    expect(run('geo-pair', '0.12345,0.67890', 'gps ')).toBe(false);
    expect(run('geo-pair', '12.3456,45.6789', 'cpu ')).toBe(false);
  });
  it('keeps a single coordinate within ±180 that is not 0', () => {
    expect(run('geo-coordinate', '30.274085')).toBe(true);
    expect(run('geo-coordinate', '-120.155')).toBe(true);
    expect(run('geo-coordinate', '0.000000')).toBe(false);
    expect(run('geo-coordinate', '200.123')).toBe(false);
  });
});

describe('not-date, alnum-mix', () => {
  it('not-date rejects a YYYYMMDD date and keeps other digit runs', () => {
    expect(looksLikeDate('20300101')).toBe(true);
    expect(run('not-date', '20300101')).toBe(false);
    expect(run('not-date', '01234567')).toBe(true);
    expect(run('not-date', 'H12345678')).toBe(true);
    expect(run('not-date', '20301332')).toBe(true);
  });
  it('alnum-mix needs letters and digits', () => {
    expect(run('alnum-mix', 'nz2pc56s936q9l')).toBe(true);
    expect(run('alnum-mix', 'parameterized')).toBe(false);
    expect(run('alnum-mix', '1234567890123')).toBe(false);
  });
});

describe('ipv4 version prefixes', () => {
  it('treats a quad after "build" like one after "version"', () => {
    expect(run('ipv4', '1.24.0.3', 'build ')).toBe(false);
    expect(run('ipv4', '10.0.19.1', 'Version ')).toBe(false);
    expect(run('ipv4', '10.0.0.12', 'client ')).toBe(true);
  });

  it('rejects a quad right after ~ (Windows component identity versions)', () => {
    expect(run('ipv4', '6.1.1.0', 'amd64~~')).toBe(false);
    expect(run('ipv4', '6.1.1.0', 'amd64 ')).toBe(true);
  });

  it('answers as the plain version rule for any lead (the byte pre-check only skips work)', () => {
    const rule = (lead: string): boolean => !/(?:version[ :=]?|ver[ :=]|build[ :=]?|\bv)$/.test(lead.slice(-9).toLowerCase());
    const piece = fc.constantFrom('version', 'Version', 'VER', 'ver', 'build', 'BUILD', 'v', 'V', 'n', 'd', 'r', ' ', ':', '=', 'x', '-', 'host', '\t', '_');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), (parts) => {
        const lead = parts.join('');
        expect(run('ipv4', '10.1.2.3', lead)).toBe(rule(lead));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('not-placeholder', () => {
  it('drops documented placeholders but not a random ID that happens to hold a few x', () => {
    expect(run('not-placeholder', 'LTAIxxxxxxxxxxxxxxxx')).toBe(false);
    expect(run('not-placeholder', 'LTAI5tXXXXXXXXXXXXXXXXXX')).toBe(false);
    expect(run('not-placeholder', '********')).toBe(false);
    // A generated AccessKey ID from the bench corpus: four x in a row is ~2e-5 per random ID.
    expect(run('not-placeholder', 'LTAILxXXx5vkZnNM')).toBe(true);
    expect(run('not-placeholder', 'LTAI5tQxxxxk9mZr2XbK9vNc')).toBe(true);
    // Likewise "your" inside a random ID; templates still drop.
    expect(run('not-placeholder', 'LTAI5tYoUr9mZr2XbK9vNc4W')).toBe(true);
    expect(run('not-placeholder', 'your_secret_here')).toBe(false);
    expect(run('not-placeholder', 'xoxb-your-token-here')).toBe(false);
    expect(run('not-placeholder', 'YourAccessKeyId')).toBe(false);
  });
});
