/**
 * The task as the model reads it: repo, ref, problem statement, install
 * command and the deciding tests, filled into prompts.md's templates.
 */
import type { Task } from '../core/types.js';
import { isInstanceTask } from '../task/instances.js';
import { pytestCommand } from '../testing/pytest.js';
import type { Prompts } from './prompts.js';

/** The task as the model reads it. */
export function instancePrompt(prompts: Prompts, task: Task, maxTurns: number): string {
  const common = {
    task_id: task.task_id,
    ref: task.ref,
    problem: task.problem_statement ? prompts.fill('problem', { problem_statement: task.problem_statement }) : prompts.fill('no_problem'),
    install: task.install ?? '(none)',
    max_turns: maxTurns,
  };
  if (isInstanceTask(task)) {
    // The deciding tests are hidden: name the files they will be added to, not a command.
    const test_files = task.tests.length ? task.tests.join(', ') : 'the test suite';
    return prompts.fill('swebench_instance', { ...common, repo: task.instance_repo, test_files });
  }
  const sel = { k: task.pytest_k, tests: task.tests };
  const where = sel.tests.length ? sel.tests.join(', ') : 'the whole test suite (pytest discovery from the repository root)';
  const deciding = sel.k ? `the tests of ${where} selected by -k ${JSON.stringify(sel.k)}` : where;
  return prompts.fill('instance', { ...common, repo: task.repo, deciding, pytest_command: pytestCommand(sel).map(shellQuote).join(' ') });
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
