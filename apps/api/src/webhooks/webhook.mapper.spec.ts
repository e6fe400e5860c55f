import { keepStoredPassword, maskUrlPassword } from './webhook.mapper';
import { WebhookUrlNotAllowedError } from './webhooks.errors';

describe('keepStoredPassword', () => {
  const withPassword = 'https://hooks:s3cret@crm.example.com/hook';
  const without = 'https://hooks@crm.example.com/hook';

  it('puts the stored password back for the masked URL of the same receiver', () => {
    expect(keepStoredPassword(maskUrlPassword(withPassword), withPassword)).toBe(withPassword);
    expect(keepStoredPassword('https://hooks:****@crm.example.com/v2', withPassword)).toBe(
      'https://hooks:s3cret@crm.example.com/v2',
    );
  });

  it('keeps "no password" when none is stored, never storing the mask as the password', () => {
    expect(keepStoredPassword('https://hooks:****@crm.example.com/hook', without)).toBe(without);
    expect(keepStoredPassword('https://hooks:****@crm.example.com/v2', without)).toBe(
      'https://hooks@crm.example.com/v2',
    );
  });

  it('refuses the mask for another receiver, whether or not a password is stored', () => {
    for (const stored of [withPassword, without])
      expect(() => keepStoredPassword('https://hooks:****@other.example.com/hook', stored)).toThrow(
        WebhookUrlNotAllowedError,
      );
  });

  it('takes a new password, or none, as given', () => {
    expect(keepStoredPassword('https://hooks:new@crm.example.com/hook', withPassword)).toBe(
      'https://hooks:new@crm.example.com/hook',
    );
    expect(keepStoredPassword(without, withPassword)).toBe(without);
  });
});
