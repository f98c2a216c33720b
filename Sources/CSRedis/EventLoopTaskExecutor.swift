import NIOCore

/// Runs Swift tasks on one NIO event loop: a task that prefers this executor
/// (`withTaskExecutorPreference`) resumes from an `await` on a Redis reply on the very thread the
/// reply arrived on, instead of hopping to the cooperative pool and back. At the rates real
/// deployments run, a dispatcher message is mostly such hops (a thread wake each: about 1.6
/// context switches and a third of its CPU per message before this executor), so a process whose
/// work is Redis round trips keeps its tasks and its Redis connections on one loop.
///
/// Work that must not block the loop (hashing, file I/O) does not belong on it.
public final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    /// The loop the tasks run on; give it to ``RedisClient/init(configuration:eventLoopGroup:logger:)``
    /// so the connections' replies arrive on the same thread.
    public let eventLoop: any EventLoop

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
