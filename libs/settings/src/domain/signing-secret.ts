import { randomBytes } from 'node:crypto';

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export const generateSigningSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export const SIGNING_SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;
