import fs from 'node:fs/promises';
import {
  StorageError,
  StorageFullError,
  StorageUnavailableError,
  UnavailableReason,
} from './errors.js';
import { errnoCode } from './file-layout.js';

/**
 * Maps an fs error of node `id` (directory `root`) to a typed storage error, keeping it as
 * `cause`: ENOSPC/EDQUOT -> StorageFullError; EACCES/EPERM, EROFS, EIO -> StorageUnavailableError;
 * ENOENT/ENOTDIR -> StorageUnavailableError only when the root itself is gone. Others pass through.
 */
export async function mapFsError(id: string, root: string, err: unknown): Promise<unknown> {
  if (err instanceof StorageError) return err;
  const code = errnoCode(err);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StorageFullError(id, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new StorageUnavailableError(
        id,
        UnavailableReason.AccessDenied,
        `permission denied under ${root}`,
        { cause: err },
      );
    case 'EROFS':
      return new StorageUnavailableError(id, UnavailableReason.ReadOnly, `${root} is read-only`, {
        cause: err,
      });
    case 'EIO':
      return new StorageUnavailableError(id, UnavailableReason.Io, `I/O error under ${root}`, {
        cause: err,
      });
    case 'ENOENT':
    case 'ENOTDIR': {
      const rootOk = await fs.stat(root).then(
        (st) => st.isDirectory(),
        () => false,
      );
      if (!rootOk) {
        return new StorageUnavailableError(id, UnavailableReason.Missing, `${root} is missing`, {
          cause: err,
        });
      }
      return err;
    }
    default:
      return err;
  }
}
