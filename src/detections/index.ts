export * from './schema.js';
export * from './event-tracker.js';
