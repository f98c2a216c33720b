import NIOCore

/// At most one scheduled wake-up on a channel's event loop, used to enforce reply deadlines.
///
/// Requests are queued in deadline order, so only the oldest deadline needs a timer: when it fires
/// the handler checks the head of its queue and re-arms for the next deadline if needed.
struct RedisDeadlineTimer {
    private var scheduled: Scheduled<Void>?

    /// Schedules `fire` at `deadline` unless a wake-up is already pending (which is never later,
    /// since deadlines only grow). `fire` runs on the event loop and must call ``fired()`` first.
    mutating func arm(deadline: NIODeadline, context: ChannelHandlerContext, _ fire: @escaping () -> Void) {
        guard self.scheduled == nil else { return }
        self.scheduled = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline, fire)
    }

    /// Marks the pending wake-up as consumed.
    mutating func fired() {
        self.scheduled = nil
    }

    /// Cancels the pending wake-up, if any.
    mutating func cancel() {
        self.scheduled?.cancel()
        self.scheduled = nil
    }
}
