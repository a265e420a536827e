export * from './sliding-windows.js';
