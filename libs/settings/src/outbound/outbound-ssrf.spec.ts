import { isPublicAddress } from '@app/shared';
import { DEFAULT_SETTINGS, mergeSettings, SettingsPatch } from '../domain/settings';
import { isHostAllowed, isValidHost, outboundUrlProblem, settingsProblems } from '../domain/settings.validation';

/**
 * The SSRF guard as a URL is accepted (settings' dialler and SMS endpoints, a webhook follow-up's url when it is
 * scheduled). What it cannot see from the URL alone (a name that resolves to a private address) is checked again
 * when the request is sent: outbound-ssrf.int-spec.ts.
 */

const PRIVATE_OR_LOOPBACK = /points to a private or loopback address/;

describe('outbound SSRF guard: which addresses are not public', () => {
  // First and last address of every IPv4 special range, and the cloud metadata address.
  it.each([
    ['0.0.0.0', '0.0.0.0/8'],
    ['0.255.255.255', '0.0.0.0/8'],
    ['10.0.0.0', '10/8'],
    ['10.255.255.255', '10/8'],
    ['100.64.0.0', '100.64/10 CGNAT'],
    ['100.127.255.255', '100.64/10 CGNAT'],
    ['127.0.0.0', '127/8'],
    ['127.255.255.255', '127/8'],
    ['169.254.0.0', '169.254/16'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.255.255', '169.254/16'],
    ['172.16.0.0', '172.16/12'],
    ['172.31.255.255', '172.16/12'],
    ['192.0.0.0', '192.0.0/24'],
    ['192.0.0.255', '192.0.0/24'],
    ['192.168.0.0', '192.168/16'],
    ['192.168.255.255', '192.168/16'],
    ['198.18.0.0', '198.18/15'],
    ['198.19.255.255', '198.18/15'],
    ['224.0.0.0', '224/4 multicast'],
    ['239.255.255.255', '224/4 multicast'],
    ['240.0.0.0', '240/4'],
    ['255.255.255.254', '240/4'],
    ['255.255.255.255', 'broadcast'],
  ])('should not call %s public (%s)', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each([
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fc00::', 'fc00::/7'],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fc00::/7'],
    ['fe80::', 'fe80::/10'],
    ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe80::/10'],
    ['ff00::', 'ff00::/8'],
    ['ff02::1', 'ff00::/8'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ff00::/8'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata'],
    ['::ffff:0:7f00:1', 'IPv4-translated loopback'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::7f00:1', 'IPv4-compatible loopback, hex'],
    ['::8.8.8.8', 'IPv4-compatible (deprecated, never routed)'],
    ['64:ff9b::127.0.0.1', 'NAT64 of loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of metadata'],
    ['64:ff9b::c0a8:101', 'NAT64 of 192.168.1.1'],
    ['2002:7f00:1::1', '6to4 of loopback'],
    ['2002:a9fe:a9fe::', '6to4 of metadata'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['2001:0:c000:221::1', 'Teredo'],
  ])('should not call %s public (%s)', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(['8.8.8.8', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '198.17.255.255', '198.20.0.0', '223.255.255.255', '2a00:1450:4001:82a::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    'should call %s public',
    (ip) => {
      expect(isPublicAddress(ip)).toBe(true);
    },
  );
});

describe(outboundUrlProblem.name, () => {
  it.each([
    // every special IPv4 range, as a literal
    'https://0.0.0.0/',
    'https://10.1.2.3/',
    'https://100.64.0.1/',
    'https://127.0.0.1/',
    'https://169.254.169.254/latest/meta-data/',
    'https://172.16.0.1/',
    'https://192.0.0.1/',
    'https://192.168.1.1/',
    'https://198.18.0.1/',
    'https://224.0.0.1/',
    'https://240.0.0.1/',
    'https://255.255.255.255/',
    // IPv6 literals
    'https://[::]/',
    'https://[::1]/',
    'https://[fd00::1]/',
    'https://[fe80::1]/',
    'https://[ff02::1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:7f00:1]/',
    'https://[0:0:0:0:0:ffff:127.0.0.1]/',
    'https://[::127.0.0.1]/',
    'https://[64:ff9b::10.0.0.1]/',
    'https://[2002:a9fe:a9fe::1]/',
    'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/',
    // other spellings of 127.0.0.1 and 169.254.169.254
    'https://127.1/',
    'https://0x7f.0.0.1/',
    'https://0177.0.0.1/',
    'https://2130706433/',
    'https://017700000001/',
    'https://0x7f000001/',
    'https://0xa9fea9fe/',
    'https://0/',
    'https://127.0.0.1./',
    'https://%31%32%37.0.0.1/',
    'https://127.0.0.1%2e/',
    'https://０x7f.1/', // full-width digits, mapped by IDNA
    // ports, and a public-looking name before the @ (user info: the host is what follows it)
    'https://127.0.0.1:8443/hook',
    'https://[::1]:443/',
    'https://public.example@127.0.0.1/',
    'https://public.example:443@127.0.0.1/',
    // loopback names (RFC 6761)
    'https://localhost/',
    'https://LOCALHOST/',
    'https://localhost./',
    'https://%6c%6fcalhost/',
    'https://ｌｏｃａｌｈｏｓｔ/',
    'https://foo.localhost/',
    'https://a.b.LocalHost./',
  ])('should refuse %s to an org that allows no host', (url) => {
    expect(outboundUrlProblem(url, [])).toMatch(PRIVATE_OR_LOOPBACK);
  });

  it.each(['https://hooks.example.com/x?y=1', 'https://hooks.example.com:8443/', 'https://8.8.8.8/', 'https://[2606:4700:4700::1111]/', 'https://localhost.example.com/'])(
    'should accept %s',
    (url) => {
      expect(outboundUrlProblem(url, [])).toBeNull();
    },
  );

  it.each(['http://hooks.example.com/', 'http://8.8.8.8/', 'HTTP://hooks.example.com/'])('should refuse plain http to a host not allowed: %s', (url) => {
    expect(outboundUrlProblem(url, [])).toMatch(/must use https/);
  });

  it.each(['ftp://hooks.example.com/', 'file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'ws://hooks.example.com/', 'data:text/plain,x', '//hooks.example.com/x', '/relative', 'https://', 'https://[fe80::1%25eth0]/'])(
    'should refuse %s as not an absolute http(s) URL',
    (url) => {
      expect(outboundUrlProblem(url, [])).toMatch(/absolute http\(s\) URL/);
    },
  );

  // The user name and password of a URL are never sent (the request carries only the signature), yet the URL is
  // stored and shown: the dialler's and SMS provider's to every role in GET /api/settings, a webhook's to anyone
  // who sees the follow-up. Refused, so a credential is neither leaked nor silently dropped.
  it.each(['https://user:pass@hooks.example.com/', 'https://token@hooks.example.com/', 'https://:pass@hooks.example.com/', 'http://user:pass@sink.test/'])(
    'should refuse a URL with credentials: %s',
    (url) => {
      expect(outboundUrlProblem(url, ['sink.test'])).toMatch(/must not contain a user name or password/);
    },
  );

  describe('with allowHttpHosts', () => {
    it('should allow exactly the listed host, whatever its case or trailing dot', () => {
      for (const url of ['http://sink.test/', 'http://SINK.test:8080/x', 'http://sink.test./', 'https://Sink.Test/']) {
        expect({ url, problem: outboundUrlProblem(url, ['sink.test']) }).toEqual({ url, problem: null });
      }
      expect(outboundUrlProblem('http://sink.test/', ['SINK.TEST.'])).toBeNull();
    });

    it.each(['http://evilsink.test/', 'http://sink.test.evil.com/', 'http://sub.sink.test/', 'http://sink.tes/', 'http://sink.test-evil.com/', 'http://sinkxtest/'])(
      'should not let allowing sink.test allow %s',
      (url) => {
        expect(outboundUrlProblem(url, ['sink.test'])).toMatch(/must use https/);
      },
    );

    it('should allow a listed private address in any spelling of it, and no other private address', () => {
      for (const url of ['http://127.0.0.1:9000/', 'http://127.1:9000/', 'http://2130706433/', 'http://0x7f.0.0.1/', 'https://127.0.0.1./']) {
        expect({ url, problem: outboundUrlProblem(url, ['127.0.0.1']) }).toEqual({ url, problem: null });
      }
      for (const url of ['https://127.0.0.2/', 'https://localhost/', 'https://[::1]/', 'https://[::ffff:127.0.0.2]/', 'https://169.254.169.254/']) {
        expect({ url, problem: outboundUrlProblem(url, ['127.0.0.1']) }).toEqual({ url, problem: expect.stringMatching(PRIVATE_OR_LOOPBACK) });
      }
    });

    it('should match an IPv6 entry in any spelling of the address', () => {
      expect(outboundUrlProblem('http://[0:0:0:0:0:0:0:1]:9000/', ['::1'])).toBeNull();
      expect(outboundUrlProblem('http://[::1]/', ['[0::1]'])).toBeNull();
      expect(outboundUrlProblem('https://[::ffff:127.0.0.1]/', ['::1'])).toMatch(PRIVATE_OR_LOOPBACK);
    });

    it('should not let allowing localhost allow another *.localhost name', () => {
      expect(outboundUrlProblem('http://localhost:8080/', ['localhost'])).toBeNull();
      expect(outboundUrlProblem('https://evil.localhost/', ['localhost'])).toMatch(PRIVATE_OR_LOOPBACK);
    });
  });

  it('should compare hosts exactly, not by prefix or suffix', () => {
    expect(isHostAllowed('sink.test', ['sink.test'])).toBe(true);
    expect(isHostAllowed('evilsink.test', ['sink.test'])).toBe(false);
    expect(isHostAllowed('sink.test.evil.com', ['sink.test'])).toBe(false);
    expect(isHostAllowed('sink', ['sink.test'])).toBe(false);
    expect(isHostAllowed('sink.test', ['evilsink.test', 'sink.test.evil.com', 'test'])).toBe(false);
  });
});

describe('allowHttpHosts entries', () => {
  // A pattern would be taken literally and match nothing: refused, so an admin is not misled into thinking it works.
  it.each(['*.sink.test', '*', 'sink.test/', 'sink.test:80', 'http://sink.test', 'user@sink.test', '127.0.0.1/8', '10.0.0.0/8', '127.1', '2130706433', ' '])(
    'should refuse %p',
    (host) => {
      expect(isValidHost(host)).toBe(false);
    },
  );
});

describe('settings endpoints (dialler.url, sms.url)', () => {
  const fields = (patch: SettingsPatch) => settingsProblems(mergeSettings(DEFAULT_SETTINGS, patch)).map((p) => p.field);

  it.each(['https://0x7f.0.0.1/dial', 'https://[::ffff:a9fe:a9fe]/dial', 'https://public.example@10.0.0.1/dial', 'https://foo.localhost/dial', 'http://dialler.example.com/dial'])(
    'should refuse the dialler at %s',
    (url) => {
      expect(fields({ dialler: { url } })).toEqual(['dialler.url']);
    },
  );

  it('should refuse an SMS provider URL that carries credentials', () => {
    expect(fields({ sms: { url: 'https://acct:token@sms.example.com/send' } })).toEqual(['sms.url']);
  });

  it('should refuse an allowHttpHosts entry that only looks like the allowed host', () => {
    expect(fields({ dialler: { url: 'http://dialler.internal.evil.com/dial' }, webhooks: { allowHttpHosts: ['dialler.internal'] } })).toEqual(['dialler.url']);
    expect(fields({ dialler: { url: 'http://dialler.internal/dial' }, webhooks: { allowHttpHosts: ['dialler.internal'] } })).toEqual([]);
  });
});
