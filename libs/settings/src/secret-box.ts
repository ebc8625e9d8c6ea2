import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { OrgSettings } from './domain/settings';
import { SettingsEvent, SettingsInitialized, SigningSecretRotated } from './domain/settings.events';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Key {
  readonly id: string;
  readonly bytes: Buffer;
}

/** A stored secret sealed with a key SECRET_KEYS does not list: nothing can be signed with it. */
export class SecretKeyMissingError extends Error {
  constructor(
    readonly orgId: string,
    readonly keyId: string,
  ) {
    super(`the signing secret is sealed with key ${keyId}, which SECRET_KEYS does not list: rotate the signing secret`);
    this.name = 'SecretKeyMissingError';
  }
}

/** The keys of SECRET_KEYS (comma-separated, each the base64 of 32 bytes); a message naming the variable otherwise. */
export function parseSecretKeys(value: string | undefined): Key[] {
  const texts = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return texts.map((text, i) => {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length !== 32 || bytes.toString('base64') !== text) {
      throw new Error(`SECRET_KEYS: key ${i + 1} must be the base64 of 32 bytes (openssl rand -base64 32)`);
    }
    return { id: createHash('sha256').update(bytes).digest('hex').slice(0, 8), bytes };
  });
}

/**
 * Encryption at rest of the secrets the service must be able to read back: the organizations' webhook signing
 * secrets, stored in their settings events and the org_settings read model (API keys are stored hashed, and need not
 * be read back). With SECRET_KEYS set, a secret is written as `enc:v1:<key id>:<base64 of iv, ciphertext, tag>`,
 * AES-256-GCM under the first key, with the organization's id as associated data (a sealed secret copied into another
 * organization's settings does not open); any listed key opens what it sealed, so keys rotate by putting the new one
 * first and dropping the old one once nothing sealed with it is in use (operations.md). Without keys, secrets are
 * written in clear, as before this existed; a secret written in clear is always read as it is.
 *
 * Written here rather than taken from a library: it is node:crypto's AES-GCM with a key list, and the libraries that
 * wrap this (TypeORM column transformers, KMS envelopes) fit neither the event store's JSON payloads nor a deployment
 * without a KMS.
 */
@Injectable()
export class SecretBox {
  private readonly keys: Key[];

  constructor(config: ConfigService) {
    this.keys = parseSecretKeys(config.get<string>('SECRET_KEYS'));
  }

  /** Whether new secrets are written sealed. */
  get sealing(): boolean {
    return this.keys.length > 0;
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  /**
   * The secret as it is to be stored: sealed under the first key (one sealed under another key is sealed again under
   * it, so what a write carries over moves to the new key), or as it is without keys.
   */
  seal(orgId: string, secret: string): string {
    const key = this.keys[0];
    if (!key) return secret;
    if (SecretBox.isSealed(secret)) {
      // under a key no longer listed it stays as it is: a rotation must not need the secret it retires
      if (secret.startsWith(`${PREFIX}${key.id}:`) || !this.opens(secret)) return secret;
      secret = this.open(orgId, secret);
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
    cipher.setAAD(Buffer.from(orgId));
    const body = Buffer.concat([iv, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${key.id}:${body.toString('base64')}`;
  }

  /** Whether SECRET_KEYS lists the key a stored value was sealed with (a value in clear: yes). */
  private opens(stored: string): boolean {
    if (!SecretBox.isSealed(stored)) return true;
    const id = stored.slice(PREFIX.length).split(':')[0];
    return this.keys.some((k) => k.id === id);
  }

  /** The secret a stored value holds. Throws when it was sealed with a key SECRET_KEYS no longer lists, or altered. */
  open(orgId: string, stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const [id, body] = stored.slice(PREFIX.length).split(':');
    const key = this.keys.find((k) => k.id === id);
    if (!key) throw new SecretKeyMissingError(orgId, id);
    const bytes = Buffer.from(body ?? '', 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(orgId));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  }

  /**
   * Settings with their secrets opened. A replaced secret (a rotation's overlap) that does not open is left out: the
   * current one signs alone. A current one that does not open throws for a signer (`unopenable: 'throw'`: it must
   * not sign with anything else), and is shown as a notice to an admin (`'show'`), who can rotate it: reading and
   * changing the settings never need it.
   */
  openSettings<S extends OrgSettings | null>(orgId: string, settings: S, unopenable: 'throw' | 'show' = 'throw'): S {
    if (!settings) return settings;
    const { signingSecret, previousSigningSecret, ...rest } = settings;
    const previous = previousSigningSecret && this.opens(previousSigningSecret.secret) ? { ...previousSigningSecret, secret: this.open(orgId, previousSigningSecret.secret) } : undefined;
    let current = signingSecret;
    if (current !== undefined) {
      if (this.opens(current) || unopenable === 'throw') current = this.open(orgId, current);
      else current = `[sealed with key ${current.slice(PREFIX.length).split(':')[0]}, which SECRET_KEYS does not list: rotate the signing secret]`;
    }
    return { ...rest, ...(current !== undefined && { signingSecret: current }), ...(previous && { previousSigningSecret: previous }) } as S;
  }

  /** Settings events as they are to be stored: the secrets they make or carry sealed (the decider works on either). */
  sealEvents(orgId: string, events: readonly SettingsEvent[]): SettingsEvent[] {
    if (!this.sealing) return [...events];
    return events.map((e): SettingsEvent => {
      switch (e.type) {
        case SettingsInitialized:
          return { type: e.type, data: { ...e.data, settings: { ...e.data.settings, signingSecret: this.seal(orgId, e.data.settings.signingSecret) } } };
        case SigningSecretRotated: {
          const { signingSecret, previousSigningSecret } = e.data;
          return {
            type: e.type,
            data: {
              ...e.data,
              signingSecret: this.seal(orgId, signingSecret),
              ...(previousSigningSecret && { previousSigningSecret: { ...previousSigningSecret, secret: this.seal(orgId, previousSigningSecret.secret) } }),
            },
          };
        }
        default:
          return e;
      }
    });
  }
}
