/**
 * DNS-rebinding guard for the control API: @dream/http-stream's Host parsing and loopback names
 * (one rule for every Dream server), answered in the control API's own error shape.
 */
import { isAllowedHost, LOOPBACK_HOSTNAMES, normalizeHostname } from '@dream/http-stream';

export function allowedHostnames(bindHost: string): Set<string> {
  const names = new Set<string>(LOOPBACK_HOSTNAMES);
  if (bindHost && bindHost !== '0.0.0.0' && bindHost !== '::') names.add(normalizeHostname(bindHost));
  return names;
}

export function hostAllowed(host: string | undefined, allowed: ReadonlySet<string>): boolean {
  return isAllowedHost(host, allowed);
}
