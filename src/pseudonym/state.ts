/**
 * Per-incident local state: the fingerprint key and the encrypted unmask map.
 *
 * Layout (every folder mode 0700, every file mode 0600):
 *
 *   <state>/incidents/<sid>/key      32 random bytes: the incident's HMAC key (tokens, pseudonyms)
 *   <state>/incidents/<sid>/map.enc  the value map, AES-256-GCM (see {@link encryptMap})
 *
 * `<sid>` is a hash of the incident id, so folder names reveal nothing about incident names. The
 * state folder must lie outside every input and output (archive checks that): it is the one place
 * that can turn a token back into a value. This module never touches `process`: the default
 * location is computed from an environment passed in by the CLI.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** Bytes of an incident key. */
export const INCIDENT_KEY_BYTES = 32;
const MAGIC = Buffer.from('ALISCRUB-MAP1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Default state folder: `$XDG_STATE_HOME/aliscrub`, else `$HOME/.local/state/aliscrub`.
 * @param env the environment (the CLI passes its own; this module never reads `process`).
 * @throws UsageError when neither variable is set (then `--state DIR` is required).
 */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env['XDG_STATE_HOME'];
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'aliscrub');
  const home = env['HOME'];
  if (home && path.isAbsolute(home)) return path.join(home, '.local', 'state', 'aliscrub');
  throw new UsageError('--state: neither XDG_STATE_HOME nor HOME is set; name the state folder with --state DIR');
}

/** Folder name of an incident's state: a hash of its id (no incident name appears on disk). */
export function stateId(incident: string): string {
  return createHash('sha256').update('aliscrub-incident-v1\0').update(incident, 'utf8').digest('hex').slice(0, 32);
}

/** Contents of an incident's map (decrypted). */
export interface MapData {
  /** Replacement text (typed token or pseudonym) → original value, base64 of its bytes. */
  readonly entries: ReadonlyMap<string, string>;
  /**
   * Fingerprints whose shape-preserving pseudonym collided with another value's: they get typed
   * tokens instead (decided once, kept here, so reruns stay byte-identical).
   */
  readonly demoted: ReadonlySet<string>;
}

/** The map key: derived from the incident key, so `forget` (deleting the key) makes the map unreadable too. */
function mapKey(key: Buffer, sid: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.from(sid), Buffer.from('aliscrub unmask map v1'), 32));
}

/**
 * Serialises and encrypts a map: `ALISCRUB-MAP1 ‖ iv(12) ‖ tag(16) ‖ AES-256-GCM(JSON)`, with the
 * magic and the incident's state id as associated data (a map copied to another incident fails).
 */
export function encryptMap(data: MapData, key: Buffer, sid: string): Buffer {
  const plain = Buffer.from(
    JSON.stringify({
      entries: [...data.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      demoted: [...data.demoted].sort(),
    }),
  );
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', mapKey(key, sid), iv);
  c.setAAD(Buffer.concat([MAGIC, Buffer.from(sid)]));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([MAGIC, iv, c.getAuthTag(), body]);
}

/** Decrypts a map written by {@link encryptMap}. @throws UsageError when it is damaged or under another key. */
export function decryptMap(blob: Buffer, key: Buffer, sid: string): MapData {
  if (blob.length < MAGIC.length + IV_BYTES + TAG_BYTES || !blob.subarray(0, MAGIC.length).equals(MAGIC)) throw new UsageError('the incident map is not an aliscrub map');
  const iv = blob.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
  const tag = blob.subarray(MAGIC.length + IV_BYTES, MAGIC.length + IV_BYTES + TAG_BYTES);
  const d = createDecipheriv('aes-256-gcm', mapKey(key, sid), iv);
  d.setAAD(Buffer.concat([MAGIC, Buffer.from(sid)]));
  d.setAuthTag(tag);
  let plain: Buffer;
  try {
    plain = Buffer.concat([d.update(blob.subarray(MAGIC.length + IV_BYTES + TAG_BYTES)), d.final()]);
  } catch {
    throw new UsageError('the incident map cannot be decrypted with its key (damaged, or from another incident)');
  }
  const parsed = JSON.parse(plain.toString('utf8')) as { entries: Array<[string, string]>; demoted: string[] };
  return { entries: new Map(parsed.entries), demoted: new Set(parsed.demoted) };
}

/** Writes `data` to `file` with mode 0600 through a temporary name and a rename. */
async function writePrivate(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * One incident's key and map. Open with {@link IncidentState.open}; change the map through
 * {@link IncidentState.entries}/{@link IncidentState.demoted}, then {@link IncidentState.save}.
 */
export class IncidentState {
  private constructor(
    /** Absolute path of the incident's state folder. */
    readonly dir: string,
    /** Hashed incident id (the folder name). */
    readonly sid: string,
    /** The incident's HMAC key: tokens and pseudonyms are keyed by it. Never written anywhere else. */
    readonly key: Buffer,
    /** Replacement → base64 of the original value. */
    readonly entries: Map<string, string>,
    /** Fingerprints that get typed tokens instead of pseudonyms (collisions). */
    readonly demoted: Set<string>,
    /** Whether the key was made by this open. */
    readonly created: boolean,
  ) {}

  /**
   * Opens an incident's state.
   * @param stateDir the state folder (created with mode 0700 when `create`)
   * @param incident the incident id (folder or archive name)
   * @param create make a key when there is none; otherwise return undefined
   */
  static async open(stateDir: string, incident: string, create: boolean): Promise<IncidentState | undefined> {
    const sid = stateId(incident);
    const dir = path.join(stateDir, 'incidents', sid);
    const keyFile = path.join(dir, 'key');
    let key: Buffer;
    let created = false;
    if (await isFile(keyFile)) {
      key = await readFile(keyFile);
      if (key.length !== INCIDENT_KEY_BYTES) throw new UsageError(`--state: the key of incident state ${sid} is damaged (${key.length} bytes)`);
    } else {
      if (!create) return undefined;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(stateDir, 0o700).catch(() => {});
      key = randomBytes(INCIDENT_KEY_BYTES);
      try {
        const fh = await open(keyFile, 'wx', 0o600);
        try {
          await fh.writeFile(key);
          await fh.sync();
        } finally {
          await fh.close();
        }
        created = true;
      } catch (err) {
        // Made by a concurrent run in the meantime: use that one.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        key = await readFile(keyFile);
      }
    }
    const mapFile = path.join(dir, 'map.enc');
    let data: MapData = { entries: new Map(), demoted: new Set() };
    if (await isFile(mapFile)) data = decryptMap(await readFile(mapFile), key, sid);
    return new IncidentState(dir, sid, key, new Map(data.entries), new Set(data.demoted), created);
  }

  /** Whether a map file exists (unmask refuses without one). */
  async hasMap(): Promise<boolean> {
    return isFile(path.join(this.dir, 'map.enc'));
  }

  /** A short check value of the key (HMAC of a constant): changes when the key is replaced; reveals nothing. */
  keyCheck(): string {
    return createHmac('sha256', this.key).update('aliscrub key check').digest('hex').slice(0, 16);
  }

  /** Encrypts and writes the map (mode 0600, atomically). */
  async save(): Promise<void> {
    await writePrivate(path.join(this.dir, 'map.enc'), encryptMap({ entries: this.entries, demoted: this.demoted }, this.key, this.sid));
  }
}

/**
 * Deletes an incident's key and map (`aliscrub forget`). Tokens in bundles made with it can no
 * longer be unmasked, and a rerun makes a new key (new tokens).
 * @returns true when there was state to delete.
 */
export async function forgetIncident(stateDir: string, incident: string): Promise<boolean> {
  const dir = path.join(stateDir, 'incidents', stateId(incident));
  const had = await stat(dir).then(
    () => true,
    () => false,
  );
  await rm(dir, { recursive: true, force: true });
  return had;
}
