// The numbered entries of one conversation (messages and events), kept in `seq` order.
// An entry whose seq is already held is a repeat (resume replays, reconnects) and is ignored.

export class Timeline {
  constructor(conversationId) {
    this.conversationId = conversationId;
    this.entries = new Map();
    this.lastSeq = 0;
    this.readBy = {}; // role -> highest seq read by the other side
  }

  /** Adds an entry: 'added', 'duplicate', or 'gap' (added, but entries before it are missing). */
  add(entry) {
    if (typeof entry.seq !== 'number' || this.entries.has(entry.seq)) return 'duplicate';
    const gap = this.lastSeq > 0 && entry.seq > this.lastSeq + 1;
    this.entries.set(entry.seq, entry);
    this.lastSeq = Math.max(this.lastSeq, entry.seq);
    return gap ? 'gap' : 'added';
  }

  /** The highest seq held such that every entry from the first one held up to it is present. */
  get contiguousSeq() {
    const seqs = this.sorted().map((entry) => entry.seq);
    let last = seqs[0] ?? 0;
    for (const seq of seqs.slice(1)) {
      if (seq !== last + 1) break;
      last = seq;
    }
    return last;
  }

  sorted() {
    return [...this.entries.values()].sort((a, b) => a.seq - b.seq);
  }

  get last() {
    return this.entries.get(this.lastSeq);
  }

  get closed() {
    return this.sorted().some((entry) => entry.type === 'conversation.closed');
  }
}

/** Whether the timeline entry is a conversation event (not a message). */
export const isEvent = (entry) => entry.type.startsWith('conversation.');
