// archiver-zip-encrypted ships no types. Only what bench/zip.ts and bench/zip-memory.ts use: the
// format module they register with archiver, and the options it adds to archiver's.
declare module 'archiver-zip-encrypted' {
  import type { ArchiverOptions } from 'archiver';

  namespace zipEncrypted {
    interface Options extends ArchiverOptions {
      password: string | Buffer;
      /** 'zip20' is ZipCrypto. */
      encryptionMethod: 'aes256' | 'zip20';
    }
  }
  function zipEncrypted(options: zipEncrypted.Options): unknown;
  export = zipEncrypted;
}
