// The scheduler: pure request planning and reader-window policy (see docs/design/scheduler.md).
export { availabilityOf } from './availability.js';
export {
  DEFAULT_BYTES_PER_SECOND,
  estimateBytesPerSecond,
  GUESSED_DURATION_SECONDS,
  MIN_BYTES_PER_SECOND,
  VBR_HEADROOM,
} from './bitrate.js';
export {
  budgetTotal,
  divideBudget,
  outstandingFor,
  STREAM_HEADROOM,
  type TorrentDemand,
} from './budget.js';
export { DEFAULT_PLAN_OPTIONS } from './options.js';
export { firstRoundTripDepth, pipelineDepth } from './peers.js';
export { planRequests } from './plan.js';
export {
  type FileSpan,
  PRIME_CAP_BYTES,
  PRIME_FLOOR_BYTES,
  PRIME_FRACTION,
  primePieces,
  primeRanges,
  primeReaders,
  primeSize,
} from './prime.js';
export { READAHEAD_DEFAULTS, type ReadaheadOptions, ReadaheadWindow } from './readahead.js';
export type {
  InFlightRequest,
  PeerState,
  PieceBits,
  PlannedCancel,
  PlannedRequest,
  PlanOptions,
  ReaderState,
  RequestPlan,
  SchedulerSnapshot,
} from './types.js';
