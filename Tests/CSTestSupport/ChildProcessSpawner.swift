import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Spawning with a clean signal mask

/// Starts a Foundation `Process` so that the child begins with no blocked signals.
///
/// `Process.run()` spawns the child with the signal mask of the calling thread, and the threads
/// that run Swift concurrency and Dispatch work block most signals (SIGTERM, SIGINT, SIGHUP, …).
/// A child spawned from a test would then never see SIGTERM: `redis-server` ignores it and a
/// graceful-stop check would test nothing. So the spawn happens on a short-lived thread whose
/// mask is cleared first.
public enum ChildProcessSpawner {
    public static func run(_ process: Process) throws {
        final class Outcome: @unchecked Sendable {
            var error: (any Error)?
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var empty = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, nil)
            do {
                try process.run()
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        thread.name = "cs-test-spawn"
        thread.start()
        done.wait()
        if let error = outcome.error { throw error }
    }
}
