export { checkLimits, GlobalLimits, type RateLimits, TorrentLimits } from './limits.js';
export { Throttle } from './throttle.js';
export { BURST_SECONDS, BucketChain, MIN_BURST, TokenBucket } from './token-bucket.js';
