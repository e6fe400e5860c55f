// Who a text can go to: what POST /whatsapp/messages/send takes as `to` (SendMessageDto: PHONE_PATTERN
// or JID_PATTERN of libs/common/src/phone/phone.ts). test/browser/dashboard-live.e2e-spec.ts holds
// these verdicts to the API's.

const PHONE = /^\+?[1-9]\d{9,14}$/;
const JID =
  /^(?:[1-9]\d{5,14}(?::\d+)?@s\.whatsapp\.net|\d{6,20}(?::\d+)?@lid|\d{6,25}(?:-\d{6,12})?@g\.us)$/;

/** The `to` to send: a JID as typed; a phone number without the spaces, dashes and brackets people write. */
export function recipientValue(input) {
  const value = String(input ?? '').trim();
  return value.includes('@') ? value : value.replace(/[\s().-]/g, '');
}

/** Why a text cannot go to `to` (a recipientValue), in words for the form; '' when it can. */
export function recipientProblem(to) {
  if (!to) return 'Enter a phone number or a chat JID.';
  if (PHONE.test(to) || JID.test(to)) return '';
  if (to.includes('@'))
    return 'Not a chat JID: digits, then @s.whatsapp.net (a person), @g.us (a group) or @lid.';
  return 'Not a phone number: 10–15 digits with the country code first (not 0), e.g. +201001234567; or enter a chat JID (…@s.whatsapp.net, …@g.us, …@lid).';
}
