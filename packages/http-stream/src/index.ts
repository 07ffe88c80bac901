export { LengthMismatchError } from './body.js';
export { evaluatePreconditions, formatEtag, ifRangeHolds } from './conditional.js';
export { contentTypeFor, isMedia } from './content-type.js';
export { allowedOrigin, installCors } from './cors.js';
export { crossSiteAllowed, crossSiteGuard, type FetchMetadata } from './cross-site.js';
export {
  ERROR_STATUS,
  type ErrorBody,
  type ErrorCode,
  type HttpProblem,
  problem,
  SourceNotReady,
} from './errors.js';
export {
  hostGuard,
  hostnameOf,
  isAllowedHost,
  isSameOrigin,
  LOOPBACK_HOSTNAMES,
  normalizeHostname,
} from './host-guard.js';
export { type Body, type FileMeta, planResponse, type RequestMeta, type ResponsePlan } from './plan.js';
export { type ByteRange, coalesce, MAX_RANGE_SPECS, parseRange, type RangeDecision } from './range.js';
export {
  type FileEntry,
  type FileListing,
  playlist,
  type StreamRoutesOptions,
  streamRoutes,
} from './routes.js';
export { buildStreamApp, createStreamServer, type StreamServer, type StreamServerOptions } from './server.js';
export { encodePath, fileUrlPart, MAX_PATH_BYTES, parseFileSelector, parseInfohash } from './target.js';
export type { SeekableFile, StreamSource } from './types.js';
