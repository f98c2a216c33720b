import NIOConcurrencyHelpers
import NIOCore

/// A sleep on an event loop that ``stop()`` cuts short, so reconnect loops end promptly on close.
final class RedisBackoffSleeper: Sendable {
    private struct State {
        var stopped = false
        var current: EventLoopPromise<Void>?
    }

    private let state = NIOLockedValueBox(State())

    /// Sleeps for `duration`, or less if ``stop()`` is called; returns immediately once stopped.
    func sleep(for duration: Duration, on eventLoop: any EventLoop) async {
        let promise = eventLoop.makePromise(of: Void.self)
        let proceed = self.state.withLockedValue { state -> Bool in
            guard !state.stopped else { return false }
            state.current = promise
            return true
        }
        guard proceed else {
            promise.succeed()
            return
        }
        let wakeUp = eventLoop.scheduleTask(in: TimeAmount(duration)) { promise.succeed() }
        try? await promise.futureResult.get()
        wakeUp.cancel()
        self.state.withLockedValue { state in
            if state.current?.futureResult === promise.futureResult { state.current = nil }
        }
    }

    /// Wakes the current sleep and makes all later sleeps return immediately.
    func stop() {
        let current = self.state.withLockedValue { state -> EventLoopPromise<Void>? in
            state.stopped = true
            defer { state.current = nil }
            return state.current
        }
        current?.succeed()
    }
}
