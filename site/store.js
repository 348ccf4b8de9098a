// What the browser keeps of its chats, in localStorage: the list of chats,
// each chat's messages, the transport's session state (so a reload resumes
// a turn in flight), and the browser's own marks of each answer. Another
// tab on the same origin sees every write as a `storage` event.

const KEY = {
  chats: "headstart:chats",
  messages: (chatId) => `headstart:messages:${chatId}`,
  session: (chatId) => `headstart:session:${chatId}`,
  marks: (messageId) => `headstart:marks:${messageId}`,
};
export { KEY };

function read(key, fallback) {
  try {
    const text = localStorage.getItem(key);
    return text === null ? fallback : JSON.parse(text);
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    if (value === null || value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the chat still works, it is only not kept.
  }
}

/** `[{ id, title, updatedAt }]`, newest first. */
export const listChats = () => read(KEY.chats, []);

export function touchChat(chatId, title) {
  const chats = listChats().filter((c) => c.id !== chatId);
  const prev = listChats().find((c) => c.id === chatId);
  chats.unshift({ id: chatId, title: prev?.title || title || "new chat", updatedAt: Date.now() });
  write(KEY.chats, chats.slice(0, 50));
}

export const loadMessages = (chatId) => read(KEY.messages(chatId), []);
export const saveMessages = (chatId, messages) => write(KEY.messages(chatId), messages);

/** Every chat's persisted transport state, for the transport's `sessions`. */
export function loadSessions() {
  const sessions = {};
  for (const { id } of listChats()) {
    const s = read(KEY.session(id), null);
    if (s?.publicAccessToken) sessions[id] = s;
  }
  return sessions;
}
export const loadSession = (chatId) => read(KEY.session(chatId), null);
export const saveSession = (chatId, session) => write(KEY.session(chatId), session);

export const loadMarks = (messageId) => read(KEY.marks(messageId), undefined);
export const saveMarks = (messageId, marks) => write(KEY.marks(messageId), marks);

export const newChatId = () => `chat_${crypto.randomUUID()}`;
