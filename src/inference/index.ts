export * from './stats.js';
export * from './frame-queue.js';
export * from './frame-batcher.js';
export * from './window-fuser.js';
export * from './vocabulary.js';
export * from './scorer.js';
export * from './micro-batcher.js';
