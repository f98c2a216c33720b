import CSCore
import Foundation

/// Stopping processes gracefully in the middle of a test and starting them again
/// (EndToEnd+GracefulRestart.swift).
extension Cluster {
    /// SIGTERM and wait for `process` to exit (SIGKILL and `TimeLimitExceeded` after `timeout`).
    /// The stop is deliberate: it is not reported at shutdown. Returns the exit status (0 is a
    /// graceful stop).
    @discardableResult
    public func stopGracefully(_ process: ManagedProcess, timeout: Duration = .seconds(30)) async throws -> ExitStatus {
        _ = lock.withLock { deliberatelyKilled.insert(ObjectIdentifier(process)) }
        return try await process.terminate(timeout: timeout)
    }

    /// The gateways whose process runs, in id order (a restarted gateway keeps its id and gets a
    /// new port).
    public var runningGateways: [GatewayHandle] {
        gateways.filter(\.process.isRunning).sorted { $0.id.localizedStandardCompare($1.id) == .orderedAscending }
    }

    /// The WebSocket URLs of ``runningGateways``.
    public var runningGatewayURLs: [String] { runningGateways.map(\.webSocketURL) }

    /// The newest process started as dispatcher `id` (running or not).
    public func newestDispatcher(_ id: String) -> ManagedProcess? {
        dispatchers.last { $0.name == "dispatcher-\(id)" }
    }

    /// The holder of every partition's lease (`cs:{p<N>}:lease`); "" when it is free.
    public func leaseOwners() async throws -> [String] {
        let keys = (0..<configuration.partitions).map { RedisKeys.lease(partition: $0) }
        let lines = try await redisCommand(["MGET"] + keys)
        return (0..<configuration.partitions).map { $0 < lines.count ? lines[$0] : "" }
    }
}
