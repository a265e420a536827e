/**
 * ActionCLIP's prompt templates (text_prompt() in the original code) and their expansion over a
 * label vocabulary. Test-time scoring averages the 16 templates per label, so the order here
 * decides how `[templates × labels]` logits are reshaped: keep it template-major.
 */
import { ConfigError } from '../errors.js';

export const PLACEHOLDER = '{}';

/** The 16 ActionCLIP templates, in the original order; `{}` marks the label. */
export const ACTIONCLIP_TEMPLATES: readonly string[] = Object.freeze([
  'a photo of action {}',
  'a picture of action {}',
  'Human action of {}',
  '{}, an action',
  '{} this is an action',
  '{}, a video of action',
  'Playing action of {}',
  '{}',
  'Playing a kind of action, {}',
  'Doing a kind of action, {}',
  'Look, the human is {}',
  'Can you recognize the action of {}?',
  'Video classification of {}',
  'A video of {}',
  'The man is {}',
  'The woman is {}',
]);

/** Throws a ConfigError unless every template contains the `{}` placeholder. */
export function validateTemplates(templates: readonly string[]): void {
  if (templates.length === 0) throw new ConfigError('prompt templates: at least one template is required');
  templates.forEach((t, i) => {
    if (typeof t !== 'string' || !t.includes(PLACEHOLDER)) {
      throw new ConfigError(`prompt template ${i} (${JSON.stringify(t)}) has no "${PLACEHOLDER}" placeholder for the label`);
    }
  });
}

/** Throws a ConfigError for an empty label list or an empty/blank label. */
export function validateLabels(labels: readonly string[]): void {
  if (labels.length === 0) throw new ConfigError('labels: at least one label is required');
  labels.forEach((l, i) => {
    if (typeof l !== 'string' || l.trim() === '') throw new ConfigError(`label ${i} is empty`);
  });
}

/** Fills a template; every `{}` is replaced (split/join, so `$` patterns in labels stay literal). */
export function applyTemplate(template: string, label: string): string {
  return template.split(PLACEHOLDER).join(label);
}

/**
 * All prompts, template-major: prompt `i` is template `i / L` (integer division) applied to label
 * `i % L`, for `L` labels, as ActionCLIP builds its text batch.
 */
export function expandPrompts(labels: readonly string[], templates: readonly string[] = ACTIONCLIP_TEMPLATES): string[] {
  validateLabels(labels);
  validateTemplates(templates);
  const out: string[] = [];
  for (const t of templates) for (const l of labels) out.push(applyTemplate(t, l));
  return out;
}
