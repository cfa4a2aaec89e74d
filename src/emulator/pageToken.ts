// Page tokens of the emulator's listings (Batch's and Logging's): opaque to clients, bound to the listing
// they continue, and refused with INVALID_ARGUMENT when malformed or brought to another listing.
import { createHash } from 'node:crypto';
import { invalid } from './apiError.js';

export const badToken = () => invalid('page_token is invalid');

export function encodeToken(token: object): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

/** The token's content when `valid` accepts it and it continues `listing`; INVALID_ARGUMENT otherwise. */
export function decodeToken<T extends { listing: string }>(
  text: string,
  listing: string,
  valid: (token: Partial<T>) => boolean,
): T {
  let token: unknown;
  try {
    token = JSON.parse(Buffer.from(text, 'base64url').toString());
  } catch {
    throw badToken();
  }
  const t = token as Partial<T> | null;
  if (t === null || typeof t !== 'object' || t.listing !== listing || !valid(t)) throw badToken();
  return t as T;
}

/** A short digest of what a listing is (method, parent or resources, filter, order). */
export function listingKey(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}
