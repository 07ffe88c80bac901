// The media rate of a stream, in bytes per second: what turns a byte position into a deadline and
// readahead seconds into bytes. Overestimating is the safe error (a bigger window, tighter
// deadlines); underestimating stalls playback. See docs/design/scheduler.md ("Numbers").

/** 8.4 Mbit/s: a 1080p H.264 stream; used when nothing better is known. */
export const DEFAULT_BYTES_PER_SECOND = 1024 * 1024;
/** Feature length. Dividing a size by the longest common duration gives the lowest plausible rate. */
export const GUESSED_DURATION_SECONDS = 2 * 60 * 60;
/** Variable bit rate: peaks above the average. */
export const VBR_HEADROOM = 1.25;
/** Below this a "duration" is probably wrong (an audio-only stream at 256 kbit/s is 32 KB/s). */
export const MIN_BYTES_PER_SECOND = 32 * 1024;

export function estimateBytesPerSecond(file: { length?: number; durationSeconds?: number }): number {
  const { length, durationSeconds } = file;
  if (length !== undefined && length > 0 && durationSeconds !== undefined && durationSeconds > 0)
    return Math.max(MIN_BYTES_PER_SECOND, (length / durationSeconds) * VBR_HEADROOM);
  if (length !== undefined && length > 0)
    return Math.max(DEFAULT_BYTES_PER_SECOND, length / GUESSED_DURATION_SECONDS);
  return DEFAULT_BYTES_PER_SECOND;
}
