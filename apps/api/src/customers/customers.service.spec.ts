import { EventEmitter2 } from '@nestjs/event-emitter';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Types } from 'mongoose';
import { CustomerLinkFollowsRepository } from './customer-link-follows.repository';
import { CustomerNotFoundError } from './customers.errors';
import { CUSTOMERS_EVENTS } from './customers.events';
import { CustomersRepository } from './customers.repository';
import { CustomersService } from './customers.service';

describe('CustomersService', () => {
  const repo = {
    create: vi.fn(),
    findOwned: vi.fn(),
    findByPhone: vi.fn(),
    findByPhones: vi.fn(),
    list: vi.fn(),
    updateOwned: vi.fn(),
    deleteOwned: vi.fn(),
  };
  const follows = { open: vi.fn(), close: vi.fn() };
  const events = { emitAsync: vi.fn() };
  let service: CustomersService;

  beforeEach(async () => {
    vi.resetAllMocks();
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    events.emitAsync.mockResolvedValue([]);
    follows.open.mockResolvedValue('note1');
    repo.create.mockImplementation(async (input) => ({
      _id: new Types.ObjectId(),
      ...input,
      createdAt: new Date(),
      updatedAt: new Date(),
    }));
    const moduleRef = await Test.createTestingModule({
      providers: [
        CustomersService,
        { provide: CustomersRepository, useValue: repo },
        { provide: CustomerLinkFollowsRepository, useValue: follows },
        { provide: EventEmitter2, useValue: events },
      ],
    }).compile();
    service = moduleRef.get(CustomersService);
  });

  it('normalizes the phone, lower-cases the email and announces the new customer, noted first', async () => {
    const customer = await service.create('org1', {
      name: 'Mona',
      phone: '+20 100 123 4567',
      email: 'Mona@Example.COM',
    });
    expect(repo.create).toHaveBeenCalledWith({
      _id: customer._id,
      organizationId: 'org1',
      name: 'Mona',
      phone: '201001234567',
      phoneInput: '+20 100 123 4567',
      email: 'mona@example.com',
    });
    expect(events.emitAsync).toHaveBeenCalledWith(CUSTOMERS_EVENTS.created, {
      customer: {
        id: String(customer._id),
        organizationId: 'org1',
        name: 'Mona',
        phone: '201001234567',
        email: 'mona@example.com',
      },
      note: { id: 'note1' },
    });
    expect(follows.open).toHaveBeenCalledWith(
      expect.objectContaining({ id: String(customer._id), phone: '201001234567' }),
    );
    expect(follows.close).toHaveBeenCalledWith('note1');
  });

  it('still creates the customer when a listener fails, keeping the note for the recovery', async () => {
    events.emitAsync.mockRejectedValue(new Error('listener down'));
    await expect(
      service.create('org1', { name: 'Mona', phone: '+201001234567' }),
    ).resolves.toMatchObject({ name: 'Mona' });
    expect(follows.close).not.toHaveBeenCalled();
  });

  it('notes and announces nothing for a customer without a phone: no contact links to it', async () => {
    await service.create('org1', { name: 'Mona' });
    expect(follows.open).not.toHaveBeenCalled();
    expect(events.emitAsync).not.toHaveBeenCalled();
  });

  it('announces a phone sent back to the one it read: another change may have moved the links meanwhile', async () => {
    const _id = new Types.ObjectId();
    const stored = { _id, organizationId: 'org1', name: 'Mona', phone: '201001234567' };
    repo.findOwned.mockResolvedValue(stored);
    // Another request set another phone (and its links followed) before this one set it back.
    repo.updateOwned.mockResolvedValue(stored);
    await service.update('org1', String(_id), { phone: '+20 100 123 4567' });
    expect(events.emitAsync).toHaveBeenCalledWith(CUSTOMERS_EVENTS.phoneChanged, {
      customer: expect.objectContaining({ id: String(_id), phone: '201001234567' }),
      note: { id: 'note1' },
    });
  });

  it('notes a phone change before writing it, and closes the note once the links followed', async () => {
    const _id = new Types.ObjectId();
    const stored = { _id, organizationId: 'org1', name: 'Mona', phone: '201001234567' };
    repo.findOwned.mockResolvedValue(stored);
    repo.updateOwned.mockResolvedValue({ ...stored, phone: '201112223333' });
    await service.update('org1', String(_id), { phone: '+201112223333' });
    expect(follows.open).toHaveBeenCalledWith(expect.objectContaining({ id: String(_id) }));
    expect(follows.open.mock.invocationCallOrder[0]).toBeLessThan(
      repo.updateOwned.mock.invocationCallOrder[0],
    );
    expect(follows.close).toHaveBeenCalledWith('note1');
  });

  it('keeps the note of a change whose links did not follow, and still answers the change', async () => {
    const _id = new Types.ObjectId();
    const stored = { _id, organizationId: 'org1', name: 'Mona', phone: '201001234567' };
    repo.findOwned.mockResolvedValue(stored);
    repo.updateOwned.mockResolvedValue({ ...stored, phone: '201112223333' });
    events.emitAsync.mockRejectedValue(new Error('database gone'));
    await expect(
      service.update('org1', String(_id), { phone: '+201112223333' }),
    ).resolves.toMatchObject({ phone: '201112223333' });
    repo.deleteOwned.mockResolvedValue(stored);
    await expect(service.delete('org1', String(_id))).resolves.toBeUndefined();
    expect(follows.open).toHaveBeenCalledTimes(2);
    expect(follows.close).not.toHaveBeenCalled();
  });

  it('replays a noted change as the customer is now: a phone change, or its delete once gone', async () => {
    const _id = new Types.ObjectId();
    const noted = { id: String(_id), organizationId: 'org1', name: 'Mona', phone: '201001234567' };
    const note = { id: 'note1', organizationId: 'org1', customer: noted, moved: ['contact1'] };
    repo.findOwned.mockResolvedValueOnce({ ...noted, _id, phone: '201112223333' });
    await service.replayFollow(note);
    // With the contacts the cut-off run noted it moved, to announce them (once).
    expect(events.emitAsync).toHaveBeenLastCalledWith(CUSTOMERS_EVENTS.phoneChanged, {
      customer: expect.objectContaining({ id: String(_id), phone: '201112223333' }),
      note: { id: 'note1', moved: ['contact1'] },
    });
    expect(follows.close).toHaveBeenCalledWith('note1');

    repo.findOwned.mockResolvedValueOnce(null);
    await service.replayFollow(note);
    expect(events.emitAsync).toHaveBeenLastCalledWith(CUSTOMERS_EVENTS.deleted, {
      customer: noted,
      note: { id: 'note1', moved: ['contact1'] },
    });

    follows.close.mockClear();
    events.emitAsync.mockRejectedValue(new Error('database gone'));
    await expect(service.replayFollow(note)).rejects.toThrow('database gone');
    expect(follows.close).not.toHaveBeenCalled();
  });

  it('does not announce a change without a phone', async () => {
    const _id = new Types.ObjectId();
    const stored = { _id, organizationId: 'org1', name: 'Mona', phone: '201001234567' };
    repo.findOwned.mockResolvedValue(stored);
    repo.updateOwned.mockResolvedValue({ ...stored, name: 'Mona Ali' });
    await service.update('org1', String(_id), { name: 'Mona Ali' });
    expect(events.emitAsync).not.toHaveBeenCalled();
  });

  it('404s for a customer of another organization', async () => {
    repo.findOwned.mockResolvedValue(null);
    await expect(service.findOwned('org1', 'x')).rejects.toBeInstanceOf(CustomerNotFoundError);
  });

  it('finds by phone in any notation and maps phones to the oldest customer', async () => {
    await service.findByPhone('org1', '00201001234567');
    expect(repo.findByPhone).toHaveBeenCalledWith('org1', '201001234567');
    expect(await service.findByPhone('org1', 'nope')).toBeNull();

    const a = new Types.ObjectId();
    const b = new Types.ObjectId();
    repo.findByPhones.mockResolvedValue([
      { _id: a, phone: '201001234567' },
      { _id: b, phone: '201001234567' },
    ]);
    const map = await service.idsByPhones('org1', ['+201001234567', '201001234567']);
    expect(repo.findByPhones).toHaveBeenCalledWith('org1', ['201001234567']);
    expect(map.get('201001234567')).toBe(String(a));
  });
});
