import { Injectable } from '@nestjs/common';
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';

/** Every address a host resolves to (an IP literal resolves to itself). A provider so tests can stand in for DNS. */
@Injectable()
export class HostResolver {
  async resolve(host: string): Promise<LookupAddress[]> {
    if (isIPv4(host)) return [{ address: host, family: 4 }];
    if (isIPv6(host)) return [{ address: host, family: 6 }];
    return lookup(host, { all: true, verbatim: true });
  }
}
