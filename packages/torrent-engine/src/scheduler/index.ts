// The scheduler: pure request planning and reader-window policy (see docs/design/scheduler.md).
export { planRequests } from './plan.js';
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
