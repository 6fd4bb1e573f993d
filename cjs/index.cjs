// `require('flight-runner')`: the package is ES modules, and this hands a CommonJS caller
// (a runner in a "type": "commonjs" project, compiled to require() by tsx) the very module
// instance the ES side loaded, so there is one Tensor class, not two. TypeScript loaders
// compile a required ES module into a second copy, so it is not required again when an
// instance exists. Otherwise Node's require(esm) loads it (Node 20.19+, 22.12+).
'use strict';

const loaded = globalThis[Symbol.for('flight-runner')];
if (loaded) {
  module.exports = loaded;
} else {
  try {
    module.exports = require('../dist/src/index.js');
  } catch (err) {
    if (err && err.code === 'ERR_REQUIRE_ESM') {
      throw new Error('flight-runner is an ES module: require() of it needs Node.js 20.19+ or 22.12+; or use import', { cause: err });
    }
    throw err;
  }
}
