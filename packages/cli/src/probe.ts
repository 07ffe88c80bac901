/** Duration and codec of a video, from ffprobe when it is installed (optional catalog fields). */
import { execFile } from 'node:child_process';
import { findExecutable } from './player.js';

export interface MediaInfo {
  durationSeconds?: number;
  codec?: string;
}

export function probeMedia(path: string): Promise<MediaInfo> {
  const exe = findExecutable('ffprobe');
  if (!exe) return Promise.resolve({});
  return new Promise((resolve) => {
    execFile(
      exe,
      ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', path],
      { timeout: 15_000, maxBuffer: 1024 * 1024 },
      (err, stdout) => {
        if (err) return resolve({});
        try {
          const info = JSON.parse(stdout) as {
            format?: { duration?: string };
            streams?: { codec_type?: string; codec_name?: string }[];
          };
          const out: MediaInfo = {};
          const d = Number(info.format?.duration);
          if (Number.isFinite(d) && d > 0) out.durationSeconds = Math.round(d * 1000) / 1000;
          const video = info.streams?.find((s) => s.codec_type === 'video')?.codec_name;
          if (video) out.codec = video;
          resolve(out);
        } catch {
          resolve({});
        }
      },
    );
  });
}
