/**
 * Bearer-token authentication of the admin API, and the rule that keeps an
 * unauthenticated API off the network.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { ConfigError } from '@rfw/core';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/**
 * Throws `ConfigError` when the API would listen beyond loopback with no
 * token, or with a token too short to resist guessing.
 */
export function checkExposure(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < 16)
    throw new ConfigError('ADMIN_TOKEN', 'must be at least 16 characters');
  if (token === undefined && !isLoopback(host))
    throw new ConfigError(
      'ADMIN_TOKEN',
      `is required to listen on ${host}: without a token the admin API only listens on a loopback address`,
    );
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** A constant-time check of `Authorization: Bearer <token>`. */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  const want = digest(token);
  return (header) => {
    if (!header) return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return false;
    return timingSafeEqual(digest(m[1] as string), want);
  };
}
