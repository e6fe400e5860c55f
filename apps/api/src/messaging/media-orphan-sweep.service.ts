import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { APP_CONFIG, type AppConfig, PeriodicPass } from '@app/common';
import { MEDIA_STORAGE, type MediaStorage } from './media/media-storage';
import { MediaSweepsRepository, type SweepLease } from './media-sweeps.repository';
import { MessagesRepository } from './messages.repository';

/** Keys whose messages are looked up together. */
const BATCH = 200;
/** Keys one pass looks at, at most; the next pass goes on after the last one. */
const KEYS_PER_PASS = 5_000;
/** A pass's lease, renewed after each batch: a dead instance's pass is taken over after it. */
const LEASE_MS = 5 * 60_000;

/**
 * Deletes stored media that no message holds: bytes a send stored before a crash kept its message
 * from being inserted, those of sends refused before refused sends' media was deleted, or the
 * download of a message removed since (an echo of our send folded into it); and, each pass, what
 * writes a crash cut off left (temp files, GridFS chunks without their file). Only bytes stored more
 * than MEDIA_ORPHAN_GRACE_SECONDS ago, so a send between its media and its message, or a download
 * between its bytes and its message's update, is never touched. At boot and every
 * MEDIA_SWEEP_INTERVAL_SECONDS, one instance at a time (a lease); each pass looks at up to
 * KEYS_PER_PASS keys in key order and the next goes on after the last (from the first key again
 * once past the last), so the whole store is gone through a few thousand keys at a time.
 */
@Injectable()
export class MediaOrphanSweep implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(MediaOrphanSweep.name);
  private readonly passes: PeriodicPass;
  private readonly graceMs: number;

  constructor(
    private readonly sweeps: MediaSweepsRepository,
    private readonly messages: MessagesRepository,
    @Inject(MEDIA_STORAGE) private readonly media: MediaStorage,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.graceMs = config.MEDIA_ORPHAN_GRACE_SECONDS * 1000;
    this.passes = new PeriodicPass(() => this.pass(), config.MEDIA_SWEEP_INTERVAL_SECONDS * 1000);
  }

  onApplicationBootstrap(): void {
    this.passes.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.passes.stop();
  }

  /** One pass; resolves when it is done (also when one is running already). */
  sweep(): Promise<void> {
    return this.passes.run();
  }

  private async pass(): Promise<void> {
    try {
      const lease = await this.sweeps.claim(LEASE_MS);
      if (!lease) return; // another instance's pass is under way
      const { looked, deleted, held } = await this.sweepFrom(lease);
      if (deleted) this.log.warn({ looked, deleted }, 'Deleted stored media that no message holds');
      else this.log.log({ looked }, 'Media sweep found no stored media without its message');
      if (!held) return; // another pass took over
      let unfinished = 0;
      if (!this.passes.stopped) {
        const sweep = await this.media.deleteUnfinishedBefore(
          this.storedBefore(),
          lease.unfinishedCursor,
        );
        unfinished = sweep.deleted;
        lease.unfinishedCursor = sweep.next;
      }
      await this.sweeps.release(lease);
      if (unfinished) this.log.warn({ unfinished }, 'Deleted media writes a crash cut off');
    } catch (err) {
      this.log.error({ err }, 'Media sweep failed; the next pass retries');
    }
  }

  private async sweepFrom(lease: SweepLease) {
    const storedBefore = this.storedBefore();
    let looked = 0;
    let deleted = 0;
    let batch: string[] = [];
    for await (const key of this.media.listStoredBefore(storedBefore, lease.cursor)) {
      batch.push(key);
      if (batch.length < BATCH) continue;
      deleted += await this.deleteUnheld(batch, storedBefore);
      looked += batch.length;
      const cursor = batch.at(-1);
      batch = [];
      if (!(await this.sweeps.advance(lease, cursor, LEASE_MS)))
        return { looked, deleted, held: false }; // another pass took over
      if (looked >= KEYS_PER_PASS || this.passes.stopped) return { looked, deleted, held: true };
    }
    // Past the last key: the next pass starts from the first again.
    deleted += await this.deleteUnheld(batch, storedBefore);
    looked += batch.length;
    const held = await this.sweeps.advance(lease, undefined, LEASE_MS);
    return { looked, deleted, held };
  }

  /** Bytes stored (or a write begun) before this are past the grace period. */
  private storedBefore(): Date {
    return new Date(Date.now() - this.graceMs);
  }

  /** Deletes those of `keys` no message holds (unless stored again since `storedBefore`). */
  private async deleteUnheld(keys: string[], storedBefore: Date): Promise<number> {
    if (!keys.length) return 0;
    const held = await this.messages.mediaKeysHeld(keys);
    let deleted = 0;
    for (const key of keys) {
      if (held.has(key)) continue;
      try {
        if (await this.media.deleteStoredBefore(key, storedBefore)) deleted += 1;
      } catch (err) {
        this.log.warn({ err, mediaKey: key }, 'Could not delete stored media no message holds');
      }
    }
    return deleted;
  }
}
