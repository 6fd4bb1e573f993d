/** The backend contract for the js backend: the test runners and the example runners. */
import { backendContract } from './backend-contract.js';

backendContract('js', [
  {
    title: 'test/helpers/runners.ts',
    target: 'test/helpers/runners.ts',
    runners: ['tensors', 'values', 'tables', 'misc', 'bulk'],
    // These fail on purpose (the runner contract checks how).
    skip: ['misc.explode', 'misc.short'],
  },
  { title: 'examples/runners/loan-scorer.ts', target: 'examples/runners/loan-scorer.ts', runners: ['loan_scorer'] },
  { title: 'examples/runners/text-tools.ts', target: 'examples/runners/text-tools.ts', runners: ['text_tools'] },
]);
