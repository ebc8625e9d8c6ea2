import { DEFAULT_PRIVATE_NETWORKS, inNetworks, isPublicAddress, parseIPv6, parseNetworks } from './ip-address';

describe(isPublicAddress.name, () => {
  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['93.184.216.34'],
    ['172.15.255.255'], // just below 172.16/12
    ['172.32.0.1'], // just above
    ['100.63.255.255'], // just below CGNAT
    ['100.128.0.0'], // just above
    ['2606:4700:4700::1111'],
    ['2a00:1450:4001:82a::200e'],
    ['::ffff:8.8.8.8'],
    ['64:ff9b::808:808'], // NAT64 of 8.8.8.8
    ['2002:808:808::1'], // 6to4 of 8.8.8.8
  ])('should call %s public', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });

  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this network'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'IETF'],
    ['192.0.2.1', 'documentation'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback in brackets'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:10.1.2.3', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped link-local'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['2002:a00:1::1', '6to4 of 10.0.0.1'],
    ['100::1', 'discard-only'],
    ['2001::1', 'Teredo'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local with a zone'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['4000::1', 'not global unicast'],
    ['not an ip', 'not an address'],
    ['', 'empty'],
    ['256.1.1.1', 'out of range'],
  ])('should not call %s public (%s)', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });
});

describe(parseIPv6.name, () => {
  it('should expand the compressed and IPv4-suffixed forms to 16 bytes', () => {
    expect(parseIPv6('::1')).toEqual([...new Array(15).fill(0), 1]);
    expect(parseIPv6('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(parseIPv6('::1.2.3.4')).toEqual([...new Array(12).fill(0), 1, 2, 3, 4]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    expect(parseIPv6('1::')).toEqual([0, 1, ...new Array(14).fill(0)]);
    expect(parseIPv6('1.2.3.4')).toBeNull();
  });
});

describe(parseNetworks.name, () => {
  it('should read IPv4 and IPv6 networks, comma-separated with spaces, and none', () => {
    expect(parseNetworks(' 10.0.0.0/8 , fd00::/8')).toEqual([
      { bytes: [10, 0, 0, 0], bits: 8 },
      { bytes: [0xfd, ...new Array(15).fill(0)], bits: 8 },
    ]);
    expect(parseNetworks('none')).toEqual([]);
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '::/129', 'ten/8', '10.0.0.0/8/1', '', '10.0.0.0/-1'])('should refuse %j, naming it', (spec) => {
    expect(() => parseNetworks(spec)).toThrow(JSON.stringify(spec.trim()));
  });
});

describe(inNetworks.name, () => {
  const networks = parseNetworks(DEFAULT_PRIVATE_NETWORKS);

  it.each(['10.1.2.3', '172.31.255.255', '192.168.0.1', '100.64.0.1', '127.0.0.1', '::1', 'fd12::1', '::ffff:10.0.0.1', '::ffff:7f00:1', '[::1]'])(
    'should place %s in the default private and loopback networks',
    (ip) => expect(inNetworks(ip, networks)).toBe(true),
  );

  it.each(['169.254.169.254', '::ffff:a9fe:a9fe', 'fe80::1', '172.32.0.1', '8.8.8.8', '2001:db8::1', '224.0.0.1', 'not an ip'])(
    'should leave %s out of them',
    (ip) => expect(inNetworks(ip, networks)).toBe(false),
  );

  it('should match the prefix bit by bit', () => {
    const n = parseNetworks('10.9.128.0/17');
    expect([inNetworks('10.9.128.0', n), inNetworks('10.9.255.255', n), inNetworks('10.9.127.255', n)]).toEqual([true, true, false]);
  });
});

