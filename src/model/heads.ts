/** ActionCLIP's post-network temporal heads, by name; each one's layout and implementations live in src/heads/. */
export { HEAD_NAMES, headChoices, parseHeadName, type HeadName } from '../heads/registry.js';
