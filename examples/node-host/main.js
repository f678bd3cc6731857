// Hosts the session-logic component under Node.js with the JavaScript
// storage of `storage.js` (jco transpiled it into `generated/`, `npm start`
// does both): creates a session, appends two messages, loads the history,
// and shows a lock held by one holder refusing another.

import { history, locks, sessions } from './generated/session-logic.js';

// The module holds one instance of the component: calls run one at a time.
sessions.setupModels();
const session = sessions.getOrCreate('alice', undefined);
console.log(`session ${session.sessionId} of user alice`);
const agent = sessions.ensureAgent('alice', session.sessionId, undefined, 'assistant');
const ref = { userId: 'alice', sessionId: session.sessionId, agentId: agent.agentId };

const messages = [
  { role: 'user', content: 'Hello, I am Ada.' },
  { role: 'assistant', content: [{ type: 'text', text: 'Nice to meet you, Ada.' }] },
];
const receipt = history.write(ref, { tag: 'append', val: JSON.stringify(messages) }, {});
console.log(`appended as action ${receipt.actionId} (seq ${receipt.seq})`);

console.log('history:');
for (const m of JSON.parse(history.load(ref, {}))) {
  const text = m.content.filter((b) => b.type === 'text').map((b) => b.text).join(' ');
  console.log(`  ${m.role}: ${text}`);
}

const first = locks.acquire(ref, 'host-a', undefined, 30_000n);
console.log(`lock: host-a ${first.tag}, token ${first.val.token}`);
const second = locks.acquire(ref, 'host-b', undefined, 30_000n);
console.log(`lock: host-b ${second.tag} (holder ${second.val.holderId}, token ${second.val.token})`);
