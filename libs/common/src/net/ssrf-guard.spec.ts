import {
  AllowList,
  forbiddenReason,
  invalidAllowListEntries,
  parseIPv6,
  resolveAllowedTarget,
  type Resolver,
  UrlNotAllowedError,
} from './ssrf-guard';

describe('invalidAllowListEntries', () => {
  it('names the entries that are neither a host name, an IP nor a CIDR range', () => {
    expect(
      invalidAllowListEntries(
        ' hooks.internal ,127.0.0.1, 10.0.0.0/8,[::1], fd00::/8, a_b.local. ',
      ),
    ).toEqual([]);
    expect(invalidAllowListEntries('10.0.0.0/99, 999.1.1.1/40, bad host, -x.com, ok.com')).toEqual([
      '10.0.0.0/99',
      '999.1.1.1/40',
      'bad host',
      '-x.com',
    ]);
    expect(invalidAllowListEntries(undefined)).toEqual([]);
  });
});

describe('forbiddenReason', () => {
  it.each([
    ['0.0.0.0', 'this-network'],
    ['0.1.2.3', 'this-network'],
    ['10.0.0.1', 'private (RFC 1918)'],
    ['10.255.255.255', 'private (RFC 1918)'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['169.254.169.254', 'link-local / cloud metadata'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.1.10', 'private (RFC 1918)'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.251', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
  ])('refuses IPv4 %s (%s)', (ip, reason) => expect(forbiddenReason(ip)).toBe(reason));

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '169.253.255.255',
    '11.0.0.1',
    '223.255.255.255',
  ])('accepts public IPv4 %s', (ip) => expect(forbiddenReason(ip)).toBeUndefined());

  it.each([
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique local (ULA)'],
    ['fd12:3456:789a::1', 'unique local (ULA)'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local / cloud metadata'],
    ['::ffff:10.1.2.3', 'private (RFC 1918)'],
    ['64:ff9b::a00:1', 'private (RFC 1918)'],
    ['::127.0.0.1', 'loopback'],
    ['2002:7f00:1::1', 'loopback'], // 6to4 of 127.0.0.1
    ['2002:a9fe:a9fe::', 'link-local / cloud metadata'], // 6to4 of 169.254.169.254
    ['2002:c0a8:101:1::5', 'private (RFC 1918)'], // 6to4 of 192.168.1.1
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'documentation'], // Teredo, client 192.0.2.45
    ['2001:0:a00:1:8000:63bf:f7f7:f7f7', 'private (RFC 1918)'], // Teredo, server 10.0.0.1
  ])('refuses IPv6 %s (%s)', (ip, reason) => expect(forbiddenReason(ip)).toBe(reason));

  it.each([
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    'fbff::1',
    '2001:4860:4860::8888',
    '2002:808:808::1', // 6to4 of 8.8.8.8
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7', // Teredo, server 65.54.227.120, client 8.8.8.8
  ])('accepts public IPv6 %s', (ip) => expect(forbiddenReason(ip)).toBeUndefined());

  it('parses IPv6 forms consistently', () => {
    expect(parseIPv6('::1')).toBe(1n);
    expect(parseIPv6('0:0:0:0:0:0:0:1')).toBe(1n);
    expect(parseIPv6('[::ffff:1.2.3.4]')).toBe(parseIPv6('::ffff:102:304'));
    expect(parseIPv6('1::2::3')).toBeUndefined();
    expect(parseIPv6('12345::')).toBeUndefined();
  });
});

describe('resolveAllowedTarget', () => {
  const none = new AllowList(undefined);
  const resolverOf =
    (map: Record<string, string[]>): Resolver =>
    async (host) => {
      const list = map[host];
      if (!list) throw new Error('ENOTFOUND');
      return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
  const dns = resolverOf({
    'hooks.example.com': ['93.184.216.34'],
    'mixed.example.com': ['93.184.216.34', '10.0.0.5'],
    localhost: ['127.0.0.1', '::1'],
    'v6.example.com': ['2606:4700:4700::1111'],
    'meta.example.com': ['169.254.169.254'],
  });
  const refusal = async (url: string, allow = none) => {
    try {
      await resolveAllowedTarget(url, allow, dns);
      return undefined;
    } catch (err) {
      expect(err).toBeInstanceOf(UrlNotAllowedError);
      return err as UrlNotAllowedError;
    }
  };

  it('accepts public hosts and IP literals and returns the checked addresses', async () => {
    await expect(resolveAllowedTarget('https://hooks.example.com/x', none, dns)).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
    await expect(resolveAllowedTarget('http://93.184.216.34:8080/x', none, dns)).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
    await expect(resolveAllowedTarget('http://v6.example.com/x', none, dns)).resolves.toHaveLength(
      1,
    );
    await expect(
      resolveAllowedTarget('http://[2606:4700:4700::1111]/x', none, dns),
    ).resolves.toEqual([{ address: '2606:4700:4700::1111', family: 6 }]);
  });

  it('refuses loopback, private, metadata and mixed answers, naming the address', async () => {
    expect((await refusal('http://localhost:3000/'))?.message).toContain(
      'resolves to 127.0.0.1, a loopback address',
    );
    // An IP on the list exempts URLs naming it, not names resolving to it: the advice says so.
    expect((await refusal('http://localhost:3000/'))?.message).toContain(
      'List the host name localhost in WEBHOOK_ALLOWED_HOSTS',
    );
    expect((await refusal('http://10.0.0.1/'))?.message).toContain(
      'List the IP (or a range holding it) in WEBHOOK_ALLOWED_HOSTS',
    );
    expect((await refusal('http://10.0.0.1/'))?.reason).toBe('forbidden_address');
    expect((await refusal('http://[::1]/'))?.message).toContain('::1 is a loopback address');
    expect((await refusal('http://meta.example.com/latest'))?.message).toContain('cloud metadata');
    expect((await refusal('http://mixed.example.com/'))?.message).toContain('10.0.0.5');
    expect((await refusal('http://[::ffff:127.0.0.1]/'))?.reason).toBe('forbidden_address');
    expect((await refusal('http://0.0.0.0:80/'))?.reason).toBe('forbidden_address');
  });

  it('refuses other protocols, junk and unresolvable hosts', async () => {
    expect((await refusal('ftp://hooks.example.com/'))?.reason).toBe('protocol');
    expect((await refusal('not-a-url'))?.reason).toBe('invalid');
    expect((await refusal('http://nowhere.invalid/'))?.reason).toBe('unresolvable');
  });

  it('honours WEBHOOK_ALLOWED_HOSTS entries: IPs, CIDR ranges and host names', async () => {
    await expect(
      resolveAllowedTarget('http://127.0.0.1:4000/hook', new AllowList('127.0.0.1'), dns),
    ).resolves.toHaveLength(1);
    await expect(
      resolveAllowedTarget(
        'http://10.1.2.3/hook',
        new AllowList('10.0.0.0/8, 192.168.0.0/16'),
        dns,
      ),
    ).resolves.toHaveLength(1);
    await expect(
      resolveAllowedTarget('http://localhost:4000/', new AllowList('LOCALHOST'), dns),
    ).resolves.toEqual([]);
    // An allowed IP exempts URLs naming that IP, not host names that resolve to it.
    expect((await refusal('http://localhost:4000/', new AllowList('127.0.0.1')))?.reason).toBe(
      'forbidden_address',
    );
    expect((await refusal('http://10.0.0.2/', new AllowList('10.0.0.1')))?.reason).toBe(
      'forbidden_address',
    );
  });

  it('re-checks on every call (DNS rebinding: public at creation, private later)', async () => {
    let answer = '93.184.216.34';
    const rebinding: Resolver = async () => [{ address: answer, family: 4 }];
    await expect(
      resolveAllowedTarget('http://rebind.example.com/', none, rebinding),
    ).resolves.toHaveLength(1);
    answer = '127.0.0.1';
    await expect(
      resolveAllowedTarget('http://rebind.example.com/', none, rebinding),
    ).rejects.toThrow(/127\.0\.0\.1, a loopback/);
  });
});
