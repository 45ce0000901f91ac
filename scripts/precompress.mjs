// Writes FILE.br and FILE.gz beside each built browser bundle, so that the server sends them as
// they are to clients that accept them (@fastify/static `preCompressed`) instead of compressing
// the same bytes again on every request.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** Compresses each file at the highest levels: done once per build, read many times. */
export async function precompress(files) {
  await Promise.all(
    files.map(async (file) => {
      const bytes = await readFile(file);
      const [br, gzipped] = await Promise.all([
        brotli(bytes, {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
            [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
            [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
          },
        }),
        gz(bytes, { level: constants.Z_BEST_COMPRESSION }),
      ]);
      await Promise.all([writeFile(`${file}.br`, br), writeFile(`${file}.gz`, gzipped)]);
    }),
  );
}

/**
 * The bundles esbuild wrote (from its metafile): the files browsers load. Their source maps are
 * left as they are: only devtools fetch them, and compressed copies would add a megabyte of
 * incompressible bytes to each npm tarball.
 */
export function outputsOf(results, dir) {
  return results
    .flatMap((r) => Object.keys(r.metafile.outputs))
    .filter((f) => !f.endsWith('.map'))
    .map((f) => join(dir, f));
}
