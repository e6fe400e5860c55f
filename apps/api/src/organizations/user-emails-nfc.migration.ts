import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { UsersRepository } from './organizations.repository';

/**
 * Emails are compared in Unicode NFC (trimEmail, at register, invite and login); an account registered
 * before with a decomposed accent (`jose\u0301@…`) would no longer match its own login, and its
 * address could be registered again. At boot, before the API answers, such stored emails are
 * rewritten in NFC. Only non-ASCII emails are read, so a run that finds nothing costs one scan of
 * a few rows; several instances may run it at once.
 */
@Injectable()
export class UserEmailsNfcMigration implements OnApplicationBootstrap {
  private readonly log = new Logger(UserEmailsNfcMigration.name);

  constructor(private readonly users: UsersRepository) {}

  async onApplicationBootstrap(): Promise<void> {
    const { changed, clashes } = await this.users.normalizeEmailsToNfc();
    if (changed) this.log.log(`Rewrote ${changed} user emails in Unicode NFC`);
    for (const email of clashes)
      this.log.warn(
        `Two accounts hold ${email} in different Unicode forms; the decomposed one was left as it is`,
      );
  }
}
