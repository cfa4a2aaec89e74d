// Cloud Storage bucket naming rules, checked before any request so that a stage-out URI with a path, or a
// name the service would reject, fails with a message that says what is wrong.

const ALLOWED = /^[a-z0-9][a-z0-9._-]*[a-z0-9]$/;
const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Returns why `name` is not a valid bucket name, or undefined when it is. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.includes('/')) return 'a bucket name has no path: pass only the part between gs:// and the next /';
  if (name.length < 3) return 'a bucket name has at least 3 characters';
  if (!ALLOWED.test(name)) {
    return 'a bucket name has only lowercase letters, digits, "-", "_" and ".", and starts and ends with a letter or digit';
  }
  if (!name.includes('.') && name.length > 63) return 'a bucket name without dots has at most 63 characters';
  if (name.length > 222) return 'a bucket name has at most 222 characters';
  if (name.split('.').some((part) => part.length === 0 || part.length > 63)) {
    return 'each dot-separated part of a bucket name has 1 to 63 characters';
  }
  if (IP_ADDRESS.test(name)) return 'a bucket name is not an IP address';
  if (name.startsWith('goog')) return 'a bucket name does not start with "goog"';
  return undefined;
}
