// Text for times, durations and conversation events.

export function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function duration(seconds) {
  if (seconds == null) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function waitText(seconds) {
  if (seconds == null) return 'Estimated wait: unknown yet';
  if (seconds < 60) return 'Estimated wait: under a minute';
  return `Estimated wait: about ${Math.ceil(seconds / 60)} min`;
}

/** One line describing a conversation event, from the point of view of `role`. */
export function eventText(entry, role) {
  switch (entry.type) {
    case 'conversation.queued':
      if (entry.reason === 'agent_unavailable') return 'Your agent is unavailable; waiting for another one.';
      if (entry.reason === 'transfer') return `Transferred to the ${entry.skill} team; waiting for an agent.`;
      return role === 'customer' ? 'Waiting for an agent…' : `Waiting in the ${entry.skill} queue.`;
    case 'conversation.assigned':
      return role === 'customer' ? `${entry.agent?.name ?? 'An agent'} joined the chat.` : `Assigned to ${entry.agent?.name ?? '?'}.`;
    case 'conversation.transferred': {
      const text = entry.to ? `Transferred from ${entry.from?.name ?? '?'} to ${entry.to.name}.` : `Transferred to the ${entry.skill ?? ''} team.`;
      return role !== 'customer' && entry.note ? `${text} Note: ${entry.note}` : text; // the note is for staff
    }
    case 'conversation.closed':
      return `Conversation closed by ${entry.by?.name ?? 'the system'}.`;
    default:
      return entry.type;
  }
}

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}
