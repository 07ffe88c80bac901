export {
  CHOKE_INTERVAL_MS,
  type ChokeCandidate,
  type ChokeDecision,
  chooseUnchoked,
  NEWCOMER_MS,
  OPTIMISTIC_INTERVAL_MS,
  UNCHOKE_SLOTS,
} from './choker.js';
