export { metaFromResume } from './meta.js';
export { isResumeData, ResumeStore } from './store.js';
export type { ResumeData } from './types.js';
