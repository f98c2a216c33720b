import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Notifier processes (`cs-notifier`) and the Redis counters the notification tests check.
///
/// `startNotifier(id:)` (Cluster+Processes.swift) starts one; a notifier started again with the
/// same id appends to the same log (`notifier-<id>.log`), so its log covers every run.
extension Cluster {
    /// The newest process started as notifier `id` (running or not).
    public func notifier(_ id: String) -> ManagedProcess? {
        notifiers.last { $0.name == "notifier-\(id)" }
    }

    /// SIGTERM and wait for a graceful exit; the stop is deliberate (not reported at shutdown).
    /// Returns the exit status (0 expected).
    @discardableResult
    public func stopNotifier(_ process: ManagedProcess, timeout: Duration = .seconds(30)) async throws -> ExitStatus {
        _ = lock.withLock { deliberatelyKilled.insert(ObjectIdentifier(process)) }
        return try await process.terminate(timeout: timeout)
    }

    /// SIGSTOP / SIGCONT: a process that hangs (a notifier's pending entries go idle) and comes
    /// back. Continue or kill a stopped process before the test ends: SIGTERM waits for SIGCONT.
    public func suspendProcess(_ process: ManagedProcess) { process.send(signal: SIGSTOP) }
    public func continueProcess(_ process: ManagedProcess) { process.send(signal: SIGCONT) }

    /// Log lines of every notifier run (all ids, all restarts) that contain `text`.
    public func notifierLogLines(containing text: String) -> [String] {
        var seen = Set<String>()
        var lines: [String] = []
        for process in notifiers where seen.insert(process.logFile.path).inserted {
            lines += process.log().split(separator: "\n").map(String.init).filter { $0.contains(text) }
        }
        return lines
    }

    /// `calls` of `cmdstat_<command>` in `INFO commandstats` (0 when the command never ran).
    public func commandCalls(_ command: String) async throws -> Int {
        // INFO ends its lines with CRLF, which Swift treats as one Character: search the text.
        let text = try await redisCommand(["INFO", "commandstats"]).joined(separator: "\n")
        guard let range = text.range(of: "cmdstat_\(command.lowercased()):calls=") else { return 0 }
        return Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    /// `PUBSUB NUMSUB <channel>`: how many connections subscribe to it.
    public func subscriberCount(_ channel: String) async throws -> Int {
        let lines = try await redisCommand(["PUBSUB", "NUMSUB", channel])
        return lines.count >= 2 ? Int(lines[1].trimmingCharacters(in: .whitespaces)) ?? 0 : 0
    }
}
