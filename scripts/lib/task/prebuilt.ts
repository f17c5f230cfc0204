/**
 * Prebuilt instance images (SWE-bench's `sweb.eval.*`, SWE-Gym, SWE-rebench,
 * R2E-Gym): which image an instance runs in, and the layout the run expects
 * there — the repository at base_commit in a work dir, installed in an env a
 * shell prelude enters. Pure: the engine and the stages live elsewhere.
 */
import { HarnessError } from '../core/errors.js';
import type { Instance, InstanceTask, PrebuiltLayout } from './instances.js';
import type { EnvSpec } from './specs.js';

export type { PrebuiltLayout } from './instances.js';

/** SWE-bench's layout, used when a spec names none. */
export const SWEBENCH_LAYOUT: PrebuiltLayout = {
  workdir: '/testbed',
  env_prelude: 'source /opt/miniconda3/bin/activate && conda activate testbed',
};

/** SWE-bench's published per-instance image names (`--image-template swebench`). */
export const SWEBENCH_TEMPLATE = 'swebench/sweb.eval.x86_64.{id_1776_lower}:latest';
/** Template names usable in place of a template. */
export const NAMED_TEMPLATES: Record<string, string> = { swebench: SWEBENCH_TEMPLATE };

/** Placeholders of an image template and what each becomes for an instance. */
export const TEMPLATE_PLACEHOLDERS: Record<string, (inst: Instance) => string> = {
  id: (i) => i.instance_id,
  id_1776: (i) => i.instance_id.replaceAll('__', '_1776_'),
  // SWE-bench lower-cases the id in its image names (docker repositories must be lower case).
  id_1776_lower: (i) => i.instance_id.replaceAll('__', '_1776_').toLowerCase(),
  owner: (i) => i.repo.split('/')[0]!,
  name: (i) => i.repo.split('/')[1]!,
  version: (i) => i.version ?? '',
};

/**
 * A template as given (`swebench`, or text with `{placeholders}`), checked.
 * @throws HarnessError('usage') for an unknown placeholder or an unclosed brace.
 */
export function checkTemplate(template: string): string {
  const t = NAMED_TEMPLATES[template] ?? template;
  if (!t.trim() || /\s/.test(t) || t.startsWith('-')) throw new HarnessError('usage', `--image-template must be "swebench" or an image name with {placeholders}, got "${template}"`);
  const stripped = t.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, key: string) => {
    if (!(key in TEMPLATE_PLACEHOLDERS)) {
      throw new HarnessError('usage', `--image-template: unknown placeholder ${whole}; known: ${Object.keys(TEMPLATE_PLACEHOLDERS).map((k) => `{${k}}`).join(', ')}`);
    }
    return '';
  });
  if (/[{}]/.test(stripped)) throw new HarnessError('usage', `--image-template: unbalanced brace in "${template}"`);
  return t;
}

/** The image name a template gives for an instance. */
export function imageFromTemplate(template: string, inst: Instance): string {
  return checkTemplate(template).replace(/\{([A-Za-z0-9_]+)\}/g, (_, key: string) => TEMPLATE_PLACEHOLDERS[key]!(inst));
}

/** How the prebuilt mode was asked for: a template, or null for the row's image (else SWE-bench's rule). */
export interface PrebuiltMode {
  template: string | null;
}

/**
 * The task in prebuilt mode: its image is the template's (when given), else
 * the row's `image_name`/`docker_image`, else SWE-bench's; its layout is the
 * spec's `workdir`/`env_prelude`, else SWE-bench's.
 */
export function prebuiltTask(task: InstanceTask, inst: Instance, spec: EnvSpec | null, mode: PrebuiltMode): InstanceTask {
  const image = mode.template ? imageFromTemplate(mode.template, inst) : (inst.image ?? imageFromTemplate(SWEBENCH_TEMPLATE, inst));
  const layout: PrebuiltLayout = {
    workdir: spec?.workdir ?? SWEBENCH_LAYOUT.workdir,
    env_prelude: spec?.env_prelude ?? SWEBENCH_LAYOUT.env_prelude,
  };
  return { ...task, image, prebuilt: layout };
}
