import {
  Curve,
  makeNoiseHandler,
  NOISE_WA_HEADER,
  proto,
  WA_CERT_DETAILS,
} from '@whiskeysockets/baileys';
import * as libsignal from 'libsignal';
import pino from 'pino';
import { createNoiseIdentity, FrameReader, NoiseResponder } from './noise';

describe('Noise XX responder against Baileys’ own initiator', () => {
  it('completes the handshake and exchanges transport frames both ways', async () => {
    const identity = createNoiseIdentity();
    const ephemeral = Curve.generateKeyPair();
    const clientStatic = Curve.generateKeyPair();
    const client = makeNoiseHandler({
      keyPair: ephemeral,
      NOISE_HEADER: NOISE_WA_HEADER,
      logger: pino({ level: 'silent' }) as never,
    });
    const server = new NoiseResponder(identity);
    const reader = new FrameReader();

    const hello = client.encodeFrame(
      proto.HandshakeMessage.encode({ clientHello: { ephemeral: ephemeral.public } }).finish(),
    );
    const [helloFrame] = reader.push(Buffer.from(hello));
    const serverHello = proto.HandshakeMessage.decode(server.hello(helloFrame));
    const keyEnc = client.processHandshake(serverHello, clientStatic);
    const payloadEnc = client.encrypt(
      proto.ClientPayload.encode({ username: 15551234567, device: 3, passive: true }).finish(),
    );
    const finish = client.encodeFrame(
      proto.HandshakeMessage.encode({
        clientFinish: { static: keyEnc, payload: payloadEnc },
      }).finish(),
    );
    const payload = server.finish(reader.push(Buffer.from(finish))[0]);
    await client.finishInit();

    expect(Number(payload.username)).toBe(15551234567);
    expect(payload.device).toBe(3);
    expect(server.clientStatic?.equals(Buffer.from(clientStatic.public))).toBe(true);

    const up = reader.push(Buffer.from(client.encodeFrame(Buffer.from([0, 1, 2, 3]))))[0];
    expect([...server.decrypt(up)]).toEqual([0, 1, 2, 3]);
  });

  it('signs its certificate chain: root → intermediate (issuer serial 0) → leaf = static key', () => {
    const identity = createNoiseIdentity();
    const { intermediate, leaf } = proto.CertChain.decode(identity.certChain);
    const inter = proto.CertChain.NoiseCertificate.Details.decode(intermediate!.details!);
    const leafDetails = proto.CertChain.NoiseCertificate.Details.decode(leaf!.details!);
    expect(inter.issuerSerial).toBe(WA_CERT_DETAILS.SERIAL);
    expect(Buffer.from(leafDetails.key!).equals(identity.staticKey.public)).toBe(true);
    const verify = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) => {
      // Baileys' Curve.verify ignores libsignal's boolean result (always true for well-formed input),
      // so check with the curve directly.
      const { curve } = libsignal as unknown as {
        curve: { verifySignature(p: Buffer, m: Uint8Array, s: Uint8Array): boolean };
      };
      return curve.verifySignature(Buffer.concat([Buffer.from([5]), pub]), msg, sig);
    };
    expect(verify(identity.rootKey.public, intermediate!.details!, intermediate!.signature!)).toBe(
      true,
    );
    expect(verify(inter.key!, leaf!.details!, leaf!.signature!)).toBe(true);
    expect(verify(identity.staticKey.public, leaf!.details!, leaf!.signature!)).toBe(false);
  });
});
